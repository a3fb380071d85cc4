"""Running a command line on this machine with a deadline: on it, the command's whole process group is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from testinfra.backend import base

from harness.core.errors import CommandTimeout
from harness.hosts.output import Capped

DEFAULT_TIMEOUT = 60.0  # seconds, for a command run with no deadline of its own (every backend)


def _drain(fd: int, buf: Capped) -> None:
    try:
        while chunk := os.read(fd, 65536):
            buf.feed(chunk)
    except OSError:
        pass


def run_with_deadline(backend: base.BaseBackend, host: str, argv_shell: str, timeout: float) -> tuple[int, bytes, bytes]:
    """Run a local shell command line; on the deadline kill its whole process group.

    Each stream keeps at most ``OUTPUT_CAP`` bytes (the rest is read and dropped, so the command
    never blocks on a full pipe), marked as cut.
    """
    p = subprocess.Popen(
        argv_shell,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    out, err = Capped(), Capped()
    readers = [threading.Thread(target=_drain, args=(p.stdout.fileno(), out), daemon=True),
               threading.Thread(target=_drain, args=(p.stderr.fileno(), err), daemon=True)]
    for t in readers:
        t.start()
    deadline = time.monotonic() + timeout
    try:
        p.wait(timeout=timeout)
        for t in readers:  # a background child may still hold the pipes: it has until the deadline
            t.join(max(0.0, deadline - time.monotonic()))
        late = any(t.is_alive() for t in readers)
    except subprocess.TimeoutExpired:
        late = True
    try:
        if late:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            for t in readers:
                t.join(5)
            raise CommandTimeout(host, argv_shell, timeout, backend.decode(out.value()), backend.decode(err.value()))
    finally:
        if not any(t.is_alive() for t in readers):
            p.stdout.close()
            p.stderr.close()
    return p.returncode, out.value(), err.value()
