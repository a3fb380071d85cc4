"""Hosts that already exist (students' machines), named by an inventory. Nothing is created or changed.

One connection per host for the whole process: the ``Host`` handles are cached per (target,
host entry), so every lab of a student reuses the same SSH connection (and the same shell
session on it, see ``TimedParamikoBackend``). Before a lab's checks run, each host is reached
and the daemon its role promises is asked whether it answers (``docker version``, ``virsh uri``):
a host that is down or refuses the key makes that student's checks ERROR with the reason,
never FAIL, and the rest of the class is graded all the same. A host that answers with its
daemon stopped is the student's state: their checks FAIL with a hint to start it (see
``probe_daemon`` and docs/outcomes.md).
"""

from __future__ import annotations

import atexit
import dataclasses
import threading

from harness.hosts.local_backends import TimedLocalBackend
from harness.hosts.ssh_backend import TimedParamikoBackend
from harness.core.catalog import all_labs
from harness.core.errors import HarnessError, HostUnreachable, UsageError
from harness.hosts.host import Access, Host, Role
from harness.hosts.inventory import HostEntry, load_inventory
from harness.core.lab import Lab
from harness.provisioners.base import Provisioner
from harness.provisioners.container import host_from_container
from harness.provisioners.roles import DAEMON_PROBES
from harness.hosts.ssh_keys import HostKeyPolicy


class DaemonUnavailable(HostUnreachable):
    """The host answers, but the daemon its role needs (dockerd, libvirtd) does not."""


PROBE_TIMEOUT = 20.0
DOCKER_TCP = "tcp://127.0.0.1:2375"  # the notes' DK34: dockerd -H tcp://0.0.0.0:2375, no unix socket
DOCKER_TCP_PROBE = f"DOCKER_HOST={DOCKER_TCP} docker version >/dev/null"


def ssh_host(name: str, role: Role, entry: HostEntry, host_keys: HostKeyPolicy | None = None) -> Host:
    """A host reached over SSH; ``host.libvirt`` and ``host.docker`` go through the same connection."""
    backend = TimedParamikoBackend(
        entry.address, port=entry.port, user=entry.user, key_file=entry.key_file, password=entry.password,
        label=name, connect_timeout=entry.connect_timeout,
        host_keys=host_keys or HostKeyPolicy(entry.host_key_policy, entry.known_hosts),
    )
    access = Access(
        libvirt_uri=f"qemu+unix:///system?socket={backend.tunnel('libvirt')}",
        docker_url=f"unix://{backend.tunnel('docker')}",
        address=entry.address,
        **guest_access(entry),
    )
    return Host(name, role, backend, access, timeout=entry.timeout)


def guest_access(entry: HostEntry) -> dict[str, str | None]:
    """The inventory's credentials for a KVM host's VMs, as ``Access`` fields."""
    return {"guest_user": entry.guest_user, "guest_password": entry.guest_password,
            "guest_key_file": entry.guest_key_file}


def probe_daemon(host: Host) -> None:
    """Ask the daemon the host's role needs whether it answers, once per host and run.

    The first answer is the state the student left: a daemon that is down then is theirs to
    start (``host.daemon_down`` is set and their checks FAIL with it, see the plugin). A daemon
    that answered at the first probe and is down at a later one died during the run: that is a
    fault, ``DaemonUnavailable`` (ERROR). A host that does not answer at all (timeout, no
    connection) raises from ``host.run`` itself: ERROR.
    """
    probe = DAEMON_PROBES.get(getattr(host.role, "value", host.role))
    if probe is None:
        return
    daemon, command = probe
    res = host.run(command, timeout=PROBE_TIMEOUT)
    first = not host.daemon_probed
    host.daemon_probed = True
    if res.rc != 0 and daemon == "dockerd" and host.run(DOCKER_TCP_PROBE, timeout=PROBE_TIMEOUT).rc == 0:
        host.docker_host = DOCKER_TCP  # it answers, on TCP only (DK34 typed literally): read it there
        res = host.run("true", timeout=PROBE_TIMEOUT)
    if res.rc == 0:
        if host.daemon_down is not None:  # the student's daemon came up since: grade what is there now
            host.daemon_down = None
        return
    said = (res.stderr.strip() or res.stdout.strip()).splitlines()
    reason = f"{daemon} is not running on {host.name} (`{command}` exited {res.rc}" + (f": {said[-1][:300]}" if said else "") + ")"
    if first or host.daemon_down is not None:
        host.daemon_down = reason
        return
    raise DaemonUnavailable(f"{host.name}: {daemon} answered when grading started and stopped answering: {reason}")


