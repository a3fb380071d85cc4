"""The controller of a run on workers: plan, queue the units, merge what comes back, write ONE report.

``run(ns, args, mode)`` is what ``labctl grade|validate --workers URL`` calls with the pytest
arguments a local run would use. It returns a pytest-like exit status (0 every check passed, 1
some did not, 2 usage, 130 interrupted) so that ``labctl`` treats it as a local run's.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import signal
import socket
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.distributed import (HEARTBEAT_TTL, KEY_TTL, MAX_ATTEMPTS, QUEUE_GRADE, QUEUE_PROVISION, app, check_broker, configure,
                                 key, redact)
from harness.core.errors import UsageError
from harness.reporting.journal import FILENAME, Journal, Planned
from harness.core.model import CheckResult, Hint, Outcome

POLL = 0.02  # seconds between two looks at the results (one MGET for every unit in flight)
BROKER_GRACE = float(os.environ.get("LABHARNESS_BROKER_GRACE", "15"))  # broker unreachable this long: give up
MAX_RUN_ID = 30  # room for the unit suffix -u<n>a<attempt> within a run id's 41 characters
LOST = "worker lost: the worker running this unit died {n} times ({workers}); not the student's fault, re-run"
BROKER_LOST = "not graded: the broker {url} was lost mid-run ({why}); not the student's fault, re-run"
UNIT_FAILED = "the unit failed on worker {worker}: {why}; not the student's fault, re-run"
UNIT_MISSING = ("not run: the unit's session on worker {worker} ended without this check (exit {rc}); "
                "not the student's fault, re-run")
PATH_FIELDS = ("key_file", "known_hosts", "guest_key_file")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Unit:
    index: int
    lab: str
    target: str
    planned: list[Planned]
    spec: dict[str, Any] = field(default_factory=dict)
    task_id: str = ""
    queued_at: float = 0.0
    seen_alive: bool = False
    received: float = 0.0  # when the controller had its result (epoch)
    started_at: float = 0.0  # when the controller first saw it STARTED (monotonic)
    done: bool = False
    resends: int = 0
    result: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.lab}@{self.target}"


# --------------------------------------------------------------------------- planning


class _PlanOnly:
    """Stands in for a provisioner that makes hosts while the controller only collects."""

    creates_hosts = True

    def targets(self) -> list[str]:
        from harness.provisioners.naming import VALIDATE_TARGET

        return [VALIDATE_TARGET]

    def labs_for(self, target: str) -> None:
        return None


class _Collector:
    """Collects the run's checks in process (``--collect-only``): what a local run would plan."""

    def __init__(self) -> None:
        self.planned: list[Planned] = []

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        """Validate mode: the hosts are made on the workers, so planning needs no dockerd (nor a KVM probe) here."""
        from harness.plugin.keys import SESSION_KEY

        session = config.stash.get(SESSION_KEY, None)
        if session is not None and session.provisioner_name != "static":
            session._provisioner = _PlanOnly()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from harness.core.lab import lab_of
        from harness.plugin.recording import planned_from_item

        for item in session.items:
            lab = lab_of(getattr(item, "module", None))
            callspec = getattr(item, "callspec", None)
            if lab is None or callspec is None or "lh_target" not in callspec.params:
                continue
            self.planned.append(planned_from_item(item, lab.name, str(callspec.params["lh_target"])))


