"""Faults during a run, for real (real pytest processes, real signals) on a tiny lab graded on this
machine: the report always tells the truth — after Ctrl-C, a killed xdist worker, a killed controller."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
import time

import pytest

from tests.conftest import REPO

LAB_INIT = """
from dataclasses import dataclass
from pathlib import Path
from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab

@dataclass(frozen=True)
class Params:
    pass

LAB = Lab(name="faultlab", title="faults", topology=(HostSpec("box", Role.STORAGE_HOST),), params=Params,
          package_dir=Path(__file__).parent)
"""

CHECKS = """
import os, signal, time
import pytest

@pytest.fixture
def box(hosts):
    return hosts["box"]

{checks}
"""

SLOW = """
@pytest.mark.points(1)
@pytest.mark.hint(zh="提示", en="hint")
def test_slow_{i}(box):
    '''Takes a while.'''
    time.sleep(0.7)
    assert box.run("true").rc == 0
"""

CRASH = """
@pytest.mark.points(4)
@pytest.mark.hint(zh="提示", en="hint")
def test_crashes_its_worker(box):
    '''Its worker dies under it.'''
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _lab(tmp_path, n, crash=False):
    pkg = tmp_path / "faultlab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(LAB_INIT))
    checks = "".join(SLOW.format(i=i) for i in range(n)) + (CRASH if crash else "")
    (pkg / "test_faults.py").write_text(CHECKS.format(checks=checks))
    (tmp_path / "class.yaml").write_text("version: 1\ntargets:\n  - name: alice\n    hosts: {box: {local: true}}\n")
    return tmp_path


def _start(root, run_id, *extra):
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{root}")
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "faultlab", "--inventory=class.yaml", f"--run-id={run_id}", "--report-dir=reports", *extra],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_checks(journal, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count('"type": "check"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {n} check results in {journal} within {timeout}s")


def _outcomes(grades):
    return {c["check"]: c for c in grades["targets"]["alice"]["labs"]["faultlab"]["checks"]}


def test_ctrl_c_halfway_writes_a_report_that_says_so(tmp_path):
    root = _lab(tmp_path, 8)
    proc = _start(root, "ctrlc-1")
    _wait_for_checks(root / "reports/ctrlc-1/journal.jsonl", 2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    grades = json.loads((root / "reports/ctrlc-1/grades.json").read_text())
    checks = _outcomes(grades)
    assert len(checks) == 8, out[-2000:]  # every planned check, once
    assert grades["finished"] is False and "Ctrl-C" in grades["interrupted"]
    assert grades["targets"]["alice"]["complete"] is False
    not_run = [c for c in checks.values() if c["outcome"] == "ERROR"]
    assert not_run and all("not run" in c["message"] for c in not_run)
    assert (root / "reports/ctrlc-1/grades.csv").read_text(encoding="utf-8-sig").splitlines()[1].endswith(",no")


def test_a_killed_worker_costs_its_check_nothing_and_loses_nothing(tmp_path):
    pytest.importorskip("xdist")
    root = _lab(tmp_path, 4, crash=True)
    proc = _start(root, "crash-1", "-n", "2")
    out, _ = proc.communicate(timeout=180)
    grades = json.loads((root / "reports/crash-1/grades.json").read_text())
    checks = _outcomes(grades)
    assert set(checks) == {f"test_slow_{i}" for i in range(4)} | {"test_crashes_its_worker"}, out[-3000:]
    crashed = checks["test_crashes_its_worker"]
    assert crashed["outcome"] == "ERROR" and "worker crashed" in crashed["message"], crashed
    lab = grades["targets"]["alice"]["labs"]["faultlab"]
    assert lab["score"] == 4 and lab["ungraded"] == 4 and lab["max_score"] == 8
    assert sum(1 for c in lab["checks"] if c["check"] == "test_crashes_its_worker") == 1


def test_a_killed_controller_leaves_a_journal_labctl_report_turns_into_a_report(tmp_path):
    root = _lab(tmp_path, 8)
    proc = _start(root, "kill-1")
    run_dir = root / "reports/kill-1"
    _wait_for_checks(run_dir / "journal.jsonl", 2)
    proc.kill()
    proc.communicate(timeout=30)
    assert not (run_dir / "grades.json").exists()
    res = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(run_dir)], cwd=root,
                         env=dict(os.environ, PYTHONPATH=f"{REPO}:{root}"), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    grades = json.loads((run_dir / "grades.json").read_text())
    assert grades["finished"] is False and "controller stopped" in grades["interrupted"]
    checks = _outcomes(grades)
    assert len(checks) == 8 and sum(c["outcome"] == "PASS" for c in checks.values()) >= 2
    from harness.core.runs import remove_stale_lock

    remove_stale_lock("kill-1")  # what a killed controller cannot remove itself (labctl reap would)


def test_allure_renders_every_check_of_a_parallel_run(tmp_path):
    """-n 4: every xdist worker writes its allure results, and the Allure 3 CLI renders them all."""
    import shutil

    cli = Path(os.environ.get("LABHARNESS_CACHE", "/var/cache/labharness")) / "allure/node_modules/.bin/allure"
    assert cli.exists() or shutil.which("allure"), f"no Allure 3 CLI at {cli}: run scripts/setup.sh"
    root = _lab(tmp_path, 8)
    proc = _start(root, "allure-1", "-n", "4")
    out, _ = proc.communicate(timeout=300)
    results = root / "reports/allure-1/allure-results"
    assert len(list(results.glob("*-result.json"))) == 8, out[-2000:]
    res = subprocess.run([str(cli) if cli.exists() else "allure", "generate", str(results), "-o", str(tmp_path / "allure")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    summary = json.loads((tmp_path / "allure/summary.json").read_text())
    assert summary["stats"]["total"] == 8 and summary["stats"].get("passed") == 8, summary["stats"]
