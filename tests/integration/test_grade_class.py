"""Grading a class over SSH, end to end, on a demo class (``labctl demo-class``): student hosts are
containers with sshd in every state — complete, partial, broken (the lab's typical mistakes),
unreachable, a key they refuse, a daemon that is down.

- ``labctl grade`` gives each student exactly the expected score, ERROR (never FAIL) with the reason
  for the two who need a re-run (unreachable, a refused key), FAIL with how to start it for the
  student whose daemon is stopped, progress while grading, a table sorted by score, and a report
  that renders in Chromium; grading changes nothing on the students' hosts;
- plain ``pytest --inventory class.yaml -n 2`` from the repository root grades the labs only, with
  readable ids (``test_x[s01]``) and every student's checks on one worker;
- the SSH layer on a real host: one connection and one shell session per host, exact stdout/stderr/
  exit codes, a deadline that kills the command, host-key policies, libvirt and Docker over the
  same connection.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from harness.core.errors import CommandTimeout
from harness.core.runs import LABEL_HOST, LABEL_RUN, LABEL_TARGET
from tests.conftest import REPO, run_pytest
from tests.integration.test_report_browser import Dom, assert_real_picture, chromium, keep_screenshot

pytestmark = pytest.mark.slow
LABS = ("dockerfile", "disk_images")
MIX = "complete=1,partial=1,broken=1,unreachable=1,badkey=1,nodaemon=1"
REASONS = {"unreachable": "cannot connect", "badkey": "login as root refused with key"}


def labctl(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "class.yaml"
    res = labctl("demo-class", "--mix", MIX, "--labs", ",".join(LABS), "--out", str(out), "--hours", "1")
    try:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        info = json.loads(out.with_suffix(".demo.json").read_text())
        assert info["labs"] == list(LABS), info.get("excluded_labs")
        yield out, info
    finally:
        down = labctl("demo-class", "--down", "--out", str(out), timeout=300)
        assert down.returncode == 0, down.stderr
        run_id = json.loads(out.with_suffix(".demo.json").read_text())["run_id"] if out.with_suffix(".demo.json").exists() else None
        if run_id:
            assert not docker.from_env().containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})


def container_of(run_id: str, state: str, host: str):
    flt = {"label": [f"{LABEL_RUN}={run_id}", f"{LABEL_TARGET}={state}", f"{LABEL_HOST}={host}"]}
    found = docker.from_env().containers.list(filters=flt)
    assert found, (run_id, state, host)
    return found[0]


def docker_state(container) -> str:
    """What a student could have made on a docker host, read from outside (never through the grader)."""
    res = container.exec_run(["sh", "-c", "docker ps -a --format '{{.Names}} {{.State}} {{.Image}} {{.CreatedAt}}'; "
                                          "docker images -q --no-trunc | sort; docker volume ls -q | sort; "
                                          "docker network ls -q | sort; ls -la --time-style=+%s /root /my_docker"])
    return res.output.decode()


def test_labctl_grades_the_class(demo, tmp_path):
    inventory, info = demo
    before = docker_state(container_of(info["run_id"], "complete", "docker01"))
    run_id = f"gc-{int(time.time()) % 100000}"
    t0 = time.monotonic()
    res = labctl("grade", "--inventory", str(inventory), "-j", "2", "--report-dir", str(tmp_path), "--run-id", run_id)
    took = time.monotonic() - t0
    out = res.stdout
    assert res.returncode == 3, out[-3000:] + res.stderr[-2000:]  # graded; some students need a re-run
    assert "2 of 6 students need a re-run" in res.stderr and "s04, s05" in res.stderr
    assert "Traceback" not in out + res.stderr

    grades = json.loads((tmp_path / run_id / "grades.json").read_text())
    for student, expect in info["students"].items():
        target = grades["targets"][student]
        for lab, e in expect["labs"].items():
            checks = target["labs"][lab]["checks"]
            outcomes = {c["check"]: c["outcome"] for c in checks}
            if e["outcome"] == "ERROR":
                assert set(outcomes.values()) == {"ERROR"}, (student, lab, outcomes)
                assert REASONS[expect["state"]] in checks[0]["message"], checks[0]["message"]
                assert target["labs"][lab]["score"] == 0 and target["labs"][lab]["ungraded"] == target["labs"][lab]["max_score"]
            elif e["outcome"] == "FAIL":  # a stopped daemon is the student's state: FAIL with how to start it
                assert set(outcomes.values()) <= {"FAIL", "SKIP"} and "FAIL" in outcomes.values(), (student, lab, outcomes)
                failed = next(c for c in checks if c["outcome"] == "FAIL")
                assert "is not running" in failed["message"] and "systemctl start" in failed["message"], failed
            else:
                fails = {k for k, v in outcomes.items() if v == "FAIL"}
                assert fails == set(e["fails"]), (student, expect["state"], lab)
                assert set(outcomes.values()) <= {"PASS", "FAIL", "SKIP"}, (student, lab, outcomes)
                lab_r = target["labs"][lab]
                lost = sum(c["points"] for c in checks if c["outcome"] == "FAIL")
                assert lab_r["score"] == lab_r["max_score"] - lost - lab_r["skipped"]
        assert target["complete"] is (expect["state"] not in REASONS)
    scores = {s: t["score"] for s, t in grades["targets"].items()}
    assert scores["s01"] == grades["targets"]["s01"]["max_score"] > scores["s02"] > scores["s03"] > 0

    # progress while grading, then the table sorted by score, the re-run list, the report's path
    assert "grading 6 students" in out and "[6/6 students]" in out
    assert re.search(r"\[\d/6 students\] s04: .*re-run needed: kvm01|docker01 \(root@", out)
    table = out[out.index("lab scores (grade"):]
    order = [ln.split()[0] for ln in table.splitlines()[3:9]]
    assert order[:3] == ["s01", "s02", "s03"] and sorted(order[3:]) == ["s04", "s05", "s06"]
    assert "Re-run needed for 2 targets" in table and str(tmp_path / run_id / "report.html") in table
    csv = (tmp_path / run_id / "grades.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("target,disk_images,dockerfile,total") and len(csv) == 7

    # nothing a student made on their host changed (the checks' `docker run --rm` probes leave nothing)
    assert docker_state(container_of(info["run_id"], "complete", "docker01")) == before

    # the report, in a real browser
    shot = tmp_path / "demo-class-report.png"
    report = (tmp_path / run_id / "report.html").as_uri()
    chromium(report, tmp_path / "chromium", screenshot=shot, size=(1280, 2400))
    assert_real_picture(shot, (1280, 2400))
    keep_screenshot(shot)
    dom_text = chromium(report, tmp_path / "chromium")
    dom = Dom(dom_text)
    assert dom.find("title")[0][1] == f"Lab report {run_id}"
    rerun = dom_text[dom_text.index('id="rerun"'):]
    rerun = rerun[: rerun.index("</table>")]
    assert all(s in rerun for s in ("s04", "s05")) and "s01" not in rerun and "s06" not in rerun
    assert len(dom.find("rect", class_="hbar")) == 10
    print(f"labctl grade: 6 students x {len(LABS)} labs in {took:.1f}s")


def test_plain_pytest_from_the_root(demo, tmp_path):
    inventory, info = demo
    res = run_pytest(f"--inventory={inventory}", "-n", "2", "-vv", "--tb=no", f"--report-dir={tmp_path}",
                     "--run-id", f"pp-{int(time.time()) % 100000}", timeout=1800)
    out = res.stdout
    assert "tests/" not in "".join(ln for ln in out.splitlines() if "::" in ln), "the harness's own tests ran"
    workers: dict[str, set[str]] = {}
    for m in re.finditer(r"^\[(gw\d+)\] .*?labs/\w+/test_\w+\.py::test_\w+\[(s\d\d)\]", out, re.M):
        workers.setdefault(m.group(2), set()).add(m.group(1))
    assert set(workers) == set(info["students"]), out[-3000:]
    assert all(len(w) == 1 for w in workers.values()), workers  # one student, one worker (its SSH connections)
    assert "[6/6 students]" in out and "lab scores" in out


@pytest.fixture(scope="module")
def complete_host(demo):
    from harness.core import catalog
    from harness.provisioners.static import StaticProvisioner

    inventory, _ = demo
    prov = StaticProvisioner(str(inventory))
    yield prov, prov.create(catalog.all_labs()["dockerfile"], "s01")["docker01"]
    prov.close()


def test_one_connection_one_shell_exact_results(complete_host):
    prov, host = complete_host
    backend = host._backend
    res = host.run("printf 'a\\nb'; printf 'err\\n' >&2; exit 7")
    assert (res.rc, res.stdout, res.stderr) == (7, "a\nb", "err\n")
    assert host.run("cd /tmp && pwd").stdout == "/tmp\n" and host.run("pwd").stdout != "/tmp\n"  # nothing leaks
    assert host.run("head -c 3000 /dev/zero | tr '\\0' x").stdout == "x" * 3000
    assert host.run("cat").stdout == ""  # stdin is closed: a command cannot eat the session's input
    for i in range(30):
        assert host.run("echo %s", str(i)).stdout == f"{i}\n"
    assert backend.connects == 1
    from harness.core import catalog

    again = prov.create(catalog.all_labs()["dockerfile"], "s01")["docker01"]
    assert again is host and backend.connects == 1  # the next lab reuses the handle and its connection


def test_deadline_kills_the_command(complete_host):
    _, host = complete_host
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"did not finish within 1s"):
        host.run("echo started; sleep 31.7", timeout=1)
    assert time.monotonic() - t0 < 10
    assert host.run("pgrep -f 'sleep 31.7' || echo gone").stdout.strip() == "gone"
    assert host.run("echo still here").stdout == "still here\n"


def test_daemons_over_the_same_connection(complete_host, demo):
    from harness.core import catalog
    from harness.provisioners.static import StaticProvisioner

    _, host = complete_host
    assert "web01" in [c.name for c in host.docker.containers.list(all=True)]  # DK17: docker run --name web01 (the notes)
    inventory, _ = demo
    prov = StaticProvisioner(str(inventory))
    try:
        kvm01 = prov.create(catalog.all_labs()["disk_images"], "s01")["kvm01"]
        assert "centos7" in [d.name() for d in kvm01.libvirt.listAllDomains()]
        assert kvm01._backend.connects == 1
    finally:
        prov.close()


def test_host_key_policies(demo, tmp_path):
    from harness.hosts.ssh_backend import TimedParamikoBackend
    from harness.hosts.inventory import load_inventory
    from harness.hosts.ssh_keys import HostKeyMismatch, HostKeyPolicy, HostKeyUnknown

    inventory, _ = demo
    entry = load_inventory(inventory).target("s01").hosts_for("dockerfile")["docker01"]

    def connect(policy: str, known: Path) -> TimedParamikoBackend:
        b = TimedParamikoBackend(entry.address, key_file=entry.key_file, label="docker01",
                                 host_keys=HostKeyPolicy(policy, known))
        try:
            b.run("true")
        finally:
            b.close()
        return b

    known = tmp_path / "known_hosts"
    with pytest.raises(HostKeyUnknown, match="not in .*strict"):
        connect("strict", known)
    connect("tofu", known)  # first use: recorded
    assert known.read_text().startswith(f"{entry.address} ")
    connect("strict", known)  # now known
    # another machine at that address (a key of the same type that is not the host's)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    forged = tmp_path / "forged"
    forged.write_text(f"{entry.address} " + " ".join((tmp_path / "k.pub").read_text().split()[:2]) + "\n")
    for policy in ("tofu", "strict"):
        with pytest.raises(HostKeyMismatch, match="the host key changed"):
            connect(policy, forged)
    assert len(forged.read_text().splitlines()) == 1  # tofu never overwrites what it recorded
    connect("ignore", forged)  # the throw-away-hosts policy checks nothing


@pytest.mark.skipif(not shutil.which("ssh"), reason="needs the ssh client")
def test_demo_keys_match_what_ssh_sees(demo):
    """The known_hosts the demo wrote is the real thing: OpenSSH itself accepts it strictly."""
    inventory, _ = demo
    entry = next(iter(json.loads(inventory.with_suffix(".demo.json").read_text())["students"]))
    from harness.hosts.inventory import load_inventory

    e = load_inventory(inventory).target(entry).hosts_for("dockerfile")["docker01"]
    res = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                          f"UserKnownHostsFile={e.known_hosts}", "-i", e.key_file, f"root@{e.address}", "true"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_unreachable_class_is_error_and_reap_removes_the_demo(tmp_path):
    """A class with no machine up: every check ERROR with the reason, fast; `labctl reap --run-id`
    removes the demo (its keeper then lets go of the run's lock)."""
    from harness.core.runs import lock_dir, run_is_alive

    out = tmp_path / "ghosts.yaml"
    res = labctl("demo-class", "--mix", "unreachable=2", "--labs", "dockerfile", "--out", str(out), timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    run_id = json.loads(out.with_suffix(".demo.json").read_text())["run_id"]
    try:
        assert run_is_alive(run_id)  # held by the keeper: other runs' start-up reaping leaves it alone
        assert run_id not in labctl("reap", "--dry-run", timeout=120).stdout
        t0 = time.monotonic()
        g = labctl("grade", "--inventory", str(out), "--report-dir", str(tmp_path), "--run-id", "ghost-grade", timeout=600)
        assert g.returncode == 3, g.stdout[-2000:] + g.stderr
        assert time.monotonic() - t0 < 120
        grades = json.loads((tmp_path / "ghost-grade" / "grades.json").read_text())
        for t in grades["targets"].values():
            checks = t["labs"]["dockerfile"]["checks"]
            assert {c["outcome"] for c in checks} == {"ERROR"} and "cannot connect" in checks[0]["message"]
    finally:
        reap = labctl("reap", "--run-id", run_id, timeout=120)
    assert reap.returncode == 0 and f"run {run_id}: network" in reap.stdout, reap.stdout
    deadline = time.monotonic() + 60
    while run_is_alive(run_id) and time.monotonic() < deadline:
        time.sleep(1)
    assert not run_is_alive(run_id) and not (lock_dir() / f"{run_id}.lock").exists()
