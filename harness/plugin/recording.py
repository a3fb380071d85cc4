"""The controller's recorder: writes the run's journal (``harness/reporting/journal.py``) as results arrive.

Registered only on the process that writes reports (the xdist controller, or the single
process). It records what was planned as soon as collection is known, each check result and
finished environment the moment its report arrives (including from xdist workers), a worker
crash against the check it was running, and how the run ended. The plugin then writes the
reports from the journal, so what the reports say is what is on disk, whatever happened.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path

import pytest

from harness.plugin.keys import envs_of, result_of
from harness.reporting.journal import FILENAME, Journal, Planned

log = logging.getLogger(__name__)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _marks(fn) -> tuple[float, str, str, str]:
    points, zh, en = 0.0, "", ""
    for m in getattr(fn, "pytestmark", ()):
        if m.name == "points" and m.args:
            points = float(m.args[0])
        elif m.name == "hint":
            zh, en = m.kwargs.get("zh", ""), m.kwargs.get("en", "")
    doc = (fn.__doc__ or "").strip().splitlines()
    return points, zh, en, doc[0] if doc else fn.__name__


def planned_from_item(item: pytest.Item, lab: str, target: str) -> Planned:
    fn = getattr(item, "function", None)
    points, zh, en, title = _marks(fn) if fn is not None else (0.0, "", "", item.name)
    return Planned(item.nodeid, lab, target, getattr(item, "originalname", item.name), title, points, zh, en)


def planned_from_nodeid(nodeid: str, targets: list[str], rootdir: Path) -> Planned | None:
    """What the controller can know of a check from its node id alone (xdist: workers collect)."""
    import sys

    from harness.core.lab import lab_of
    from harness.plugin.progress import target_of_nodeid

    path, _, rest = nodeid.partition("::")
    func = rest.split("[", 1)[0]
    target = target_of_nodeid(nodeid, targets)
    if not path.endswith(".py") or not func or target is None:
        return None
    if str(rootdir) not in sys.path:
        sys.path.append(str(rootdir))
    try:
        module = importlib.import_module(path[:-3].replace("/", "."))
        fn = getattr(module, func)
    except (ImportError, AttributeError):
        return None
    lab = lab_of(module)
    if lab is None:
        return None
    points, zh, en, title = _marks(fn)
    return Planned(nodeid, lab.name, target, func, title, points, zh, en)


class Recorder:
    def __init__(self, config: pytest.Config, session) -> None:
        self.config = config
        self.session = session  # harness.plugin.session.LabSession
        self.journal: Journal | None = None
        self.planned = False
        self.interrupted = ""

    @property
    def path(self) -> Path:
        return self.session.report_dir / FILENAME

    def open(self) -> None:
        r = self.session.result
        self.journal = Journal(self.path)
        self.journal.append("run", run_id=r.run_id, mode=r.mode, provisioner=r.provisioner, started=r.started,
                            environment=dict(r.environment))

    def append(self, kind: str, **data) -> None:
        if self.journal is not None:
            self.journal.append(kind, **data)

    # ------------------------------------------------------------------ planned

    def plan(self, planned: list[Planned]) -> None:
        if self.planned or not planned:
            return
        self.planned = True
        self.append("planned", checks=[p.to_dict() for p in planned])

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from harness.core.lab import lab_of

        planned = []
        for item in session.items:
            lab = lab_of(getattr(item, "module", None))
            callspec = getattr(item, "callspec", None)
            if lab is None or callspec is None or "lh_target" not in callspec.params:
                continue
            planned.append(planned_from_item(item, lab.name, str(callspec.params["lh_target"])))
        self.plan(planned)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        if self.planned:
            return
        try:
            targets = self.session.provisioner.targets()
        except Exception:
            return
        root = self.config.rootpath
        planned = []
        for nodeid in ids:
            try:
                p = planned_from_nodeid(nodeid, targets, root)
            except Exception as exc:  # knowing the plan helps the report; it must never stop the run
                log.warning("cannot plan %s: %s", nodeid, exc)
                continue
            if p is not None:
                planned.append(p)
        self.plan(planned)

    # ------------------------------------------------------------------ results

    def record(self, report: pytest.TestReport) -> None:
        result = result_of(report)
        if result is not None:
            self.append("check", result=result.to_dict())
        for record in envs_of(report):
            self.append("env", info=record.to_dict())
        if result is None and report.when == "???" and report.failed:  # xdist: the worker died running it
            self.append("crashed", nodeid=report.nodeid, detail=str(report.longrepr)[-500:])

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        self.interrupted = "interrupted (Ctrl-C)"

    def end(self, exitstatus: int) -> None:
        if not self.interrupted and int(exitstatus) == int(pytest.ExitCode.INTERRUPTED):
            self.interrupted = "interrupted (the session was stopped before the end)"
        self.append("end", at=_now(), interrupted=self.interrupted)
        if self.journal is not None:
            self.journal.close()
