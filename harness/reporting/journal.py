"""The run's journal: every result written down the moment it is known, reports made from it.

Results used to live only in the controller's memory until the session ended, so a killed
controller left nothing, and an interrupted run wrote a report that looked complete. Now the
controller appends one JSON line per event to ``<report-dir>/<run-id>/journal.jsonl``, flushed
and fsync'd:

- ``run``: the run's identity (once, at the start);
- ``planned``: the checks collected for the run (lab, target, check, points, title, hints), so a
  check that never reports is still known;
- ``check``: a finished check's result (a re-run of the same node id replaces it, never adds);
- ``env``: a finished environment (solution failure, step times, negative control);
- ``end``: how the run ended: finished, or interrupted and why.

``result_from_journal`` rebuilds a ``RunResult`` from the file. Every planned check appears
exactly once: one with no result is ERROR — "worker crashed" when its xdist worker died while
running it, "not run" when the run was interrupted or the controller died first. A run without
an ``end`` record (a killed controller) is reported as not finished. ``labctl report RUN_DIR``
calls this to write the reports again.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.model import CheckResult, EnvRecord, Hint, Outcome, RunResult

FILENAME = "journal.jsonl"
NOT_RUN_CRASH = "worker crashed while running this check (not the student's fault; re-run)"
NOT_RUN_INTERRUPTED = "not run: the run was interrupted before this check ({why})"


@dataclass(frozen=True)
class Planned:
    """A check the run means to grade: enough to report it even if it never runs."""

    nodeid: str
    lab: str
    target: str
    check: str
    title: str
    points: float
    hint_zh: str = ""
    hint_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Journal:
    """Append-only, one JSON object per line, each on disk (fsync) before ``append`` returns."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._f = open(self.path, "a", encoding="utf-8")

    def append(self, kind: str, **data: Any) -> None:
        self.append_many([(kind, data)])

    def append_many(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Several records, with one flush and fsync for all of them (what a worker sends back)."""
        if not entries:
            return
        text = "".join(json.dumps({"type": kind, **data}, ensure_ascii=False) + "\n" for kind, data in entries)
        with self._lock:
            if self._f.closed:
                return
            self._f.write(text)
            self._f.flush()
            os.fsync(self._f.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._f.closed:
                self._f.close()


def read(path: Path) -> list[dict[str, Any]]:
    """The journal's records; a torn last line (the writer killed mid-write) is dropped."""
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def apply_env(result: RunResult, record: EnvRecord) -> None:
    """What a finished environment adds to the run's result."""
    lab = result.lab(record.target, record.lab)
    lab.duration = record.duration
    if record.solution_failure:
        lab.solution_failure = record.solution_failure
    lab.negative_control = record.negative_control
    if record.steps:
        result.environment[f"steps.{record.lab}.{record.target}"] = ", ".join(f"{k} {v:.1f}s" for k, v in record.steps.items())
    if record.accel:
        result.environment["guest_accel"] = record.accel


def result_from_journal(path: Path) -> RunResult:
    """Rebuild the run's result from its journal (see the module docstring for the rules)."""
    records = read(path)
    run = next((r for r in records if r["type"] == "run"), None)
    if run is None:
        raise ValueError(f"{path}: no run record: not a journal of labharness")
    result = RunResult(run["run_id"], run["mode"], run["provisioner"], started=run["started"])
    result.environment.update(run.get("environment", {}))
    planned: dict[str, Planned] = {}
    checks: dict[str, CheckResult] = {}
    crashed: set[str] = set()
    end = None
    for r in records:
        kind = r["type"]
        if kind == "planned":
            for p in r["checks"]:
                planned.setdefault(p["nodeid"], Planned(**p))
        elif kind == "check":
            c = CheckResult.from_dict(r["result"])
            checks[c.nodeid] = c  # a re-run replaces, never duplicates
            crashed.discard(c.nodeid)
        elif kind == "crashed":
            if r["nodeid"] not in checks:
                crashed.add(r["nodeid"])
        elif kind == "env":
            apply_env(result, EnvRecord.from_dict(r["info"]))
        elif kind == "environment":
            result.environment.update(r["values"])
        elif kind == "end":
            end = r
    why = (end or {}).get("interrupted") or "the controller stopped before the end"
    missing = [n for n in planned if n not in checks and n not in crashed]
    if end is not None and not end.get("interrupted") and missing:
        why = "the session stopped before running every check (-x, --maxfail or a crash)"
        end = {**end, "interrupted": why}
    for nodeid, p in planned.items():
        if nodeid in checks:
            continue
        message = NOT_RUN_CRASH if nodeid in crashed else NOT_RUN_INTERRUPTED.format(why=why)
        checks[nodeid] = CheckResult(nodeid=nodeid, lab=p.lab, target=p.target, check=p.check, title=p.title,
                                     points=p.points, outcome=Outcome.ERROR, message=message,
                                     hint=Hint(p.hint_zh, p.hint_en) if (p.hint_zh or p.hint_en) else None)
    order = list(planned) + [n for n in checks if n not in planned]
    for nodeid in order:
        result.add(checks[nodeid])
    if end is not None:
        result.ended = end["at"]
    if end is None or end.get("interrupted"):
        result.interrupted = why
    return result
