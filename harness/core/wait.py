"""Bounded waits that say what they last saw.

No fixed sleeps anywhere in the harness: every wait is ``wait_until`` with a deadline, and
when the deadline passes the error names what was awaited and the last state observed
(the moby ``poll.Continue(reason)`` idiom), so a red CI run explains itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from harness.core.errors import WaitTimeout

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    max_interval: float = 2.0,
    state: Callable[[], object] | None = None,
    fatal: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``probe`` until it returns something truthy, and return that.

    ``probe`` may raise: the exception counts as "not yet" and becomes the last state seen.
    Exceptions of a ``fatal`` type end the wait at once (e.g. the container died).
    ``state`` (optional) is called once on timeout to describe the situation better than
    the probe's last return value (e.g. a container's status and log tail).
    The interval grows by half each round up to ``max_interval``.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
        except fatal:
            raise
        except Exception as exc:  # a probe failing is a state, not an outcome
            last = f"{type(exc).__name__}: {exc}"
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            seen = last
            if state is not None:
                try:
                    seen = state()
                except Exception as exc:
                    seen = f"{last!r}; and describing the state failed: {exc}"
            raise WaitTimeout(f"{what}: not reached within {timeout:g}s; last state seen: {seen}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 1.5, max_interval)