def daemon_gone(host: Host) -> DaemonUnavailable | None:
    """After a check FAILed: the error to raise instead if the host's daemon answered when grading
    started and does not now (it died during the run: not the student's state). None otherwise,
    also for hosts never probed (validate mode) or whose daemon was already down."""
    probe = DAEMON_PROBES.get(getattr(host.role, "value", host.role))
    if probe is None or not host.daemon_probed or host.daemon_down is not None:
        return None
    daemon, command = probe
    if host.docker_host:
        command = f"DOCKER_HOST={host.docker_host} {command}"
    res = host.run(command, timeout=PROBE_TIMEOUT)
    if res.rc == 0:
        return None
    said = (res.stderr.strip() or res.stdout.strip()).splitlines()
    return DaemonUnavailable(f"{host.name}: {daemon} answered when grading started and stopped answering during "
                             f"this check (`{command}` exited {res.rc}" + (f": {said[-1][:200]}" if said else "") + ")")


class StaticProvisioner(Provisioner):
    name = "static"

    def __init__(self, inventory: str, run_id: str = "", host_key_policy: str | None = None,
                 known_hosts: str | None = None, **_: object):
        self.inventory = load_inventory(inventory, known_labs=all_labs())
        self.host_key_policy = host_key_policy  # the command line's, over the inventory's
        self.known_hosts = known_hosts
        self._hosts: dict[tuple, Host] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    creates_hosts = False

    @classmethod
    def check_options(cls, opt, mode: str) -> None:
        if not opt.lh_inventory:
            raise UsageError("--provisioner static needs --inventory FILE")
        if mode == "validate":
            raise UsageError("validate mode changes hosts; it cannot run on a static inventory (use --mode grade)")

    @classmethod
    def from_options(cls, opt, run_id: str) -> "StaticProvisioner":
        return cls(inventory=opt.lh_inventory, run_id=run_id, host_key_policy=opt.lh_host_key_policy,
                   known_hosts=opt.lh_known_hosts)

    def targets(self) -> list[str]:
        return [t.name for t in self.inventory.targets]

    def labs_for(self, target: str) -> list[str] | None:
        labs = self.inventory.target(target).labs
        return list(labs) if labs is not None else None

    def _policy(self, entry: HostEntry) -> HostKeyPolicy:
        return HostKeyPolicy(self.host_key_policy or entry.host_key_policy, self.known_hosts or entry.known_hosts)

    def host(self, target: str, name: str, role: Role, entry: HostEntry) -> Host:
        """The cached handle of one of a target's hosts (made on first use, connected lazily)."""
        key = (target, name, role, entry)
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                if entry.local:
                    host = Host(name, role, TimedLocalBackend(), Access(address="127.0.0.1"), timeout=entry.timeout)
                elif entry.container:
                    host = host_from_container(name, role, entry.container)
                    host.access = dataclasses.replace(host.access, **guest_access(entry))
                else:
                    host = ssh_host(name, role, entry, self._policy(entry))
                self._hosts[key] = host
            return host

    def create(self, lab: Lab, target: str) -> dict[str, Host]:
        entry = self.inventory.target(target)
        lab_hosts = entry.hosts_for(lab.name)
        missing = [h.name for h in lab.topology if h.name not in lab_hosts]
        if missing:
            raise HarnessError(f"the inventory gives target {target!r} no host {', '.join(missing)} (lab {lab.name} needs it)")
        hosts = {}
        for spec in lab.topology:
            he = lab_hosts[spec.name]
            host = self.host(target, spec.name, spec.role, he)
            host.connect()  # the reason (refused, no route, key refused, host key changed) as it is
            if not he.local:
                probe_daemon(host)
            hosts[spec.name] = host
        return hosts

    def destroy(self, lab: Lab, target: str) -> None:
        """Students' hosts are never changed or removed."""

    def close(self) -> None:
        with self._lock:
            hosts, self._hosts = list(self._hosts.values()), {}
        for host in hosts:
            host.disconnect()
