"""The run's journal: results on disk as they happen, reports that tell the truth after any fault."""

import json
import subprocess
import sys

import pytest

from harness.reporting.journal import NOT_RUN_CRASH, Journal, Planned, result_from_journal
from tests.conftest import REPO


def _check(nodeid, outcome="PASS", points=1.0, target="alice", lab="images"):
    return {"nodeid": nodeid, "lab": lab, "target": target, "check": nodeid.split("::")[1].split("[")[0],
            "title": "t", "points": points, "outcome": outcome, "message": "", "hint": None, "evidence": [],
            "duration": 0.1}


def _journal(tmp_path, *, end=True, interrupted=""):
    j = Journal(tmp_path / "journal.jsonl")
    j.append("run", run_id="r1", mode="grade", provisioner="static", started="2026-12-07T10:00:00+00:00")
    planned = [Planned(f"labs/images/test_images.py::test_{n}[alice]", "images", "alice", f"test_{n}", "t", 2.0,
                       "中文", "hint") for n in ("a", "b", "c", "d")]
    j.append("planned", checks=[p.to_dict() for p in planned])
    j.append("check", result=_check(planned[0].nodeid, "FAIL", 2.0))
    j.append("check", result=_check(planned[0].nodeid, "PASS", 2.0))  # a re-run replaces
    j.append("check", result=_check(planned[1].nodeid, "PASS", 2.0))
    j.append("crashed", nodeid=planned[2].nodeid, detail="worker 'gw1' crashed")
    if end:
        j.append("end", at="2026-12-07T10:05:00+00:00", interrupted=interrupted)
    j.close()
    return tmp_path / "journal.jsonl", planned


def test_every_planned_check_exactly_once(tmp_path):
    path, planned = _journal(tmp_path, interrupted="interrupted (Ctrl-C)")
    run = result_from_journal(path)
    checks = run.targets["alice"].labs["images"].checks
    assert [c.nodeid for c in checks] == [p.nodeid for p in planned]
    by = {c.check: c for c in checks}
    assert by["test_a"].outcome.value == "PASS"  # the re-run, not both
    assert by["test_c"].outcome.value == "ERROR" and by["test_c"].message == NOT_RUN_CRASH
    assert by["test_d"].outcome.value == "ERROR" and "interrupted (Ctrl-C)" in by["test_d"].message
    assert not run.finished and run.interrupted == "interrupted (Ctrl-C)"
    d = run.to_dict()
    assert d["finished"] is False and d["targets"]["alice"]["complete"] is False


def test_a_killed_controller_leaves_a_journal_that_says_so(tmp_path):
    path, _ = _journal(tmp_path, end=False)
    with open(path, "a") as f:
        f.write('{"type": "check", "result": {"nodeid": "torn')  # killed mid-write
    run = result_from_journal(path)
    assert not run.finished and "controller stopped" in run.interrupted
    assert len(run.targets["alice"].labs["images"].checks) == 4


def test_a_finished_run_with_a_crashed_worker_is_finished_but_incomplete(tmp_path):
    j = Journal(tmp_path / "journal.jsonl")
    j.append("run", run_id="r1", mode="grade", provisioner="static", started="x")
    p = Planned("labs/images/test_images.py::test_a[alice]", "images", "alice", "test_a", "t", 1.0)
    j.append("planned", checks=[p.to_dict()])
    j.append("crashed", nodeid=p.nodeid, detail="gw0 crashed")
    j.append("end", at="y", interrupted="")
    j.close()
    run = result_from_journal(tmp_path / "journal.jsonl")
    assert run.finished and not run.targets["alice"].complete


def test_labctl_report_rebuilds_the_reports(tmp_path):
    path, _ = _journal(tmp_path, end=False)
    res = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "NOT finished" in res.stdout
    grades = json.loads((tmp_path / "grades.json").read_text())
    assert grades["finished"] is False and grades["interrupted"]
    assert "complete" in (tmp_path / "grades.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert (tmp_path / "grades.csv").read_text(encoding="utf-8-sig").splitlines()[1].endswith(",no")
    assert "This run did not finish" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("argv, message", [
    (["grade", "--inventory", "x.yaml", "-j", "abc"], None),
    (["validate", "-j", "0"], "-j '0'"),
    (["validate", "-j", "-1"], "-j '-1'"),
    (["validate", "--labs", ""], "names no lab"),
    (["validate", "--lab-param", "nosuch.x=1"], "unknown lab 'nosuch'"),
    (["validate", "--lab-param", "images.nosuch=1"], "has no parameter 'nosuch'"),
    (["validate", "--run-id", "Bad/Id"], "--run-id 'Bad/Id'"),
    (["reap", "--run-id", "../x"], "--run-id '../x'"),
    (["report", "/nonexistent/run"], "no journal.jsonl"),
    (["validate", "--report-dir", "/proc/labctl-cannot-write"], "--report-dir"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path):
    res = subprocess.run([sys.executable, "-m", "harness.cli", *argv], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2, res.stdout[-1000:] + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
    if message:
        assert message in res.stderr, res.stderr


def test_planning_never_breaks_on_odd_node_ids():
    """A parameter id holding '::' or brackets (the harness's own tests have some) plans nothing, quietly."""
    from harness.plugin.progress import target_of_nodeid

    assert target_of_nodeid("tests/unit/test_x.py::test_a[p::q]", ["a"]) is None
    assert target_of_nodeid("labs/images/test_images.py::test_b02_tag[alice]", ["alice"]) == "alice"


def test_a_finished_environment_travels_typed_and_older_journals_still_read(tmp_path):
    """EnvRecord: made on the worker, shipped as JSON, kept in the journal; a journal written before
    it existed (the same keys, some missing) rebuilds the same lab result."""
    from harness.core.model import EnvRecord, StepFailure
    from harness.plugin.keys import attach_env, envs_of

    record = EnvRecord("images", "alice", duration=12.5, solution_failure=StepFailure("DK09: save", "exited 1"),
                       steps={"provision": 2.0, "DK09: save": 3.25}, negative_control=[{"check": "test_a", "outcome": "FAIL"}],
                       accel="tcg (no KVM)")

    class Report:
        user_properties: list = []

    attach_env(Report, record)
    assert envs_of(Report) == [record]
    path, _ = _journal(tmp_path)
    lines = path.read_text().splitlines()
    older = {"lab": "images", "target": "alice", "duration": 7.0, "solution_failure": None, "steps": {"provision": 1.0}}
    new = tmp_path / "with-env.jsonl"
    new.write_text("\n".join(lines[:-1] + [json.dumps({"type": "env", "info": record.to_dict()}),
                                           json.dumps({"type": "env", "info": {**older, "target": "bob"}}), lines[-1]]) + "\n")
    run = result_from_journal(new)
    lab = run.targets["alice"].labs["images"]
    assert lab.duration == 12.5 and lab.solution_failure == StepFailure("DK09: save", "exited 1")
    assert lab.negative_control == [{"check": "test_a", "outcome": "FAIL"}]
    assert run.environment["steps.images.alice"] == "provision 2.0s, DK09: save 3.2s"
    assert run.environment["guest_accel"] == "tcg (no KVM)"
    assert run.targets["bob"].labs["images"].duration == 7.0 and run.environment["steps.images.bob"] == "provision 1.0s"
