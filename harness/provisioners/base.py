"""The provisioner interface: one environment (a lab's hosts for one target) at a time."""

from __future__ import annotations

import abc

from harness.host import Host
from harness.lab import Lab


class Provisioner(abc.ABC):
    name: str

    @abc.abstractmethod
    def targets(self) -> list[str]:
        """The targets this provisioner grades or builds (student names, or ``validate``)."""

    @abc.abstractmethod
    def labs_for(self, target: str) -> list[str] | None:
        """The labs a target asks for, or None for all."""

    @abc.abstractmethod
    def create(self, lab: Lab, target: str) -> dict[str, Host]:
        """Make (or look up) the hosts of ``lab.topology`` for ``target``; retried by the caller."""

    @abc.abstractmethod
    def destroy(self, lab: Lab, target: str) -> None:
        """Remove what ``create`` made for that environment; a no-op for hosts it did not make."""

    @property
    def creates_hosts(self) -> bool:
        """True when hosts are made fresh (validate mode can run solutions on them)."""
        return True
