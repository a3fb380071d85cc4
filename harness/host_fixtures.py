"""One fixture per host name of every lab's topology: ``docker01``, ``kvm01``, ``manager``...

A check asks for the host it reads by the name the course gives it (``def test_x(docker01)``).
The names come from the labs' declared topologies (``Lab.topology``), so a lab needs no
conftest.py of its own just to turn names into hosts.
"""

from __future__ import annotations

import pytest


def _host_fixture(name: str):
    @pytest.fixture(name=name)
    def host(hosts):
        return hosts[name]

    host.__doc__ = f"The lab's host {name!r} (from its topology)."
    return host


class HostFixtures:
    """A plugin object whose attributes are the host fixtures (pytest reads fixtures off plugins)."""

    def __init__(self, names):
        for name in sorted(set(names)):
            setattr(self, f"lh_host_{name}", _host_fixture(name))


def register(config: pytest.Config) -> None:
    from harness import catalog

    names = [spec.name for lab in catalog.all_labs().values() for spec in lab.topology]
    config.pluginmanager.register(HostFixtures(names), "labharness-host-fixtures")
