"""What is kept of a command's output: at most 1 MiB per stream, marked where cut, and a copy as evidence."""

from __future__ import annotations

from testinfra.backend import base

from harness.core import evidence

OUTPUT_CAP = 1 << 20  # bytes kept per stream of one command (stdout, stderr)
CUT_NOTE = b"\n[... output cut at 1 MiB]\n"


class Capped:
    """At most ``cap`` bytes of a stream; the rest is read and dropped, and the cut is marked."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.buf = bytearray()
        self.cap = cap
        self.cut = False

    def feed(self, data: bytes) -> None:
        room = self.cap - len(self.buf)
        if room > 0:
            self.buf += data[:room]
        if len(data) > max(room, 0):
            self.cut = True

    def value(self) -> bytes:
        return bytes(self.buf) + (CUT_NOTE if self.cut else b"")


def capped(buf: bytearray | bytes, cap: int = OUTPUT_CAP) -> bytes:
    return bytes(buf[:cap]) + CUT_NOTE if len(buf) > cap else bytes(buf)


def recorded(backend: base.BaseBackend, host: str, command: str, result: base.CommandResult) -> base.CommandResult:
    """Every command a check runs (testinfra modules included) becomes evidence of that check."""
    evidence.command(host, command, result.rc, result.stdout, result.stderr)
    return result
