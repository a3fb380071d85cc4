"""The controller of a run on workers: plan, queue the units, merge what comes back, write ONE report.

``run(ns, args, mode)`` is what ``labctl grade|validate --workers URL`` calls with the pytest
arguments a local run would use. It returns a pytest-like exit status (0 every check passed, 1
some did not, 2 usage, 130 interrupted) so that ``labctl`` treats it as a local run's, with the
run's RunResult.

The parts: ``planning`` (the checks, grouped into units), ``dispatch`` (queueing and watching
them: lost workers, a lost broker), ``merging`` (what comes back, into the journal),
``progress`` (the lines printed meanwhile), ``junit`` (one junit.xml); this module sets the run
up and writes its reports at the end.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import time
from pathlib import Path

from harness.core.errors import UsageError
from harness.core.model import Outcome, RunResult
from harness.distributed import KEY_TTL, app, check_broker, configure, key, redact
from harness.distributed.dispatch import Dispatcher
from harness.distributed.junit import write_junit
from harness.distributed.merging import Merger
from harness.distributed.planning import make_units, plan
from harness.distributed.progress import RunProgress
from harness.reporting.journal import FILENAME, Journal

MAX_RUN_ID = 30  # room for the unit suffix -u<n>a<attempt> within a run id's 41 characters


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Controller:
    def __init__(self, ns, args: list[str], mode: str):
        self.ns = ns
        self.args = args
        self.mode = mode
        self.url = ns.workers
        self.run_id: str = ns.run_id
        self.report_dir = Path(ns.report_dir).resolve() / self.run_id
        self.t0 = time.monotonic()
        self.interrupted = ""

    def prepare(self) -> None:
        from harness.core.runs import RunLock

        if len(self.run_id) > MAX_RUN_ID:
            raise UsageError(f"--run-id {self.run_id!r}: at most {MAX_RUN_ID} characters with --workers "
                             "(units add -u<n>a<attempt>)")
        check_broker(self.url)
        configure(self.url)
        planned = plan(self.args)
        if not planned:
            raise UsageError("no check to run (the labs and -k select nothing)")
        raw = None
        if self.mode == "grade":
            import yaml

            raw = yaml.safe_load(Path(self.ns.inventory).read_text(encoding="utf-8"))
        self.units, by_nodeid = make_units(planned, self.run_id, self.mode, self.args, raw)
        self.lock = RunLock(self.run_id)  # the controller's run is alive while it runs, as a local run's
        try:
            self.lock.acquire()
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.report_dir / FILENAME)
        environment = {"workers": redact(self.url), "units": str(len(self.units))}
        provisioner = "static" if self.mode == "grade" else "container"
        self.journal.append("run", run_id=self.run_id, mode=self.mode, provisioner=provisioner, started=_now(),
                            environment=environment)
        self.journal.append("planned", checks=[p.to_dict() for p in planned])
        progress = RunProgress(self.run_id, self.mode, self.url, len(self.units), self.t0)
        progress.start(planned)
        self.merger = Merger(self.journal, by_nodeid, self.report_dir, progress)
        self.dispatcher = Dispatcher(self.run_id, self.mode, self.url, self.units, self.merger)

    def loop(self) -> None:
        self.interrupted = self.dispatcher.loop()

    def finish(self) -> tuple[int, RunResult]:
        from harness.reporting.journal import result_from_journal
        from harness.reporting import score_table, write_reports

        try:
            app.backend.client.set(key(self.run_id, "done"), "1", ex=KEY_TTL)  # late copies of its tasks do nothing
        except Exception:
            pass
        self.journal.append("end", at=_now(), interrupted=self.interrupted)
        self.journal.close()
        result = result_from_journal(self.report_dir / FILENAME)
        if result.targets:
            write_reports(result, self.report_dir)
        write_junit(self.report_dir / "junit.xml", self.merger.junit_cases, time.monotonic() - self.t0)
        self.lock.release()
        print(f"{'=' * 20} lab scores ({self.mode}, run {self.run_id}) {'=' * 20}")
        print(score_table(result))
        print(f"report: {self.report_dir / 'report.html'}", flush=True)
        if self.interrupted:
            return 1, result
        outcomes = {c.outcome for t in result.targets.values() for lab in t.labs.values() for c in lab.checks}
        return (0 if outcomes <= {Outcome.PASS, Outcome.SKIP} else 1), result


def run(ns, args: list[str], mode: str) -> tuple[int, RunResult | None]:
    """``labctl grade|validate --workers URL``: the run on the workers, one report here.
    Returns the exit status and the run's result (None when interrupted)."""
    ctl = Controller(ns, args, mode)
    ctl.prepare()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        ctl.loop()
    except KeyboardInterrupt:
        ctl.interrupted = "interrupted (Ctrl-C)"
        ctl.finish()
        print("labctl: interrupted; the report says what was graded (finished: no)", file=sys.stderr)
        return 130, None
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ctl.finish()
