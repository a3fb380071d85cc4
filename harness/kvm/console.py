"""The lab guest's serial console log: waiting for the line that says how far its boot got."""

from __future__ import annotations

import os
import re
import time

from harness.kvm.errors import GuestError

UP_MARKER = "LABGUEST up"


def wait_for_console(
    log_path: str | os.PathLike[str], pattern: str = UP_MARKER, timeout: float = 60.0, *, start: int = 0
) -> str:
    """Wait until a line of the serial log (``domain_xml(serial_log=...)``) matches the regex
    ``pattern``, and return that line. ``start`` skips that many bytes (an earlier boot).

    The console is how the guest reports boot progress before the agent exists, so a timeout
    here quotes the log's tail: it shows where the boot stopped.
    """
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    interval = 0.05
    while True:
        text = ""
        try:
            with open(log_path, "rb") as f:
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            pass
        for line in text.splitlines():
            if rx.search(line):
                return line.strip()
        if time.monotonic() >= deadline:
            tail = _printable(text)[-600:] or "(empty or missing)"
            raise GuestError(
                f"no console line matching /{pattern}/ in {log_path} within {timeout:g}s; log tail: {tail}"
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def _printable(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc|[\x00-\x08\x0b-\x1f]", "", text)
