"""One ``/bin/sh`` session on an SSH host that runs the harness's commands one after another."""

from __future__ import annotations

import re
import secrets
import select
import shlex
import socket
import time

import paramiko

from harness.hosts.output import OUTPUT_CAP, capped
from harness.hosts.ssh_channel import exec_with_deadline

_KEEP = 4096  # tail kept past the cap while a shell command runs: its end-of-command markers are there


class ShellBroken(Exception):
    """The shell session stopped following the protocol (exited, or the channel closed)."""


class ShellTimeout(Exception):
    """The command ran past its deadline: its pid, if it was reported (to kill it), and its output so far."""

    def __init__(self, pid: int | None, out: bytes, err: bytes):
        super().__init__("deadline")
        self.pid, self.out, self.err = pid, out, err


class Shell:
    """One ``/bin/sh`` session on the host that runs every command of the harness in turn.

    Opening an SSH session costs the host a fork, a PAM session and a login shell (~45 ms on the
    course's hosts); a command in an open session costs a fork (~4 ms). Each command runs as
    ``( eval 'COMMAND' ) </dev/null &`` — a subshell, so ``cd``/``export`` never leak into the
    next one, stdin closed, its pid reported so a deadline can kill it — then the shell prints
    the exit status after a marker with a random nonce on stdout and another on stderr. Output
    is kept byte for byte: the markers are cut out, never parsed out of the command's output.
    Commands run under ``/bin/sh``, as they do on container hosts (``docker exec ... /bin/sh -c``).
    """

    def __init__(self, chan: paramiko.Channel, deadline: float):
        self.chan = chan
        n = secrets.token_hex(8)
        self._pid_re = re.compile(rf"__LH{n}_P(\d+)__\n".encode())
        self._rc_re = re.compile(rf"__LH{n}_R(\d+)__\Z".encode())
        self._end = f"__LH{n}_E__".encode()
        self._tail = (f" ) </dev/null & p=$!; printf '__LH{n}_P%s__\\n' \"$p\"; wait \"$p\"; "
                      f"printf '__LH{n}_R%s__' \"$?\"; printf '__LH{n}_E__' >&2\n")
        exec_with_deadline(chan, "exec /bin/sh", max(0.1, deadline - time.monotonic()))

    def sync(self, deadline: float) -> None:
        """Run nothing once and drop what came before it (a login script that prints on a
        non-interactive login would otherwise prefix the first command's output)."""
        self.run("true", deadline)

    def run(self, command: str, deadline: float) -> tuple[int, bytes, bytes]:
        chan = self.chan
        chan.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chan.sendall(("( eval " + shlex.quote(command) + self._tail).encode("utf-8", "surrogateescape"))
        except socket.timeout:
            raise ShellTimeout(None, b"", b"") from None
        except (OSError, paramiko.SSHException) as exc:
            raise ShellBroken(str(exc)) from exc
        # Each stream keeps OUTPUT_CAP bytes and a short tail past it (where the markers arrive);
        # the middle is dropped as it comes, so a command printing gigabytes costs no memory.
        out, err = bytearray(), bytearray()
        scan = 0  # where the search for the pid marker goes on
        pid: int | None = None
        rc: int | None = None
        ended = False
        while rc is None or not ended:
            if not (chan.recv_ready() or chan.recv_stderr_ready()):
                if chan.closed or chan.eof_received or chan.exit_status_ready():
                    raise ShellBroken("the shell session ended")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ShellTimeout(pid, capped(out), capped(err))
                select.select([chan], [], [], min(remaining, 1.0))
            while chan.recv_ready():
                out += chan.recv(65536)
                if pid is None and (m := self._pid_re.search(out, scan)):
                    pid = int(m.group(1))
                    del out[m.start():m.end()]
                if pid is not None and rc is None and (m := self._rc_re.search(out, max(0, len(out) - 64))):
                    rc = int(m.group(1))
                    del out[m.start():]
                if len(out) > OUTPUT_CAP + 2 * _KEEP:
                    del out[OUTPUT_CAP:len(out) - _KEEP]
                scan = max(0, len(out) - 64)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                if len(err) > OUTPUT_CAP + 2 * _KEEP:
                    del err[OUTPUT_CAP:len(err) - _KEEP]
            if not ended and err.endswith(self._end):
                ended = True
                del err[-len(self._end):]
        return rc, capped(out), capped(err)

    def close(self) -> None:
        try:
            self.chan.close()
        except Exception:
            pass
