"""The demo's own small Docker networks, and an address on them where nothing answers."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import subprocess
import threading

from harness.core.errors import UsageError
from harness.core.runs import LABEL_RUN, NAME_PREFIX
from harness.hosts.host import Host

SUBNETS = os.environ.get("LABHARNESS_DEMO_SUBNETS", "10.214.0.0/16")  # where the demo's networks go
SUBNET_PREFIX = 26  # 62 addresses: plenty for one lab's hosts
_SUBNET_LOCK = threading.Lock()


def _used_subnets(client) -> list:
    used = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(KeyError, ValueError):
                used.append(ipaddress.ip_network(cfg["Subnet"]))
    for line in subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.splitlines():
        with contextlib.suppress(ValueError, IndexError):
            used.append(ipaddress.ip_network(line.split()[0]))
    return used


class SmallNetworks:
    """``client.networks`` whose ``create`` gives each network a /26 of ``SUBNETS``.

    The container provisioner lets Docker pick a subnet, and Docker's default pools hold about
    thirty networks (a /16 or /20 each) for the whole machine: a class on every lab needs more
    than that (one network per lab and state), and would starve every other run. Small subnets
    from a range of their own keep the demo to itself.
    """

    def __init__(self, client):
        self._client = client
        self._networks = client.networks

    def __getattr__(self, name):
        return getattr(self._networks, name)

    def create(self, name, **kwargs):
        import docker.errors
        import docker.types

        if "ipam" in kwargs:
            return self._networks.create(name, **kwargs)
        with _SUBNET_LOCK:
            used = _used_subnets(self._client)
            for subnet in ipaddress.ip_network(SUBNETS).subnets(new_prefix=SUBNET_PREFIX):
                if any(subnet.overlaps(u) for u in used if u.prefixlen > 0):
                    continue
                pool = docker.types.IPAMPool(subnet=str(subnet))
                try:
                    return self._networks.create(name, ipam=docker.types.IPAMConfig(pool_configs=[pool]), **kwargs)
                except docker.errors.APIError as exc:
                    if "overlap" not in str(exc).lower():
                        raise
                    used.append(subnet)  # taken meanwhile by another process: the next one
        raise UsageError(f"demo-class: no free /{SUBNET_PREFIX} left in {SUBNETS} (LABHARNESS_DEMO_SUBNETS)")


class _DemoClient:
    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    @property
    def networks(self):
        return SmallNetworks(self._client)


def demo_provisioner(run_id: str):
    """The container provisioner, with the demo's small networks."""
    from harness.provisioners.container import ContainerProvisioner

    prov = ContainerProvisioner(run_id=run_id)
    prov.client = _DemoClient(prov.client)
    return prov


def void_address(hosts: list[Host], run_id: str) -> str:
    """An address on one of the demo's own Docker networks that no container uses (a network of
    its own, labelled with the run id, when the class has no prepared hosts at all)."""
    from harness.provisioners.container import docker_client

    client = docker_client()
    for h in hosts:
        name = h.access.container
        if not name:
            continue
        c = client.containers.get(name)
        for net in c.attrs["NetworkSettings"]["Networks"].values():
            if net.get("IPAddress") and net.get("IPPrefixLen"):
                network = ipaddress.ip_interface(f"{net['IPAddress']}/{net['IPPrefixLen']}").network
                return str(network.broadcast_address - 6)
    net = SmallNetworks(client).create(f"{NAME_PREFIX}{run_id}-void", driver="bridge", labels={LABEL_RUN: run_id})
    net.reload()
    subnet = net.attrs["IPAM"]["Config"][0]["Subnet"]
    return str(ipaddress.ip_network(subnet).broadcast_address - 6)
