"""The provisioner interface: everything the plugin asks of whoever makes (or looks up) the hosts.

The plugin never names a provisioner: it asks the class which mode a run takes by default,
whether it makes hosts, how xdist should group work, what the report should name, and asks the
instance for its targets and its guests' accelerator. (Reaping is ``harness/provisioners/reap.py``, above the
provisioners: it knows every kind of leftover.) A new
provisioner is one module here and one line in ``harness/provisioners/__init__.py``.
"""

from __future__ import annotations

import abc
from typing import Any

from harness.hosts.host import Host
from harness.core.lab import Lab


class Provisioner(abc.ABC):
    name: str
    #: True when hosts are made fresh (validate mode runs solutions on them); False for hosts
    #: that already exist (students' machines: grade mode only, nothing is changed or removed)
    creates_hosts: bool = True

    # ---------------------------------------------------------------- the class: before any host

    @classmethod
    def default_mode(cls) -> str:
        return "validate" if cls.creates_hosts else "grade"

    @classmethod
    def group_by_target(cls) -> bool:
        """xdist: one target's labs on one worker (existing hosts: its connections stay there), or
        one (lab, target) environment per group (made hosts)."""
        return not cls.creates_hosts

    @classmethod
    def check_options(cls, opt: Any, mode: str) -> None:
        """Raise UsageError for options this provisioner cannot run with (one line for the user)."""

    @classmethod
    def describe_options(cls, opt: Any) -> dict[str, str]:
        """What the report's environment section should name about this run (e.g. the host image)."""
        return {}

    @classmethod
    @abc.abstractmethod
    def from_options(cls, opt: Any, run_id: str) -> "Provisioner":
        """The provisioner for a pytest run's options (``--inventory``, ``--host-image``...)."""

    # ---------------------------------------------------------------- the instance

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
    def guest_accel(self) -> tuple[str, str]:
        """("kvm" | "tcg", why) for lab guests on the kvm-hosts it makes; ("", why) when not its call."""
        return "", "existing hosts: their own accelerator"
