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


def register(config: pytest.Config) -> None:
    """Register a module of host fixtures (pytest reads fixtures off plugin modules; off an object
    it reads only its class, so a module is the simple holder for names known at run time)."""
    import types

    from harness.core import catalog

    holder = types.ModuleType("labharness_host_fixtures", "host fixtures from the labs' topologies")
    for name in sorted({spec.name for lab in catalog.all_labs().values() for spec in lab.topology}):
        setattr(holder, f"lh_host_{name}", _host_fixture(name))
    config.pluginmanager.register(holder, "labharness-host-fixtures")
