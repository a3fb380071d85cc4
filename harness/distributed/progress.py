"""What the controller of a run on workers prints while it runs: the plugin's student lines when grading, a line per lab when validating."""

from __future__ import annotations

import json
import time
from collections import Counter
from types import SimpleNamespace

from harness.core.model import CheckResult
from harness.distributed import redact
from harness.distributed.planning import Unit
from harness.plugin.progress import ProgressReporter
from harness.reporting.journal import Planned


class _Printed(ProgressReporter):
    """The plugin's progress lines, printed (the controller has no pytest terminal)."""

    def _write(self, line: str) -> None:
        from harness.reporting import terminal_safe

        self.last_line = time.monotonic()
        print(terminal_safe(line), flush=True)


class RunProgress:
    def __init__(self, run_id: str, mode: str, url: str, units: int, t0: float):
        self.run_id = run_id
        self.mode = mode
        self.url = url
        self.units = units
        self.done_units = 0
        self.t0 = t0  # when the controller started (monotonic)
        self.students: _Printed | None = None

    def start(self, planned: list[Planned]) -> None:
        what = f"{self.units} units ({'target x lab' if self.mode == 'grade' else 'one per lab'})"
        print(f"run {self.run_id}: {len(planned)} checks in {what}, on the workers of {redact(self.url)}", flush=True)
        if self.mode != "grade":
            return
        self.students = _Printed(None)
        self.students._set_totals(Counter(p.target for p in planned))

    def check(self, result: CheckResult, worker: str) -> None:
        """A check merged: the student's line once all their checks are in (grade mode)."""
        if self.students is None:
            return
        from harness.plugin.keys import RESULT_KEY

        # the report an xdist worker would send for this check, as the plugin's progress reads it
        report = SimpleNamespace(user_properties=[(RESULT_KEY, json.dumps(result.to_dict(), ensure_ascii=False))],
                                 node=SimpleNamespace(gateway=SimpleNamespace(id=worker)))
        self.students.pytest_runtest_logreport(report)

    def unit(self, u: Unit, counts: Counter, worker: str) -> None:
        """A unit merged: a line per lab (validate mode)."""
        self.done_units += 1
        if self.mode == "grade":
            return
        summary = ", ".join(f"{n} {o.lower()}" for o, n in sorted(counts.items()))
        print(f"[{self.done_units}/{self.units} labs] {u.lab}: {summary or 'no check'} (worker {worker}, "
              f"{time.monotonic() - self.t0:.0f}s)", flush=True)
