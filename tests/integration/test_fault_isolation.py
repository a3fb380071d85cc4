"""Faults isolated to the host that has them, for real.

- Two students' docker hosts are containers with sshd (the container provisioner's docker-host image,
  fresh: nothing of the lab done), graded over SSH with ``labctl grade -j 2``. One host is
  ``docker pause``d in the middle of its grading: its remaining checks are ERROR with the breaker's
  "docker01 stopped answering at HH:MM:SS (2 timeouts)" after at most about two command deadlines,
  and the other student is graded in full (no ERROR). The time the paused host cost is printed.
- The host image's private dockerd (``images/hostimage/docker-data.sh``) leaves this machine's
  ``docker0``, its addresses and the machine's other links as they were.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from harness.core import catalog
from harness.core import artefacts
from harness.core.runs import LABEL_RUN, RunLock, new_run_id
from tests.conftest import REPO

pytestmark = pytest.mark.slow

DEADLINE = 10.0  # the inventory's command deadline (seconds)
CONNECT = 5.0  # its connect (and session-open) deadline
LABS = ("dockerfile", "images")


@pytest.fixture(scope="module")
def two_students(tmp_path_factory):
    from harness.provisioners.container import ContainerProvisioner, remove_labelled

    run_id = f"fi-{new_run_id()}"
    lock = RunLock(run_id)  # alive while the test runs: other runs' start-up reaping leaves the hosts alone
    lock.acquire()
    prov = ContainerProvisioner(run_id)
    lab = dataclasses.replace(catalog.all_labs()["dockerfile"], name="faultiso", images=())  # no stand-ins: fresh hosts
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            made = dict(zip(("s1", "s2"), pool.map(lambda t: prov.create(lab, t), ("s1", "s2"))))
        hosts = {t: {"address": h["docker01"].address, "container": prov.container_name(lab, t, "docker01")}
                 for t, h in made.items()}
        yield run_id, hosts
    finally:
        subprocess.run(["docker", "unpause", *(prov.container_name(lab, t, "docker01") for t in ("s1", "s2"))],
                       capture_output=True, timeout=60)
        remove_labelled(prov.client, {LABEL_RUN: run_id})
        lock.release()


def _journal_checks(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("type") == "check":
            out.append(rec["result"])
    return out


def _start_grading(hosts: dict, tmp_path: Path, prefix: str):
    """`labctl grade` of the two students over SSH (the test's deadlines), started in the
    background: (process, grade run id, the path of its journal)."""
    inventory = {
        "version": 1,
        "defaults": {"user": "root", "port": 22, "key_file": str(artefacts.ssh_key()), "timeout": DEADLINE,
                     "connect_timeout": CONNECT, "host_key_policy": "ignore"},
        "targets": [{"name": t, "labs": list(LABS), "hosts": {"docker01": {"address": h["address"]}}}
                    for t, h in hosts.items()],
    }
    inv = tmp_path / "class.yaml"
    inv.write_text(yaml.safe_dump(inventory, sort_keys=False))
    grade_id = f"{prefix}-{new_run_id()}"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "grade", "--inventory", str(inv), "-j", "2",
                             "--report-dir", str(tmp_path / "reports"), "--run-id", grade_id],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, grade_id, tmp_path / "reports" / grade_id / "journal.jsonl"


def test_a_paused_host_costs_two_deadlines_and_the_rest_of_the_class_is_graded(two_students, tmp_path):
    run_id, hosts = two_students
    t0 = time.monotonic()
    proc, grade_id, journal = _start_grading(hosts, tmp_path, "fg")
    paused_at = None
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(r["target"] == "s2" for r in _journal_checks(journal)) >= 2:
                pause = subprocess.run(["docker", "pause", hosts["s2"]["container"]], capture_output=True, text=True,
                                       timeout=60)
                assert pause.returncode == 0, pause.stderr
                paused_at = time.monotonic()
                break
            time.sleep(0.05)
        assert paused_at is not None, "s2 was never graded (or finished before it could be paused)"
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        subprocess.run(["docker", "unpause", hosts["s2"]["container"]], capture_output=True, timeout=60)
    total = time.monotonic() - t0

    grades = json.loads((tmp_path / "reports" / grade_id / "grades.json").read_text())
    checks = {t: [c for lab in grades["targets"][t]["labs"].values() for c in lab["checks"]] for t in ("s1", "s2")}

    # the other student: every check graded, none ERROR
    s1 = checks["s1"]
    assert s1 and all(c["outcome"] in ("PASS", "FAIL", "SKIP") for c in s1), \
        [(c["check"], c["outcome"], c["message"][:200]) for c in s1 if c["outcome"] == "ERROR"]

    # the paused student: what ran before the pause stands; the rest is ERROR, most with the breaker's message
    s2 = checks["s2"]
    errors = [c for c in s2 if c["outcome"] == "ERROR"]
    assert errors, out[-3000:]
    assert all(c["outcome"] != "FAIL" or "stopped answering" not in c["message"] for c in s2)
    breaker = [c for c in errors if re.search(r"docker01 stopped answering at \d\d:\d\d:\d\d \(2 timeouts\)", c["message"])]
    assert len(breaker) >= len(errors) - 2, [c["message"][:200] for c in errors]

    # what the paused host cost: the time of its checks from the pause on
    cost = sum(c["duration"] for c in errors)
    after = [c["duration"] for c in errors]
    print(f"\npaused host: {len(errors)} checks ERROR after the pause, costing {cost:.1f}s in all "
          f"(slowest {max(after):.1f}s; command deadline {DEADLINE:g}s, connect {CONNECT:g}s); "
          f"whole run {total:.1f}s, s1 graded in full ({len(s1)} checks)")
    (tmp_path / "paused-cost.txt").write_text(f"{cost:.1f}\n")
    assert cost <= 2 * DEADLINE + CONNECT + 5, [(c["check"], c["duration"], c["message"][:120]) for c in errors]
    assert proc.returncode == 3, out[-3000:]  # re-run needed for s2, said as such


def test_ssh_layer_caps_output_and_hung_commands_do_not_open_the_breaker(two_students):
    """On a real host over SSH: exact results, 1 MiB per stream kept and marked, a command past its
    deadline killed while the host (which answers the kill) stays in use, daemons over the connection."""
    from harness.hosts.output import CUT_NOTE, OUTPUT_CAP
    from harness.hosts.ssh_backend import TimedParamikoBackend
    from harness.core.errors import CommandTimeout
    from harness.hosts.host import Access, Host, Role
    from harness.hosts.ssh_keys import HostKeyPolicy

    _, hosts = two_students
    backend = TimedParamikoBackend(hosts["s1"]["address"], key_file=str(artefacts.ssh_key()), label="docker01",
                                   connect_timeout=CONNECT, host_keys=HostKeyPolicy("ignore"))
    host = Host("docker01", Role.DOCKER_HOST, backend, Access(docker_url=f"unix://{backend.tunnel('docker')}"))
    try:
        res = host.run("printf 'a\\nb'; printf 'err\\n' >&2; exit 7")
        assert (res.rc, res.stdout, res.stderr) == (7, "a\nb", "err\n")
        big = host.run("head -c 5000000 /dev/zero | tr '\\0' x; head -c 2000000 /dev/zero | tr '\\0' y >&2; exit 3",
                       timeout=60)
        assert big.rc == 3
        assert big.stdout == "x" * OUTPUT_CAP + CUT_NOTE.decode()
        assert big.stderr == "y" * OUTPUT_CAP + CUT_NOTE.decode()
        for _ in range(3):
            t0 = time.monotonic()
            with pytest.raises(CommandTimeout):
                host.run("sleep 37.3", timeout=1)
            assert time.monotonic() - t0 < 8
        backend.breaker.check()  # the host answered each kill: not given up on
        assert host.run("pgrep -f 'sleep 37.3' || echo gone").stdout.strip() == "gone"
        assert host.docker.version()["ApiVersion"]
        assert backend.connects == 1
    finally:
        host.close()
        backend.close()


def _links() -> dict[str, str]:
    """This machine's links but the veths and bridges other docker networks come and go with, and their state."""
    res = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True, timeout=30)
    links = {}
    for line in res.stdout.splitlines():
        m = re.match(r"\d+: ([^:@]+)[@:]", line)
        if m and not m.group(1).startswith(("veth", "br-")):
            links[m.group(1)] = re.sub(r"\s+", " ", line)
    return links


