"""The circuit breaker: a host that stopped answering fails every later command at once."""

from __future__ import annotations

import logging
import threading
import time

from harness.core.errors import HostUnreachable

log = logging.getLogger(__name__)


class Breaker:
    """Gives up on a host that stopped answering: after ``TRIP_AFTER`` timeouts in a row (a command
    past its deadline that the host did not answer about, a connection or session that did not
    open in time), every later command of the host raises ``HostUnreachable`` at once with when it
    stopped answering, instead of waiting for its own deadline again. An answer in between (a
    command that finished, a late command killed) starts the count again. Once open it stays open
    for the run: a paused or frozen host costs about two deadlines, never one per check.
    """

    TRIP_AFTER = 2

    def __init__(self, label: str):
        self.label = label
        self.timeouts = 0
        self.since: float | None = None  # wall clock: when the first wait of the streak began
        self.last = ""
        self.tripped = False
        self.on_trip: list = []  # callbacks, run once when the breaker opens (close what waits on the host)
        self._lock = threading.Lock()

    def message(self) -> str:
        at = time.strftime("%H:%M:%S", time.localtime(self.since or time.time()))
        text = f"{self.label} stopped answering at {at} ({self.timeouts} timeouts)"
        return text + (f"; last: {self.last}" if self.last else "")

    def check(self) -> None:
        if self.tripped:
            raise HostUnreachable(self.message())

    def timed_out(self, began: float, what: object = "") -> bool:
        """Count one timeout of a wait that began at ``began`` (wall clock); True if that opened the breaker."""
        with self._lock:
            if self.tripped:
                return True
            self.timeouts += 1
            self.since = began if self.since is None else min(self.since, began)
            self.last = str(what).split("\n", 1)[0][:300]
            if self.timeouts < self.TRIP_AFTER:
                return False
            self.tripped = True
        log.warning("%s", self.message())
        for fn in self.on_trip:
            try:
                fn()
            except Exception as exc:  # closing what waits on a dead host must never hide why
                log.debug("%s: on_trip %r failed: %s", self.label, fn, exc)
        return True

    def answered(self) -> None:
        with self._lock:
            if not self.tripped:
                self.timeouts, self.since, self.last = 0, None, ""
