"""Deadlines on an SSH session (channel): paramiko waits for the host's replies without one."""

from __future__ import annotations

import contextlib
import threading
import time

import paramiko

from harness.core.errors import HostUnreachable


class ChannelTimeout(HostUnreachable):
    """The host did not open a session on its connection in time (frozen, paused, overloaded)."""


class RequestTimeout(TimeoutError):
    """The host did not answer a request on an open session (exec) in time."""


def exec_with_deadline(chan: paramiko.Channel, command: str | bytes, timeout: float) -> None:
    """``chan.exec_command`` with a deadline: paramiko waits for the host's reply without one (a paused
    host would hold the caller forever). On the deadline the session is closed and ``RequestTimeout`` raised."""
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            state["fired"] = True
        with contextlib.suppress(Exception):
            chan.close()

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    try:
        chan.exec_command(command)
    except (paramiko.SSHException, EOFError, OSError):
        with lock:
            state["done"] = True
        if state["fired"]:
            raise RequestTimeout(f"the host did not start the command within {timeout:g}s") from None
        raise
    finally:
        timer.cancel()
    with lock:
        state["done"] = True
    if state["fired"]:
        raise RequestTimeout(f"the host did not start the command within {timeout:g}s")


def wait_exit_status(chan: paramiko.Channel, timeout: float) -> int | None:
    """``recv_exit_status`` with a deadline (paramiko's has none): the status, or None if none came in time.
    Output still arriving is read and dropped, so a full window never blocks the status."""
    deadline = time.monotonic() + timeout
    while not chan.exit_status_ready():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or chan.closed:
            return chan.exit_status if chan.exit_status_ready() else None
        with contextlib.suppress(Exception):
            while chan.recv_ready():
                chan.recv(65536)
            while chan.recv_stderr_ready():
                chan.recv_stderr(65536)
        chan.status_event.wait(min(remaining, 0.2))
    return chan.exit_status