def _strip_xdist(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ("-n", "--dist"):
            skip = True
            continue
        out.append(a)
    return out


def plan(args: list[str]) -> list[Planned]:
    collector = _Collector()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = pytest.main(_strip_xdist(args) + ["--collect-only", "-q"], plugins=[collector])
    if int(rc) not in (0, int(pytest.ExitCode.NO_TESTS_COLLECTED)):
        tail = "\n".join(buf.getvalue().strip().splitlines()[-5:])
        raise UsageError(f"collecting the run's checks failed (pytest exit {int(rc)}):\n{tail}")
    return collector.planned


def _unit_args(args: list[str]) -> list[str]:
    """The options of a local run a unit's session needs (course values, -k, --keep, host keys)."""
    out, it = [], iter(_strip_xdist(args))
    for a in it:
        if a.startswith(("--lab-param=", "--keep=", "--host-key-policy=", "--known-hosts=")):
            out.append(a)
        elif a == "-k":
            out += [a, next(it)]
    return out


def _absolute_paths(node: Any, base: Path) -> Any:
    if isinstance(node, dict):
        return {k: (str((base / Path(v).expanduser()).resolve()) if k in PATH_FIELDS and isinstance(v, str)
                    and not Path(v).expanduser().is_absolute() else _absolute_paths(v, base)) for k, v in node.items()}
    if isinstance(node, list):
        return [_absolute_paths(v, base) for v in node]
    return node


def _inventory_for(raw: dict[str, Any], target: str, lab: str) -> dict[str, Any]:
    """A one-target, one-lab inventory: what a unit's session grades."""
    entry = next(t for t in raw["targets"] if str(t.get("name")) == target)
    doc = {k: v for k, v in raw.items() if k != "targets"}
    entry = {**entry, "labs": [lab]}
    if isinstance(entry.get("lab_hosts"), dict):
        entry["lab_hosts"] = {k: v for k, v in entry["lab_hosts"].items() if k == lab}
        if not entry["lab_hosts"]:
            del entry["lab_hosts"]
    doc["targets"] = [entry]
    return _absolute_paths(doc, Path.cwd())


# --------------------------------------------------------------------------- the run


class Controller:
    def __init__(self, ns, args: list[str], mode: str):
        self.ns = ns
        self.args = args
        self.mode = mode
        self.url = ns.workers
        self.run_id: str = ns.run_id
        self.report_dir = Path(ns.report_dir).resolve() / self.run_id
        self.units: list[Unit] = []
        self.by_nodeid: dict[tuple[str, str, str], str] = {}
        self.journal: Journal | None = None
        self.t0 = time.monotonic()
        self.progress = None
        self.done_units = 0
        self.interrupted = ""
        self.junit_cases: list[ET.Element] = []

    # ------------------------------------------------------------------ set-up

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
        groups: dict[tuple[str, str], list[Planned]] = {}
        for p in planned:
            groups.setdefault((p.lab, p.target), []).append(p)
            self.by_nodeid[(p.lab, p.target, p.nodeid.split("::", 1)[-1])] = p.nodeid
        unit_args = _unit_args(self.args)
        for i, ((lab, target), checks) in enumerate(groups.items()):
            u = Unit(i, lab, target, checks)
            u.spec = {"run_id": self.run_id, "unit": f"u{i}", "index": i, "mode": self.mode, "lab": lab,
                      "target": target, "args": unit_args,
                      "inventory": _inventory_for(raw, target, lab) if raw is not None else None}
            self.units.append(u)
        self.lock = RunLock(self.run_id)  # the controller's run is alive while it runs, as a local run's
        try:
            self.lock.acquire()
        except RuntimeError as exc:
            raise UsageError(str(exc)) from None
        self.report_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.report_dir / FILENAME)
        environment = {"workers": redact(self.url), "units": str(len(self.units))}
        provisioner = "static" if self.mode == "grade" else "container"
        self.started = _now()
        self.journal.append("run", run_id=self.run_id, mode=self.mode, provisioner=provisioner, started=self.started,
                            environment=environment)
        self.journal.append("planned", checks=[p.to_dict() for p in planned])
        self._progress_start(planned)

    # ------------------------------------------------------------------ progress

    def _progress_start(self, planned: list[Planned]) -> None:
        what = f"{len(self.units)} units ({'target x lab' if self.mode == 'grade' else 'one per lab'})"
        print(f"run {self.run_id}: {len(planned)} checks in {what}, on the workers of {redact(self.url)}", flush=True)
        if self.mode != "grade":
            return
        from harness.plugin.progress import ProgressReporter

        class _Printed(ProgressReporter):
            def _write(self, line: str) -> None:
                from harness.reporting import terminal_safe

                self.last_line = time.monotonic()
                print(terminal_safe(line), flush=True)

        self.progress = _Printed(None)
        self.progress._set_totals(Counter(p.target for p in planned))

    def _progress_check(self, result: dict[str, Any], worker: str) -> None:
        if self.progress is None:
            return
        from harness.plugin.keys import RESULT_KEY

        report = SimpleNamespace(user_properties=[(RESULT_KEY, json.dumps(result))],
                                 node=SimpleNamespace(gateway=SimpleNamespace(id=worker)))
        self.progress.pytest_runtest_logreport(report)

    def _progress_unit(self, u: Unit, counts: Counter, worker: str) -> None:
        self.done_units += 1
        if self.mode == "grade":
            return
        summary = ", ".join(f"{n} {o.lower()}" for o, n in sorted(counts.items()))
        print(f"[{self.done_units}/{len(self.units)} labs] {u.lab}: {summary or 'no check'} (worker {worker}, "
              f"{time.monotonic() - self.t0:.0f}s)", flush=True)

    # ------------------------------------------------------------------ queueing

    def send(self, u: Unit) -> None:
        from harness.distributed.tasks import run_unit

        u.task_id = f"{self.run_id}.u{u.index}.{u.resends}"
        u.queued_at = time.time()
        u.seen_alive = False
        u.started_at = 0.0
        queue = QUEUE_GRADE if self.mode == "grade" else QUEUE_PROVISION
        run_unit.apply_async(args=[u.spec], task_id=u.task_id, queue=queue, routing_key=queue)

    # ------------------------------------------------------------------ merging

    def _error_checks(self, u: Unit, message: str, only: set[str] | None = None) -> Counter:
        counts: Counter = Counter()
        for p in u.planned:
            if only is not None and p.nodeid not in only:
                continue
            c = CheckResult(nodeid=p.nodeid, lab=p.lab, target=p.target, check=p.check, title=p.title,
                            points=p.points, outcome=Outcome.ERROR, message=message,
                            hint=Hint(p.hint_zh, p.hint_en) if (p.hint_zh or p.hint_en) else None)
            d = c.to_dict()
            self.journal.append("check", result=d)
            self._progress_check(d, "controller")
            self.junit_cases.append(_junit_error_case(p, message))
            counts["ERROR"] += 1
        return counts

    def merge(self, u: Unit, out: dict[str, Any]) -> None:
        u.done = True
        u.result = out
        worker = out.get("worker", "?")
        if "lost" in out:
            counts = self._error_checks(u, LOST.format(n=out["lost"], workers=", ".join(out.get("workers") or [worker])))
            self._progress_unit(u, counts, worker)
            return
        counts: Counter = Counter()
        seen: set[str] = set()
        entries, results = [], []
        for r in out.get("records", []):
            if r["type"] == "check":
                res = dict(r["result"])
                res["nodeid"] = self.by_nodeid.get((res["lab"], res["target"], res["nodeid"].split("::", 1)[-1]),
                                                   res["nodeid"])
                seen.add(res["nodeid"])
                entries.append(("check", {"result": res}))
                results.append(res)
                counts[res["outcome"]] += 1
            elif r["type"] == "env":
                entries.append(("env", {"info": r["info"]}))
        _append_all(self.journal, entries)  # the unit's records on disk at once: one fsync, not one each
        for res in results:
            self._progress_check(res, worker)
        self.junit_cases += _junit_cases(out.get("junit", ""))
        self._allure(out.get("allure") or {})
        missing = {p.nodeid for p in u.planned} - seen
        if missing:
            why = UNIT_MISSING.format(worker=worker, rc=out.get("rc"))
            if out.get("limit"):
                why = UNIT_FAILED.format(worker=worker, why=out["limit"])
            tail = (out.get("output_tail") or "").strip().splitlines()[-1:] or [""]
            counts += self._error_checks(u, f"{why}: {tail[0][:300]}" if tail[0] else why, only=missing)
        # which worker graded the unit, and when: what bench/workers.py measures the queue's overhead with
        self.journal.append("unit", unit=u.spec["unit"], lab=u.lab, target=u.target, worker=worker,
                            slot=out.get("slot", worker), attempt=out.get("attempt", 1), queued=u.queued_at,
                            task_started=out.get("task_started", 0.0), pytest_started=out.get("started", 0.0),
                            pytest_ended=out.get("ended", 0.0), pytest_seconds=out.get("pytest_seconds", 0.0),
                            task_ended=out.get("task_ended", 0.0), received=u.received or time.time(),
                            merged=time.time(), rc=out.get("rc"))
        self._progress_unit(u, counts, worker)

    def _allure(self, files: dict[str, str]) -> None:
        if not files:
            return
        adir = self.report_dir / "allure-results"
        adir.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (adir / Path(name).name).write_bytes(base64.b64decode(data))

    # ------------------------------------------------------------------ the loop

    def loop(self) -> None:
        backend = app.backend
        client = backend.client
        for u in self.units:
            self.send(u)
        broker_down_since = None
        while True:
            pending = [u for u in self.units if not u.done]
            if not pending:
                return
            try:
                metas = client.mget([backend.get_key_for_task(u.task_id) for u in pending])
                beats = client.mget([key(self.run_id, "hb", u.task_id) for u in pending])
                fetched = time.time()
                broker_down_since = None
            except Exception as exc:  # the broker (and result backend) stopped answering
                broker_down_since = broker_down_since or time.monotonic()
                if time.monotonic() - broker_down_since >= BROKER_GRACE:
                    self.broker_lost(f"{type(exc).__name__}: {exc}")
                    return
                time.sleep(1.0)
                continue
            lost = []
            for u, meta, beat in zip(pending, metas, beats):
                state = None
                if meta is not None:
                    m = backend.decode_result(meta)
                    state = m.get("status")
                    if state == "SUCCESS":
                        u.received = fetched
                        self.merge(u, m["result"] or {})
                        continue
                    if state in ("FAILURE", "REVOKED"):
                        self.merge(u, {"records": [], "worker": _worker_of(m), "rc": None,
                                       "limit": _failure_text(m)})
                        continue
                if state == "STARTED" and not u.started_at:
                    u.started_at = time.monotonic()
                if beat is not None:
                    u.seen_alive = True
                elif u.seen_alive:  # it was running and its heartbeat stopped: the worker is gone
                    lost.append(u)
                elif u.started_at and time.monotonic() - u.started_at > HEARTBEAT_TTL + 5:
                    lost.append(u)  # started, and died before its first heartbeat
            for u in lost:
                self.requeue(u, client)
            time.sleep(POLL)

    def requeue(self, u: Unit, client) -> None:
        client.sadd(key(self.run_id, "superseded"), u.task_id)
        client.expire(key(self.run_id, "superseded"), KEY_TTL)
        attempts = int(client.get(key(self.run_id, "attempts", f"u{u.index}")) or 0)
        workers = [w.decode() for w in client.lrange(key(self.run_id, "workers", f"u{u.index}"), 0, -1)]
        if attempts >= MAX_ATTEMPTS:
            self.merge(u, {"lost": attempts, "workers": workers, "worker": workers[-1] if workers else "?"})
            return
        print(f"unit {u.name}: worker {workers[-1] if workers else '?'} lost; re-queued", flush=True)
        u.resends += 1
        self.send(u)

    def broker_lost(self, why: str) -> None:
        print(f"labctl: the broker {redact(self.url)} was lost mid-run ({why}): "
              f"{sum(not u.done for u in self.units)} unit(s) not graded (ERROR)", file=sys.stderr, flush=True)
        for u in self.units:
            if not u.done:
                u.done = True
                self._progress_unit(u, self._error_checks(u, BROKER_LOST.format(url=redact(self.url), why=why)),
                                    "controller")
        self.interrupted = f"the broker {redact(self.url)} was lost mid-run"

    # ------------------------------------------------------------------ the end

    def finish(self) -> int:
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
        _write_junit(self.report_dir / "junit.xml", self.junit_cases, time.monotonic() - self.t0)
        self.lock.release()
        print(f"{'=' * 20} lab scores ({self.mode}, run {self.run_id}) {'=' * 20}")
        print(score_table(result))
        print(f"report: {self.report_dir / 'report.html'}", flush=True)
        if self.interrupted:
            return 1
        outcomes = {c.outcome for t in result.targets.values() for lab in t.labs.values() for c in lab.checks}
        return 0 if outcomes <= {Outcome.PASS, Outcome.SKIP} else 1


