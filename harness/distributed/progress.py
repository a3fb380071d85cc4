"""What the controller of a run on workers prints while it runs: the plugin's student lines when grading, a line per lab when validating."""

from __future__ import annotations

import time
from collections import Counter

from harness.core.model import CheckResult
from harness.distributed import redact
from harness.distributed.planning import Unit
from harness.plugin.progress import ProgressReporter
from harness.reporting.journal import Planned


def _print(line: str) -> None:
    """The plugin's progress lines, printed: the controller has no pytest terminal."""
    print(line, flush=True)


class RunProgress:
    def __init__(self, run_id: str, mode: str, url: str, units: int, t0: float):
        self.run_id = run_id
        self.mode = mode
        self.url = url
        self.units = units
        self.done_units = 0
        self.t0 = t0  # when the controller started (monotonic)
        self.students: ProgressReporter | None = None

    def start(self, planned: list[Planned]) -> None:
        what = f"{self.units} units ({'target x lab' if self.mode == 'grade' else 'one per lab'})"
        print(f"run {self.run_id}: {len(planned)} checks in {what}, on the workers of {redact(self.url)}", flush=True)
        if self.mode != "grade":
            return
        self.students = ProgressReporter(None, write=_print)
        self.students.set_totals(Counter(p.target for p in planned))

    def check(self, result: CheckResult, worker: str) -> None:
        """A check merged: the student's line once all their checks are in (grade mode)."""
        if self.students is None:
            return
        self.students.add(result, worker)

    def unit(self, u: Unit, counts: Counter, worker: str) -> None:
        """A unit merged: a line per lab (validate mode)."""
        self.done_units += 1
        if self.mode == "grade":
            return
        summary = ", ".join(f"{n} {o.lower()}" for o, n in sorted(counts.items()))
        print(f"[{self.done_units}/{self.units} labs] {u.lab}: {summary or 'no check'} (worker {worker}, "
              f"{time.monotonic() - self.t0:.0f}s)", flush=True)
