"""Queueing the units and watching them: results merged as they come, a lost worker's unit re-queued once, a lost broker ends the run."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from harness.distributed import (HEARTBEAT_TTL, KEY_TTL, MAX_ATTEMPTS, QUEUE_GRADE, QUEUE_PROVISION, app, key,
                                 redact)
from harness.distributed.merging import BROKER_LOST, Merger
from harness.distributed.planning import Unit

POLL = 0.02  # seconds between two looks at the results (one MGET for every unit in flight)
BROKER_GRACE = float(os.environ.get("LABHARNESS_BROKER_GRACE", "15"))  # broker unreachable this long: give up


class Dispatcher:
    def __init__(self, run_id: str, mode: str, url: str, units: list[Unit], merger: Merger):
        self.run_id = run_id
        self.mode = mode
        self.url = url
        self.units = units
        self.merger = merger

    def send(self, u: Unit) -> None:
        from harness.distributed.tasks import run_unit

        u.task_id = f"{self.run_id}.u{u.index}.{u.resends}"
        u.queued_at = time.time()
        u.seen_alive = False
        u.started_at = 0.0
        queue = QUEUE_GRADE if self.mode == "grade" else QUEUE_PROVISION
        run_unit.apply_async(args=[u.spec], task_id=u.task_id, queue=queue, routing_key=queue)

    def loop(self) -> str:
        """Until every unit is merged; returns why the run stopped short ("" when it did not)."""
        backend = app.backend
        client = backend.client
        for u in self.units:
            self.send(u)
        broker_down_since = None
        while True:
            pending = [u for u in self.units if not u.done]
            if not pending:
                return ""
            try:
                metas = client.mget([backend.get_key_for_task(u.task_id) for u in pending])
                beats = client.mget([key(self.run_id, "hb", u.task_id) for u in pending])
                fetched = time.time()
                broker_down_since = None
            except Exception as exc:  # the broker (and result backend) stopped answering
                broker_down_since = broker_down_since or time.monotonic()
                if time.monotonic() - broker_down_since >= BROKER_GRACE:
                    return self.broker_lost(f"{type(exc).__name__}: {exc}")
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
                        self.merger.merge(u, m["result"] or {})
                        continue
                    if state in ("FAILURE", "REVOKED"):
                        self.merger.merge(u, {"records": [], "worker": _worker_of(m), "rc": None,
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
            self.merger.merge(u, {"lost": attempts, "workers": workers, "worker": workers[-1] if workers else "?"})
            return
        print(f"unit {u.name}: worker {workers[-1] if workers else '?'} lost; re-queued", flush=True)
        u.resends += 1
        self.send(u)

    def broker_lost(self, why: str) -> str:
        """Every unit not merged yet ERROR; returns why the run stopped short."""
        print(f"labctl: the broker {redact(self.url)} was lost mid-run ({why}): "
              f"{sum(not u.done for u in self.units)} unit(s) not graded (ERROR)", file=sys.stderr, flush=True)
        for u in self.units:
            if not u.done:
                self.merger.lost(u, BROKER_LOST.format(url=redact(self.url), why=why))
        return f"the broker {redact(self.url)} was lost mid-run"


def _worker_of(meta: dict[str, Any]) -> str:
    return str((meta.get("result") or {}).get("hostname", "?")) if isinstance(meta.get("result"), dict) else "?"


def _failure_text(meta: dict[str, Any]) -> str:
    r = meta.get("result")
    if isinstance(r, dict):
        return f"{r.get('exc_type', 'error')}: {r.get('exc_message', '')}"
    return str(r)
