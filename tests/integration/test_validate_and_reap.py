"""Validate mode end to end through labctl, and cleanup guarantees (after a run and after Ctrl-C)."""

import json
import signal
import subprocess
import sys
import time

import docker
import pytest

from harness.core.runs import LABEL_RUN
from tests.conftest import REPO


def leftovers(run_id: str) -> list[str]:
    client = docker.from_env()
    flt = {"label": [f"{LABEL_RUN}={run_id}"]}
    return ([c.name for c in client.containers.list(all=True, filters=flt)]
            + [v.name for v in client.volumes.list(filters=flt)]
            + [n.name for n in client.networks.list(filters=flt)])


@pytest.mark.slow
def test_labctl_validate_full_marks_and_nothing_left(tmp_path):
    run_id = f"vt-{int(time.time()) % 100000}"
    res = subprocess.run([sys.executable, "-m", "harness.cli", "validate", "--labs", "dockerfile",
                          "--report-dir", str(tmp_path), "--run-id", run_id],
                         cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "lab scores" in res.stdout and str(tmp_path / run_id / "report.html") in res.stdout
    grades = json.loads((tmp_path / run_id / "grades.json").read_text())
    lab = grades["targets"]["validate"]["labs"]["dockerfile"]
    assert lab["score"] == lab["max_score"] > 0 and lab["counts"]["FAIL"] == 0 and lab["counts"]["ERROR"] == 0
    # negative control: every check also ran on the fresh hosts, and none passed there undeclared
    fresh = {n["check"]: n for n in lab["negative_control"]}
    assert set(fresh) == {c["check"] for c in lab["checks"]}
    suspects = [n for n in fresh.values() if n["outcome"] == "PASS" and not n["declared"]]
    assert suspects == [], suspects
    for name in ("grades.csv", "report.html", "junit.xml"):
        assert (tmp_path / run_id / name).stat().st_size > 0
    assert any((tmp_path / run_id / "allure-results").iterdir())
    assert leftovers(run_id) == []


@pytest.mark.slow
def test_ctrl_c_during_provisioning_leaves_nothing(tmp_path):
    run_id = f"ct-{int(time.time()) % 100000}"
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "labs/dockerfile",
                             f"--report-dir={tmp_path}", f"--run-id={run_id}"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not leftovers(run_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(run_id), "the run never created anything"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert leftovers(run_id) == [], out[-2000:]
    reap = subprocess.run([sys.executable, "-m", "harness.cli", "reap", "--dry-run"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert run_id not in reap.stdout


@pytest.mark.parametrize("argv, message", [
    (["validate", "--labs", "nosuchlab"], "unknown lab 'nosuchlab'"),
    (["grade", "--inventory", "/nonexistent/class.yaml"], "cannot read the inventory"),
    (["validate", "--image", "/nonexistent/host-image"], "host image /nonexistent/host-image: no such file or directory"),
    (["validate", "--hypervisor", "qemu:///system"], "--hypervisor needs --image"),
    (["image", "build", "--omit", "nosuchpkg"], "--omit nosuchpkg: not in images/hostimage/packages.txt"),
])
def test_bad_input_one_clear_line(argv, message):
    res = subprocess.run([sys.executable, "-m", "harness.cli", *argv], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_unknown_provisioner_is_a_usage_error():
    res = subprocess.run([sys.executable, "-m", "pytest", "labs/dockerfile", "--provisioner", "nope", "-q"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 4 and "invalid choice: 'nope'" in res.stderr
    assert "Traceback" not in res.stderr


def test_dockerd_down_is_one_line(monkeypatch):
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": "/usr/bin:/bin"}
    res = subprocess.run([sys.executable, "-m", "harness.cli", "validate", "--labs", "dockerfile"], cwd=REPO,
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 2 and "dockerd is not answering" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.slow
def test_labctl_interrupted_mid_lab_exits_130_with_an_unfinished_report_and_nothing_left(tmp_path):
    """SIGINT to `labctl validate` while the lab's hosts are being made and solved: exit 130 and one
    line saying so, a report marked not finished with every planned check once (ERROR "not run"),
    and nothing for `labctl reap` to find."""
    run_id = f"si-{int(time.time()) % 100000}"
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "validate", "--labs", "images",
                             "--report-dir", str(tmp_path), "--run-id", run_id],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = tmp_path / run_id / "journal.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (journal.exists() and '"type": "planned"' in journal.read_text()
                                                and leftovers(run_id)):
        time.sleep(0.1)
    assert leftovers(run_id), "the run never made its hosts"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 130, out[-2000:] + err[-2000:]
    assert "labctl: interrupted" in err and "Traceback" not in err
    grades = json.loads((tmp_path / run_id / "grades.json").read_text())
    assert grades["finished"] is False and grades["interrupted"]
    checks = grades["targets"]["validate"]["labs"]["images"]["checks"]
    assert len({c["check"] for c in checks}) == len(checks) > 0
    assert any(c["outcome"] == "ERROR" and "not run" in c["message"] for c in checks)
    assert leftovers(run_id) == []