def _addr(dev: str) -> str:
    res = subprocess.run(["ip", "-o", "addr", "show", "dev", dev], capture_output=True, text=True, timeout=30)
    return res.stdout


def test_the_host_image_private_dockerd_leaves_docker0_alone():
    links, docker0 = _links(), _addr("docker0")
    if "docker0" not in links:
        pytest.skip("this machine has no docker0 to lose")
    # a short directory: containerd's sockets under it must fit a unix socket path (108 bytes)
    tmp_path = Path(tempfile.mkdtemp(prefix="lhdd-", dir="/tmp"))
    try:
        res = subprocess.run(["bash", str(REPO / "images/hostimage/docker-data.sh"), "--check-daemon", str(tmp_path)],
                             capture_output=True, text=True, timeout=300)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "started and stopped" in res.stdout
    assert _links() == links
    assert _addr("docker0") == docker0
    mounts = Path("/proc/mounts").read_text()
    assert str(tmp_path) not in mounts
    # the default bridge still works for this machine's dockerd
    run = subprocess.run(["docker", "run", "--rm", "--network", "bridge", artefacts.BASE_IMAGE, "true"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


def _in_scratch_netns(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "bash", "-c", script],
                          capture_output=True, text=True, timeout=300)


def test_in_a_scratch_namespace_with_its_own_docker0_the_private_dockerd_spares_it():
    """The mechanism, shown where nothing of the machine is at stake: a namespace with a docker0 bridge keeps
    it through docker-data.sh's private dockerd; a dockerd with --bridge=none started in that namespace
    itself (what the script did before) deletes it — so the comparison above can tell."""
    d = Path(tempfile.mkdtemp(prefix="lhdd-", dir="/tmp"))
    try:
        setup = "set -e; ip link add docker0 type bridge; ip addr add 172.31.254.1/24 dev docker0; ip link set docker0 up; "
        res = _in_scratch_netns(setup + f"bash {REPO}/images/hostimage/docker-data.sh --check-daemon {d}/a >&2; "
                                        "ip -o addr show dev docker0")
        assert res.returncode == 0, res.stderr[-2000:]
        assert "172.31.254.1/24" in res.stdout
        control = _in_scratch_netns(
            setup + f"mkdir -p {d}/b; dockerd --data-root {d}/b/data --exec-root {d}/b/exec --pidfile {d}/b/pid "
            f"-H unix://{d}/b/sock --bridge=none --iptables=false --ip6tables=false >{d}/b/log 2>&1 & p=$!; "
            f"for i in $(seq 300); do docker -H unix://{d}/b/sock version >/dev/null 2>&1 && break; sleep 0.1; done; "
            "kill $p; wait $p || true; ip -o link show docker0 || echo 'docker0 gone'")
        assert "docker0 gone" in control.stdout, control.stdout + control.stderr[-2000:]
    finally:
        subprocess.run(["bash", "-c", f"grep -o ' {d}/[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l"],
                       capture_output=True, timeout=60)
        shutil.rmtree(d, ignore_errors=True)


def test_concurrent_reapers_of_a_dead_run_never_fail(tmp_path, monkeypatch):
    """Two workers reaping the same dead run's leftovers at once (the `validate -j 2` race of issue 12):
    both finish without an error, everything is gone, and the dead run's lock file with it."""
    import docker

    from harness.provisioners import reap

    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(tmp_path))
    dead = f"dead-{new_run_id()}"
    (tmp_path / f"{dead}.lock").write_text("1\n")  # its controller died: nobody holds the lock
    client = docker.from_env(timeout=120)
    labels = {LABEL_RUN: dead}
    net = client.networks.create(f"lh-{dead}", labels=labels)
    for i in range(4):
        client.containers.run(artefacts.BASE_IMAGE, ["sleep", "300"], name=f"lh-{dead}-c{i}", labels=labels,
                              network=net.name, detach=True)
        client.volumes.create(f"lh-{dead}-v{i}", labels=labels)
    monkeypatch.setattr(reap, "reap_libvirt", lambda *a, **k: [])
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda _: reap.reap(dead, client=docker.from_env(timeout=120)), range(3)))
        assert all(isinstance(r, list) for r in results)
        flt = {"label": f"{LABEL_RUN}={dead}"}
        assert not client.containers.list(all=True, filters=flt)
        assert not client.volumes.list(filters=flt) or reap.reap(dead, client=client) is not None
        assert not client.volumes.list(filters=flt) and not client.networks.list(filters=flt)
        assert not (tmp_path / f"{dead}.lock").exists()
    finally:
        from harness.provisioners.container import remove_labelled

        remove_labelled(client, labels)


