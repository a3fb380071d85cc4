"""The guest's own view, whichever way in works: qemu-guest-agent when it answers, else SSH
to the guest through its KVM host's connection.

A check asks ``GuestView.run("shell script")`` and reads ``.rc .stdout .stderr``; it never has
to know whether the VM runs an agent. The course's CentOS VMs run none (the notes `ssh root@`
into them), the harness's own lab guest runs both an agent and an SSH server (dropbear).

Choosing the way in (``GuestView.transport``, decided once per view, on first use):

1. The live domain XML has the ``org.qemu.guest_agent.0`` channel and libvirt does not mark it
   ``state='disconnected'`` (libvirt knows at once when nothing listens in the guest), and
   ``guest-ping`` answers within ``AGENT_PING_TIMEOUT`` (2 s): the agent.
2. Otherwise SSH: the guest's IPv4 address from its DHCP lease (``virsh domifaddr --source
   lease``), then the KVM host's ARP table (``--source arp``); an SSH session to port 22 tunneled
   through the KVM host (see :func:`harness.kvm.guest_tunnel.open_tunnel`); login with the credentials the inventory gives
   for that host's guests (:class:`harness.kvm.guest_ssh.GuestCredentials`, default ``root`` and the course password).

Outcomes (the grading model): a command that runs and exits non-zero is a normal result
(``rc != 0``: the check decides, usually FAIL). Only what stops us from looking is an ERROR,
raised as a :class:`harness.kvm.errors.GuestError` subclass naming which: :class:`GuestLoginRefused`
(the credential), :class:`GuestNoAddress` (no lease or ARP entry), :class:`GuestTransportError`
(tunnel, TCP or SSH handshake), :class:`ExecTimeout` (a command's deadline); all in
``harness.kvm.errors``.
Secrets never appear in messages, logs or evidence.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

from harness.kvm.agent import GuestAgent, agent_channel_state
from harness.kvm.domain_info import domain_name
from harness.kvm.errors import GuestError, GuestTransportError, GuestViewError
from harness.kvm.guest_parse import INTERFACES_SCRIPT, count_cpu_list, parse_interfaces, unoctal
from harness.kvm.guest_ssh import GuestCredentials, GuestSSH, open_session
from harness.kvm.results import ExecResult, Interface

if TYPE_CHECKING:
    from harness.hosts.host import Host

AGENT_PING_TIMEOUT = 2.0

Transport = Literal["agent", "ssh"]


class GuestView:
    """Run shell scripts in a running domain and read its own state, by agent or by SSH.

    ``host`` is the KVM host (a :class:`harness.hosts.host.Host`) whose libvirt runs the domain; its
    connection carries the SSH tunnel. ``credentials`` default to the host's inventory entry
    (``host.access.guest_user/guest_password/guest_key_file``), else root and
    :data:`harness.kvm.guest_ssh.COURSE_ROOT_PASSWORD`.
    """

    def __init__(self, host: Host, domain: Any, *, credentials: GuestCredentials | None = None,
                 connect_timeout: float = 10.0) -> None:
        self.host = host
        self.domain = domain
        self.name = domain_name(domain)
        self.credentials = credentials or GuestCredentials.for_host(host)
        self.connect_timeout = connect_timeout
        self._transport: Transport | None = None
        self._agent: GuestAgent | None = None
        self._ssh: Any = None  # GuestSSH, once opened
        self.why_not_agent = ""  # why the agent was not used (for evidence and error messages)
        self.detect_seconds = 0.0  # how long choosing the way in took

    def __repr__(self) -> str:
        return f"<GuestView {self.name} on {getattr(self.host, 'name', '?')} via {self._transport or 'undecided'}>"

    # -- the way in --------------------------------------------------------------------------
    @property
    def transport(self) -> Transport:
        """'agent' or 'ssh', decided on first use (see the module docstring)."""
        if self._transport is None:
            t0 = time.monotonic()
            self._agent = self._try_agent()
            self._transport = "agent" if self._agent is not None else "ssh"
            self.detect_seconds = time.monotonic() - t0
        return self._transport

    def _try_agent(self) -> GuestAgent | None:
        state = agent_channel_state(self.domain.XMLDesc(0))
        if state is None:
            self.why_not_agent = "no guest agent channel"
            return None
        if state == "disconnected":
            self.why_not_agent = "guest agent not connected"
            return None
        agent = GuestAgent(self.domain)
        try:
            agent.ping(timeout=AGENT_PING_TIMEOUT)
        except GuestError as exc:
            self.why_not_agent = f"guest agent did not answer within {AGENT_PING_TIMEOUT:g}s ({exc})"
            return None
        return agent

    @property
    def agent(self) -> GuestAgent | None:
        """The agent, when that is the way in (None over SSH)."""
        return self._agent if self.transport == "agent" else None

    def _ssh_session(self) -> GuestSSH:
        """The SSH session to the guest through its KVM host (opened, or reused from the host's
        cache of sessions, on first use)."""
        if self._ssh is not None and self._ssh.active:
            return self._ssh
        self._ssh = open_session(self.host, self.domain, self.credentials, self.connect_timeout,
                                 why_not_agent=self.why_not_agent)
        return self._ssh

    # -- commands ----------------------------------------------------------------------------
    def run(self, script: str, timeout: float = 30) -> ExecResult:
        """Run ``script`` with /bin/sh in the guest; rc/stdout/stderr as text.

        A non-zero exit is a result, not an exception; raises :class:`GuestViewError` (or
        :class:`harness.kvm.errors.ExecTimeout`) only when the guest cannot be asked."""
        if self.transport == "agent":
            assert self._agent is not None
            return self._agent.exec(["/bin/sh", "-c", script], timeout=timeout)
        session = self._ssh_session()
        try:
            return session.run(script, timeout=timeout)
        except GuestTransportError:
            if session.fresh:
                raise
            # a cached connection that died (guest rebooted, host reconnected): open it again, once
            session.close()
            self._ssh = None
            return self._ssh_session().run(script, timeout=timeout)

    @property
    def address(self) -> str | None:
        """The guest address SSH uses (None over the agent, or before first use)."""
        return self._ssh.address if self._ssh is not None else None

    def close(self) -> None:
        """Forget this view's SSH session (it stays in the host's cache until ``host.close()``)."""
        self._ssh = None

    # -- what checks used to ask the agent, by shell commands over any transport -------------
    def interfaces(self, timeout: float = 15.0) -> list[Interface]:
        """The guest's network interfaces (lo included), MACs and ``ip/prefix`` addresses."""
        res = self._must(INTERFACES_SCRIPT, timeout)
        return parse_interfaces(res.stdout)

    def vcpus_online(self, timeout: float = 15.0) -> int:
        """How many CPUs the guest kernel has online (/sys/devices/system/cpu/online)."""
        return count_cpu_list(self._must("cat /sys/devices/system/cpu/online", timeout).stdout)

    def fsinfo(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Mounted filesystems as ``{"name": device, "mountpoint", "type"}`` (from /proc/mounts;
        a subset of guest-get-fsinfo's keys: there is no disk/bus detail without the agent)."""
        out = []
        for line in self._must("cat /proc/mounts", timeout).stdout.splitlines():
            f = line.split()
            if len(f) >= 3:
                out.append({"name": f[0], "mountpoint": unoctal(f[1]), "type": f[2]})
        return out

    def hostname(self, timeout: float = 15.0) -> str:
        return self._must("cat /proc/sys/kernel/hostname", timeout).stdout.strip()

    def _must(self, script: str, timeout: float) -> ExecResult:
        res = self.run(script, timeout=timeout)
        if res.rc != 0:
            raise GuestViewError(f"{self.name}: `{script.splitlines()[0]}` exited {res.rc}: {res.stderr.strip()[:300]}")
        return res
