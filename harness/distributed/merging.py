"""Merging what the units send back into the controller's journal: their checks and environments, and ERROR for every check a unit did not bring."""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from harness.core.model import CheckResult, Hint, Outcome
from harness.distributed.junit import junit_cases, junit_error_case
from harness.distributed.planning import Unit
from harness.distributed.progress import RunProgress
from harness.reporting.journal import Journal

LOST = "worker lost: the worker running this unit died {n} times ({workers}); not the student's fault, re-run"
BROKER_LOST = "not graded: the broker {url} was lost mid-run ({why}); not the student's fault, re-run"
UNIT_FAILED = "the unit failed on worker {worker}: {why}; not the student's fault, re-run"
UNIT_MISSING = ("not run: the unit's session on worker {worker} ended without this check (exit {rc}); "
                "not the student's fault, re-run")


class Merger:
    def __init__(self, journal: Journal, by_nodeid: dict[tuple[str, str, str], str], report_dir: Path,
                 progress: RunProgress):
        self.journal = journal
        self.by_nodeid = by_nodeid  # (lab, target, id within its file) -> the controller's node id
        self.report_dir = report_dir
        self.progress = progress
        self.junit_cases: list[ET.Element] = []

    def error_checks(self, u: Unit, message: str, only: set[str] | None = None) -> Counter:
        """Each planned check of ``u`` (or those in ``only``) ERROR with ``message``."""
        counts: Counter = Counter()
        for p in u.planned:
            if only is not None and p.nodeid not in only:
                continue
            c = CheckResult(nodeid=p.nodeid, lab=p.lab, target=p.target, check=p.check, title=p.title,
                            points=p.points, outcome=Outcome.ERROR, message=message,
                            hint=Hint(p.hint_zh, p.hint_en) if (p.hint_zh or p.hint_en) else None)
            self.journal.append("check", result=c.to_dict())
            self.progress.check(c, "controller")
            self.junit_cases.append(junit_error_case(p, message))
            counts["ERROR"] += 1
        return counts

    def lost(self, u: Unit, why: str) -> None:
        """A unit the run gives up on (its broker is gone): every check ERROR."""
        u.done = True
        self.progress.unit(u, self.error_checks(u, why), "controller")

    def merge(self, u: Unit, out: dict[str, Any]) -> None:
        """A unit's result (or its loss) into the journal."""
        u.done = True
        u.result = out
        worker = out.get("worker", "?")
        if "lost" in out:
            counts = self.error_checks(u, LOST.format(n=out["lost"], workers=", ".join(out.get("workers") or [worker])))
            self.progress.unit(u, counts, worker)
            return
        counts: Counter = Counter()
        seen: set[str] = set()
        entries, results = [], []
        for r in out.get("records", []):
            if r["type"] == "check":
                res = CheckResult.from_dict(r["result"])
                res.nodeid = self.by_nodeid.get((res.lab, res.target, res.nodeid.split("::", 1)[-1]), res.nodeid)
                seen.add(res.nodeid)
                entries.append(("check", {"result": res.to_dict()}))
                results.append(res)
                counts[res.outcome.value] += 1
            elif r["type"] == "env":
                entries.append(("env", {"info": r["info"]}))
        self.journal.append_many(entries)  # the unit's records on disk at once: one fsync, not one each
        for res in results:
            self.progress.check(res, worker)
        self.junit_cases += junit_cases(out.get("junit", ""))
        self._allure(out.get("allure") or {})
        missing = {p.nodeid for p in u.planned} - seen
        if missing:
            why = UNIT_MISSING.format(worker=worker, rc=out.get("rc"))
            if out.get("limit"):
                why = UNIT_FAILED.format(worker=worker, why=out["limit"])
            tail = (out.get("output_tail") or "").strip().splitlines()[-1:] or [""]
            counts += self.error_checks(u, f"{why}: {tail[0][:300]}" if tail[0] else why, only=missing)
        # which worker graded the unit, and when: what bench/workers.py measures the queue's overhead with
        self.journal.append("unit", unit=u.spec["unit"], lab=u.lab, target=u.target, worker=worker,
                            slot=out.get("slot", worker), attempt=out.get("attempt", 1), queued=u.queued_at,
                            task_started=out.get("task_started", 0.0), pytest_started=out.get("started", 0.0),
                            pytest_ended=out.get("ended", 0.0), pytest_seconds=out.get("pytest_seconds", 0.0),
                            task_ended=out.get("task_ended", 0.0), received=u.received or time.time(),
                            merged=time.time(), rc=out.get("rc"))
        self.progress.unit(u, counts, worker)

    def _allure(self, files: dict[str, str]) -> None:
        if not files:
            return
        adir = self.report_dir / "allure-results"
        adir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (adir / Path(name).name).write_bytes(base64.b64decode(data))
