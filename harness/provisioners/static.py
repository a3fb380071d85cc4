"""Hosts that already exist (students' machines), named by an inventory. Nothing is created."""

from __future__ import annotations

import urllib.parse

from harness.backends import TimedLocalBackend, TimedParamikoBackend
from harness.catalog import all_labs
from harness.errors import HarnessError
from harness.host import Access, Host
from harness.inventory import HostEntry, load_inventory
from harness.lab import Lab
from harness.provisioners.base import Provisioner
from harness.provisioners.container import host_from_container


def ssh_host(name: str, role, entry: HostEntry) -> Host:
    spec = f"{entry.user}@{entry.address}:{entry.port}"
    backend = TimedParamikoBackend(spec, ssh_identity_file=entry.key_file, timeout=int(entry.timeout))
    if entry.password:
        backend.host.password = entry.password  # not in the spec string: it would show in ids and logs
    query = {"no_tty": "1"}
    if entry.key_file:
        query["keyfile"] = entry.key_file
    netloc = f"{urllib.parse.quote(entry.user)}@{entry.address}:{entry.port}"
    access = Access(
        libvirt_uri=f"qemu+ssh://{netloc}/system?{urllib.parse.urlencode(query)}",
        docker_url=f"ssh://{netloc}",
        address=entry.address,
    )
    return Host(name, role, backend, access, timeout=entry.timeout)


class StaticProvisioner(Provisioner):
    name = "static"

    def __init__(self, inventory: str, run_id: str = "", **_: object):
        self.inventory = load_inventory(inventory, known_labs=list(all_labs()))

    @property
    def creates_hosts(self) -> bool:
        return False

    def targets(self) -> list[str]:
        return [t.name for t in self.inventory.targets]

    def labs_for(self, target: str) -> list[str] | None:
        labs = self.inventory.target(target).labs
        return list(labs) if labs is not None else None

    def create(self, lab: Lab, target: str) -> dict[str, Host]:
        entry = self.inventory.target(target)
        missing = [h.name for h in lab.topology if h.name not in entry.hosts]
        if missing:
            raise HarnessError(f"the inventory gives target {target!r} no host {', '.join(missing)} (lab {lab.name} needs it)")
        hosts = {}
        for spec in lab.topology:
            he = entry.hosts[spec.name]
            if he.local:
                hosts[spec.name] = Host(spec.name, spec.role, TimedLocalBackend(), Access(address="127.0.0.1"), timeout=he.timeout)
            elif he.container:
                hosts[spec.name] = host_from_container(spec.name, spec.role, he.container)
            else:
                hosts[spec.name] = ssh_host(spec.name, spec.role, he)
        return hosts

    def destroy(self, lab: Lab, target: str) -> None:
        """Students' hosts are never changed or removed."""