def test_a_daemon_that_dies_mid_grading_costs_the_student_nothing(two_students, tmp_path):
    """dockerd of one student stops after two of their checks were graded: their remaining checks
    are ERROR (a fault during the run), none FAIL for it; the other student is graded in full."""
    run_id, hosts = two_students
    proc, grade_id, journal = _start_grading(hosts, tmp_path, "fd")
    container = hosts["s2"]["container"]
    stopped = False
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            graded_before = sum(r["target"] == "s2" for r in _journal_checks(journal))
            if graded_before >= 2:
                stop = subprocess.run(["docker", "exec", container, "labharness-dockerd", "stop"],
                                      capture_output=True, text=True, timeout=120)
                assert stop.returncode == 0, stop.stdout + stop.stderr
                stopped = True
                break
            time.sleep(0.05)
        assert stopped, "s2 was never graded (or finished before its daemon could be stopped)"
        out, _ = proc.communicate(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        subprocess.run(["docker", "exec", container, "labharness-dockerd", "start"], capture_output=True, timeout=120)
    grades = json.loads((tmp_path / "reports" / grade_id / "grades.json").read_text())
    checks = {t: [c for lab in grades["targets"][t]["labs"].values() for c in lab["checks"]] for t in ("s1", "s2")}
    assert checks["s1"] and all(c["outcome"] != "ERROR" for c in checks["s1"]), out[-3000:]
    # s2's checks in the order they were graded: those after the stop (one may have been in flight) are ERROR
    s2 = [r for r in _journal_checks(journal) if r["target"] == "s2"]
    after = s2[graded_before + 1:]
    assert after, "no check of s2 was graded after its daemon stopped"
    wrong = [(r["check"], r["outcome"], r["message"][:160]) for r in after if r["outcome"] != "ERROR"]
    assert not wrong, wrong
    assert all("dockerd" in r["message"] for r in after), [r["message"][:200] for r in after]
    assert proc.returncode == 3, out[-3000:]
