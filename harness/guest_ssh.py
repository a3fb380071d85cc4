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
   through the KVM host (see :func:`open_tunnel`); login with the credentials the inventory gives
   for that host's guests (:class:`GuestCredentials`, default ``root`` and the course password).

Outcomes (the grading model): a command that runs and exits non-zero is a normal result
(``rc != 0``: the check decides, usually FAIL). Only what stops us from looking is an ERROR,
raised as a :class:`harness.guest.GuestError` subclass naming which: :class:`GuestLoginRefused`
(the credential), :class:`GuestNoAddress` (no lease or ARP entry), :class:`GuestTransportError`
(tunnel, TCP or SSH handshake), :class:`harness.guest.ExecTimeout` (a command's deadline).
Secrets never appear in messages, logs or evidence.
"""

from __future__ import annotations

import ipaddress
import shlex
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.guest import (
    AGENT_CHANNEL,
    AgentUnavailable,
    ExecResult,
    ExecTimeout,
    GuestAgent,
    GuestError,
    Interface,
)

if TYPE_CHECKING:
    from harness.host import Host

#: The root password of the course's VMs. The notes type ``ssh root@192.168.122.60`` and answer
#: "root@...'s password:" (seed 000 L501-L507, L654, L1053...) but never print the password; the
#: anaconda screenshots are not in the notes either. So this is an assumption: "123456", the
#: password such courses set in anaconda; a trainer whose class used another one sets
#: ``guest_password`` (or ``guest_key_file``) on the KVM host in the inventory.
COURSE_ROOT_PASSWORD = "123456"
AGENT_PING_TIMEOUT = 2.0
MAX_OUTPUT = 1 << 20  # bytes kept of each of stdout/stderr

Transport = Literal["agent", "ssh"]


# ------------------------------------------------------------------------------------- errors
class GuestViewError(GuestError):
    """The guest's own view cannot be read (ERROR: never the student's fault by itself)."""


class GuestNoAddress(GuestViewError):
    """No agent, and the guest has no DHCP lease or ARP entry on its KVM host."""


class GuestLoginRefused(GuestViewError):
    """The guest's SSH server refused the inventory's credential."""


class GuestTransportError(GuestViewError):
    """The tunnel through the KVM host, the TCP connection or the SSH handshake failed."""


# -------------------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class GuestCredentials:
    """How to log in to a KVM host's guests over SSH. ``repr`` hides the password."""

    user: str = "root"
    password: str | None = COURSE_ROOT_PASSWORD
    key_file: str | None = None

    def __repr__(self) -> str:
        return f"GuestCredentials(user={self.user!r}, password={'***' if self.password else None}, key_file={self.key_file!r})"

    def describe(self) -> str:
        """What was offered, without the secret: "root's password", "root's key /path"."""
        parts = []
        if self.key_file:
            parts.append(f"key {self.key_file}")
        if self.password:
            parts.append("password")
        return f"{self.user}'s " + (" and ".join(parts) if parts else "(no credential)")


# ------------------------------------------------------------------------------ agent channel
def agent_channel_state(xml: str) -> str | None:
    """The agent channel of a live domain XML: None when there is none, else libvirt's
    ``state`` of it ('connected', 'disconnected', or '' when libvirt does not say)."""
    root = ET.fromstring(xml)
    for ch in root.iter("channel"):
        t = ch.find("target")
        if t is not None and t.get("name") == AGENT_CHANNEL:
            return t.get("state") or ""
    return None


# ----------------------------------------------------------------------------------- the view
class GuestView:
    """Run shell scripts in a running domain and read its own state, by agent or by SSH.

    ``host`` is the KVM host (a :class:`harness.host.Host`) whose libvirt runs the domain; its
    connection carries the SSH tunnel. ``credentials`` default to the host's inventory entry
    (``host.access.guest_credentials``), else root and :data:`COURSE_ROOT_PASSWORD`.
    """

    def __init__(self, host: Host, domain: Any, *, credentials: GuestCredentials | None = None,
                 connect_timeout: float = 10.0) -> None:
        self.host = host
        self.domain = domain
        self.name = _domain_name(domain)
        creds = credentials or getattr(getattr(host, "access", None), "guest_credentials", None)
        self.credentials = creds or GuestCredentials()
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

    def _ssh_session(self):
        if self._ssh is None:
            raise GuestTransportError(
                f"{self.name} on {getattr(self.host, 'name', '?')}: {self.why_not_agent}, and SSH to "
                "the guest is not available in this version: its own view cannot be read"
            )
        return self._ssh

    # -- commands ----------------------------------------------------------------------------
    def run(self, script: str, timeout: float = 30) -> ExecResult:
        """Run ``script`` with /bin/sh in the guest; rc/stdout/stderr as text.

        A non-zero exit is a result, not an exception; raises :class:`GuestViewError` (or
        :class:`harness.guest.ExecTimeout`) only when the guest cannot be asked."""
        if self.transport == "agent":
            assert self._agent is not None
            return self._agent.exec(["/bin/sh", "-c", script], timeout=timeout)
        return self._ssh_session().run(script, timeout=timeout)

    def close(self) -> None:
        if self._ssh is not None:
            self._ssh.close()
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
                out.append({"name": f[0], "mountpoint": _unoctal(f[1]), "type": f[2]})
        return out

    def hostname(self, timeout: float = 15.0) -> str:
        return self._must("cat /proc/sys/kernel/hostname", timeout).stdout.strip()

    def _must(self, script: str, timeout: float) -> ExecResult:
        res = self.run(script, timeout=timeout)
        if res.rc != 0:
            raise GuestViewError(f"{self.name}: `{script.splitlines()[0]}` exited {res.rc}: {res.stderr.strip()[:300]}")
        return res


# -------------------------------------------------------------------------------- parsing
#: MACs from sysfs (always there) and addresses from `ip -o addr` (CentOS 7 and busybox alike)
INTERFACES_SCRIPT = (
    'for d in /sys/class/net/*; do [ -e "$d/address" ] && echo "LINK ${d##*/} $(cat "$d/address")"; done; '
    "ip -o addr show"
)


def parse_interfaces(text: str) -> list[Interface]:
    """:data:`INTERFACES_SCRIPT`'s output as :class:`Interface` objects, in link order."""
    macs: dict[str, str] = {}
    addrs: dict[str, list[str]] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "LINK":
            macs[f[1]] = f[2].lower()
            addrs.setdefault(f[1], [])
        elif len(f) >= 4 and f[0].rstrip(":").isdigit() and f[2] in ("inet", "inet6"):
            name = f[1].split("@")[0]
            addrs.setdefault(name, []).append(f[3])
    return [Interface(n, macs.get(n, ""), a) for n, a in addrs.items()]


def count_cpu_list(text: str) -> int:
    """Size of a kernel CPU list such as ``0-1,3``."""
    n = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def _unoctal(s: str) -> str:
    return s.encode().decode("unicode_escape") if "\\" in s else s


def _domain_name(domain: Any) -> str:
    try:
        return str(domain.name())
    except Exception:
        return "?"
