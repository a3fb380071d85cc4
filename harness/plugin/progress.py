"""Progress of a class being graded, on the terminal of the process that runs it (the xdist controller).

A line when a student is done (students done/total, their score, or the reason they need a
re-run), and, at most every ``INTERVAL`` seconds while nothing finishes, what is being graded
now (which lab, for whom). Plain lines, so a log file or CI shows them too. The plugin registers
it for inventory runs (``--inventory``); ``-p no:labharness-progress`` turns it off.

It counts each student's checks from collection: ``session.items`` without xdist, the node ids
a worker collected with it (every worker collects the same items).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from harness.core.model import CheckResult, LabResult, Outcome, TargetResult
from harness.plugin.keys import result_of

INTERVAL = 10.0


@dataclass
class _Student:
    """A student's checks so far, scored by the model's own rule (harness/core/model.py)."""

    result: TargetResult
    total: int = 0
    first_error: CheckResult | None = None

    def add(self, check: CheckResult) -> None:
        lab = self.result.labs.setdefault(check.lab, LabResult(check.lab, check.target))
        lab.checks.append(check)
        if check.outcome is Outcome.ERROR and self.first_error is None:
            self.first_error = check

    @property
    def done(self) -> int:
        return sum(len(lab.checks) for lab in self.result.labs.values())

    @property
    def errors(self) -> int:
        return sum(lab.count(Outcome.ERROR) for lab in self.result.labs.values())


def _escaped(name: str) -> str:
    """The form pytest gives a parameter id in node ids (non-ASCII escaped)."""
    try:
        from _pytest.compat import ascii_escaped

        return ascii_escaped(name)
    except Exception:  # pytest internals moved: the plain encoding is what they do
        return name.encode("unicode_escape").decode("ascii")


def target_of_nodeid(nodeid: str, targets: list[str]) -> str | None:
    """The target a check's node id belongs to: ``test_x[alice]`` -> ``alice`` (also ``[alice-other-params]``)."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    start = nodeid.find("[", nodeid.rfind("::") + 1)
    if start < 0:  # the brackets belong to an earlier part of the id (a parameter holding "::")
        return None
    pid = nodeid[start + 1 : -1]
    best = None
    for t in targets:
        for form in {t, _escaped(t)}:
            if pid == form or pid.startswith(form + "-") or pid.endswith("-" + form) or f"-{form}-" in pid:
                if best is None or len(form) > len(best[1]):
                    best = (t, form)
    return best[0] if best else None


class ProgressReporter:
    """A line per student once all their checks are in, and a status line at most every INTERVAL.

    ``write`` is where lines go: pytest's terminal by default; a controller without a pytest
    terminal (``harness.distributed``) passes its own.
    """

    def __init__(self, config: pytest.Config | None, write: Callable[[str], None] | None = None):
        self.config = config
        self._out = write
        self.students: dict[str, _Student] = {}
        self.finished = 0
        self.now: dict[str, tuple[str, str]] = {}  # worker -> (lab, target) it reported last
        self.t0 = time.monotonic()
        self.last_line = 0.0

    # ------------------------------------------------------------------ totals

    def _targets(self) -> list[str]:
        from harness.plugin.keys import SESSION_KEY

        try:
            return self.config.stash[SESSION_KEY].provisioner.targets()
        except Exception:
            return []

    def set_totals(self, per_target: Counter) -> None:
        """How many checks each student has (once: the first count wins)."""
        if self.students:
            return
        self.students = {t: _Student(TargetResult(t), total=n) for t, n in per_target.items() if n}
        if self.students:
            self._write(f"grading {len(self.students)} student{'s' if len(self.students) != 1 else ''}, "
                        f"{sum(per_target.values())} checks")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        counts: Counter = Counter()
        for item in session.items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "lh_target" in callspec.params:
                counts[str(callspec.params["lh_target"])] += 1
        if counts:
            self.set_totals(counts)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        targets = self._targets()
        counts: Counter = Counter()
        for nodeid in ids:
            t = target_of_nodeid(nodeid, targets)
            if t is not None:
                counts[t] += 1
        self.set_totals(counts)

    # ------------------------------------------------------------------ results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        r = result_of(report)
        if r is not None:
            worker = getattr(getattr(report, "node", None), "gateway", None)
            self.add(r, getattr(worker, "id", "main"))

    def add(self, r: CheckResult, worker: str = "main") -> None:
        """One check's result, from whichever process ran it."""
        s = self.students.get(r.target)
        if s is None:
            return
        self.now[worker] = (r.lab, r.target)
        s.add(r)
        if s.done == s.total:
            self.finished += 1
            self._write(self._student_line(r.target, s))
        elif time.monotonic() - self.last_line >= INTERVAL:
            self._write(self._status_line())

    def _student_line(self, name: str, s: _Student) -> str:
        from harness.reporting.csvout import fmt_num

        width = len(str(len(self.students)))
        head = f"[{self.finished:>{width}}/{len(self.students)} students] {name}: "
        score = f"{fmt_num(s.result.score)}/{fmt_num(s.result.max_score)}"
        if s.result.percent is not None:
            score += f" ({int(s.result.percent)}%)"
        if s.first_error is not None:
            from harness.reporting.rerun import error_reason

            return head + f"{score}, {s.errors} check{'s' if s.errors != 1 else ''} ERROR, re-run needed: {error_reason(s.first_error)[:200]}"
        return head + score + f"  [{', '.join(s.result.labs)}]"

    def _status_line(self) -> str:
        checks = sum(s.done for s in self.students.values())
        total = sum(s.total for s in self.students.values())
        now = ", ".join(f"{lab} for {target}" for lab, target in sorted(set(self.now.values()), key=lambda x: x[1]))
        return (f"[{self.finished}/{len(self.students)} students done, {checks}/{total} checks, "
                f"{time.monotonic() - self.t0:.0f}s] grading {now or '...'}")

    def _write(self, line: str) -> None:
        from harness.reporting import terminal_safe

        line = terminal_safe(line)  # names and error reasons can carry a student's escape sequences
        self.last_line = time.monotonic()
        if self._out is not None:
            self._out(line)
            return
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None:
            return
        tr.ensure_newline()
        tr.write_line(line)
