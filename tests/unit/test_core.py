"""The harness's own building blocks: waits, deadlines, parameters, run locks, the model."""

import time

import pytest

from harness.hosts.local_backends import TimedLocalBackend
from harness.core.errors import CommandTimeout, UsageError, WaitTimeout
from harness.core.model import CheckResult, Hint, LabResult, Outcome, RunResult, TargetResult
from harness.core.runs import RunLock, run_is_alive, valid_run_id
from harness.core.wait import wait_until


def test_wait_until_returns_the_first_truthy_value():
    calls = iter([None, 0, "ready"])
    assert wait_until(lambda: next(calls), timeout=5, what="x", interval=0.01) == "ready"


def test_wait_until_reports_the_last_state_seen():
    states = iter(range(1000))
    with pytest.raises(WaitTimeout) as err:
        wait_until(lambda: next(states) < 0, timeout=0.3, what="the thing", interval=0.01,
                   state=lambda: "container exited (code 1)")
    assert "the thing: not reached within 0.3s" in str(err.value)
    assert "container exited (code 1)" in str(err.value)


def test_wait_until_fatal_errors_end_the_wait_at_once():
    t0 = time.monotonic()
    with pytest.raises(KeyError):
        wait_until(lambda: {}["gone"], timeout=10, what="x", fatal=(KeyError,))
    assert time.monotonic() - t0 < 1


def test_command_deadline_kills_and_reports_output(monkeypatch):
    backend = TimedLocalBackend()
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout) as err:
        backend.run("echo started; sleep 30", timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert "started" in str(err.value) and "0.5s" in str(err.value)


def test_arguments_are_quoted_as_data():
    backend = TimedLocalBackend()
    res = backend.run("printf %%s %s", "'; echo INJECTED; '", timeout=5)
    assert res.stdout == "'; echo INJECTED; '"


def test_lab_params_convert_types_and_refuse_unknown_names():
    from labs.disk_images import LAB

    p = LAB.make_params({"data_dir": "/srv", "vm_memory_mib": "256"})
    assert p.data_dir == "/srv" and p.vm_memory_mib == 256
    with pytest.raises(UsageError, match="has no parameter 'nope'"):
        LAB.make_params({"nope": "1"})
    with pytest.raises(UsageError, match="is not a int"):
        LAB.make_params({"vm_memory_mib": "lots"})


def test_run_lock_tells_live_runs_from_dead_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(tmp_path))
    lock = RunLock("unit-lock")
    lock.acquire()
    assert run_is_alive("unit-lock")
    with pytest.raises(RuntimeError, match="already running"):
        RunLock("unit-lock").acquire()
    lock.release()
    assert not run_is_alive("unit-lock")
    assert valid_run_id("1122-1305-a1b2") and not valid_run_id("../etc") and not valid_run_id("A B")


def _check(name, points, outcome):
    return CheckResult(nodeid=name, lab="lab", target="t", check=name, title=name, points=points, outcome=outcome,
                       hint=Hint("提示", "hint"))


def test_scoring_counts_over_full_points_and_shows_ungraded_apart():
    """Ungraded points never raise a percentage: max is the lab's full points, ERROR and SKIP shown apart."""
    lab = LabResult("lab", "t", [_check("a", 2, Outcome.PASS), _check("b", 3, Outcome.FAIL),
                                 _check("c", 5, Outcome.ERROR), _check("d", 7, Outcome.SKIP)])
    assert (lab.score, lab.max_score, lab.graded, lab.ungraded, lab.skipped) == (2, 17, 5, 5, 7)
    assert not lab.complete and not lab.full_marks
    errored = TargetResult("t", {"lab": lab})
    graded_only = TargetResult("t", {"lab": LabResult("lab", "t", lab.checks[:2])})
    assert errored.percent < graded_only.percent  # an ERROR never makes a student look better


def test_run_result_round_trips_through_its_dict():
    run = RunResult("r1", "grade", "static", started="2026-11-22T12:00:00+00:00")
    run.add(_check("a", 1.5, Outcome.PASS))
    run.add(_check("b", 1, Outcome.FAIL))
    again = RunResult.from_dict(run.to_dict())
    assert again.to_dict() == run.to_dict()
    assert again.targets["t"].score == 1.5 and again.targets["t"].max_score == 2.5
