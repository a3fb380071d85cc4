"""What a guest answers, whichever way it was asked: a command's ExecResult, a network Interface."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ExecResult:
    """Outcome of a command run in the guest. ``signal`` is set (and ``rc`` is 128+signal, as
    a shell reports it) when the command was killed by a signal."""

    rc: int
    stdout: str
    stderr: str
    signal: int | None = None

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Interface:
    """A guest network interface as the agent reports it; ``addresses`` are ``ip/prefix``."""

    name: str
    mac: str
    addresses: list[str] = field(default_factory=list)

    @property
    def ipv4(self) -> list[str]:
        return [a for a in self.addresses if ":" not in a]