def _append_all(journal: Journal, entries: list[tuple[str, dict[str, Any]]]) -> None:
    """``Journal.append`` for several records, with one flush and fsync for all of them."""
    if not entries:
        return
    text = "".join(json.dumps({"type": kind, **data}, ensure_ascii=False) + "\n" for kind, data in entries)
    with journal._lock:
        if journal._f.closed:
            return
        journal._f.write(text)
        journal._f.flush()
        os.fsync(journal._f.fileno())


def _worker_of(meta: dict[str, Any]) -> str:
    return str((meta.get("result") or {}).get("hostname", "?")) if isinstance(meta.get("result"), dict) else "?"


def _failure_text(meta: dict[str, Any]) -> str:
    r = meta.get("result")
    if isinstance(r, dict):
        return f"{r.get('exc_type', 'error')}: {r.get('exc_message', '')}"
    return str(r)


# --------------------------------------------------------------------------- JUnit


def _junit_cases(text: str) -> list[ET.Element]:
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return []
    return list(root.iter("testcase"))


def _junit_error_case(p: Planned, message: str) -> ET.Element:
    path, _, name = p.nodeid.partition("::")
    case = ET.Element("testcase", classname=path.removesuffix(".py").replace("/", "."), name=name, time="0.000")
    err = ET.SubElement(case, "error", message=message)
    err.text = message
    return case


def _write_junit(path: Path, cases: list[ET.Element], seconds: float) -> None:
    """One test suite, as pytest writes it for a local run, from every unit's test cases."""
    counts = Counter()
    for c in cases:
        for kind in ("error", "failure", "skipped"):
            if c.find(kind) is not None:
                counts[kind] += 1
                break
    suites = ET.Element("testsuites", name="pytest tests")
    suite = ET.SubElement(suites, "testsuite", name="pytest", errors=str(counts["error"]),
                          failures=str(counts["failure"]), skipped=str(counts["skipped"]), tests=str(len(cases)),
                          time=f"{seconds:.3f}", timestamp=dt.datetime.now().isoformat(timespec="microseconds"),
                          hostname=socket.gethostname())
    suite.extend(cases)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


# --------------------------------------------------------------------------- entry point


def run(ns, args: list[str], mode: str) -> int:
    """``labctl grade|validate --workers URL``: the run on the workers, one report here."""
    ctl = Controller(ns, args, mode)
    ctl.prepare()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        ctl.loop()
    except KeyboardInterrupt:
        ctl.interrupted = "interrupted (Ctrl-C)"
        rc = ctl.finish()
        print("labctl: interrupted; the report says what was graded (finished: no)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return ctl.finish()
