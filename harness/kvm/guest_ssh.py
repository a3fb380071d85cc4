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
raised as a :class:`harness.kvm.guest.GuestError` subclass naming which: :class:`GuestLoginRefused`
(the credential), :class:`GuestNoAddress` (no lease or ARP entry), :class:`GuestTransportError`
(tunnel, TCP or SSH handshake), :class:`harness.kvm.guest.ExecTimeout` (a command's deadline).
Secrets never appear in messages, logs or evidence.
"""

from __future__ import annotations

import ipaddress
import os
import select
import shlex
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from harness.kvm.guest import (
    AGENT_CHANNEL,
    AgentUnavailable,
    ExecResult,
    ExecTimeout,
    GuestAgent,
    GuestError,
    Interface,
)

if TYPE_CHECKING:
    from harness.hosts.host import Host

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

    @classmethod
    def for_host(cls, host: Any) -> GuestCredentials:
        """The inventory's credentials for ``host``'s guests (``Access.guest_user`` & co.), the
        defaults where it gives none. A key alone means no password is tried."""
        access = getattr(host, "access", None)
        user = getattr(access, "guest_user", None) or "root"
        password = getattr(access, "guest_password", None)
        key = getattr(access, "guest_key_file", None)
        if password is None and key is None:
            password = COURSE_ROOT_PASSWORD
        return cls(user, password, key)

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

    ``host`` is the KVM host (a :class:`harness.hosts.host.Host`) whose libvirt runs the domain; its
    connection carries the SSH tunnel. ``credentials`` default to the host's inventory entry
    (``host.access.guest_user/guest_password/guest_key_file``), else root and
    :data:`COURSE_ROOT_PASSWORD`.
    """

    def __init__(self, host: Host, domain: Any, *, credentials: GuestCredentials | None = None,
                 connect_timeout: float = 10.0) -> None:
        self.host = host
        self.domain = domain
        self.name = _domain_name(domain)
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
        :class:`harness.kvm.guest.ExecTimeout`) only when the guest cannot be asked."""
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


# ------------------------------------------------------------------------- the guest's address
def domain_nics(xml: str) -> list[tuple[str, str, str]]:
    """(mac, kind, source) of each NIC of a domain XML, in order: kind 'network' (source = the
    libvirt network) or 'bridge' (source = the bridge), else the XML's type and ''."""
    out = []
    for iface in ET.fromstring(xml).iter("interface"):
        mac = iface.find("mac")
        src = iface.find("source")
        kind = iface.get("type", "")
        source = ""
        if src is not None:
            source = src.get("network") or src.get("bridge") or src.get("dev") or ""
        out.append(((mac.get("address") or "").lower() if mac is not None else "", kind, source))
    return out


def lease_addresses(ifaddrs: dict[str, Any] | None, macs: list[str]) -> list[str]:
    """IPv4 addresses of ``dom.interfaceAddresses(source)`` (lease or ARP), in NIC order."""
    found: list[tuple[int, str]] = []
    for iface in (ifaddrs or {}).values():
        mac = (iface.get("hwaddr") or "").lower()
        rank = macs.index(mac) if mac in macs else len(macs)
        for a in iface.get("addrs") or []:
            if a.get("type", 0) == 0 and a.get("addr"):  # VIR_IP_ADDR_TYPE_IPV4
                found.append((rank, a["addr"]))
    return [a for _, a in sorted(found, key=lambda x: x[0])]


def arp_addresses(text: str, macs: list[str]) -> list[str]:
    """IPv4 addresses of the guest's MACs in the KVM host's ARP table (``/proc/net/arp``: IP,
    HW type, flags, MAC, mask, device; flags 0x0 = incomplete), in NIC order."""
    found: list[tuple[int, str]] = []
    for line in text.splitlines()[1:]:
        f = line.split()
        if len(f) < 6 or f[3].lower() not in macs or f[2] == "0x0":
            continue
        try:
            ipaddress.IPv4Address(f[0])
        except ValueError:
            continue
        found.append((macs.index(f[3].lower()), f[0]))
    return [a for _, a in sorted(found, key=lambda x: x[0])]


def dedup(items: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def lease_lookup(domain: Any, macs: list[str]) -> tuple[list[str], str]:
    """IPv4 addresses the domain's libvirt networks leased to it (``virsh domifaddr --source
    lease``), and what was seen (for messages)."""
    import libvirt

    try:
        found = lease_addresses(domain.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0), macs)
    except libvirt.libvirtError as exc:
        return [], f"leases: {exc.get_error_message()}"
    return found, f"leases: {', '.join(found) or 'none'}"


def arp_lookup(host: Host, macs: list[str]) -> tuple[list[str], str]:
    """IPv4 addresses of the domain's MACs in the KVM host's ARP table (``virsh domifaddr
    --source arp`` reads the same table; /proc/net/arp works with any libvirt version)."""
    res = host.run("cat /proc/net/arp", timeout=15)
    if res.rc != 0:
        return [], f"ARP: unreadable ({res.stderr.strip()[:100]})"
    found = arp_addresses(res.stdout, macs)
    return found, f"ARP: {', '.join(found) or 'none'}"


# ------------------------------------------------------------------------------ the tunnel
#: A TCP relay from stdin/stdout to $1:$2 with what a student's KVM host surely has (for hosts
#: whose sshd refuses direct-tcpip forwarding): socat, nc, python3/python, else bash's /dev/tcp.
RELAY_SCRIPT = r"""h=$1 p=$2
if command -v socat >/dev/null 2>&1; then exec socat - "TCP:$h:$p,connect-timeout=8"; fi
if command -v python3 >/dev/null 2>&1; then py=python3; elif command -v python >/dev/null 2>&1; then py=python; else py=; fi
if [ -n "$py" ]; then exec $py -c '
import os, select, socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 8)
except Exception as e:
    sys.stderr.write("relay: connect %s:%s: %s\n" % (sys.argv[1], sys.argv[2], e)); sys.exit(2)
s.settimeout(None)
while True:
    r = select.select([0, s], [], [])[0]
    if 0 in r:
        d = os.read(0, 65536)
        if not d: s.shutdown(socket.SHUT_WR); break
        s.sendall(d)
    if s in r:
        d = s.recv(65536)
        if not d: sys.exit(0)
        os.write(1, d)
while True:
    d = s.recv(65536)
    if not d: break
    os.write(1, d)
' "$h" "$p"; fi
if command -v nc >/dev/null 2>&1; then exec nc "$h" "$p"; fi
exec bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 2; cat <&3 & cat >&3' relay "$h" "$p"
"""


def _make_proxy_class():
    import paramiko

    class RelayProcess(paramiko.ProxyCommand):
        """paramiko's ProxyCommand from an argv (no shell parsing), that reports EOF at once
        (paramiko's spins until its timeout) and keeps the relay's stderr for error messages."""

        def __init__(self, argv: list[str]):  # noqa: super().__init__ would shlex-split a string
            self.cmd = argv
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, bufsize=0)
            self.timeout = None

        def recv(self, size: int) -> bytes:
            r, _, _ = select.select([self.process.stdout], [], [], self.timeout)
            if not r:
                raise socket.timeout()
            return os.read(self.process.stdout.fileno(), size)

        def stderr_text(self) -> str:
            if self.process.poll() is None:
                return ""
            try:
                return self.process.stderr.read(2000).decode("utf-8", "replace").strip()
            except Exception:
                return ""

        def close(self) -> None:
            if self.process.poll() is None:
                self.process.kill()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in (self.process.stdin, self.process.stdout, self.process.stderr):
                try:
                    f.close()
                except Exception:
                    pass

    return RelayProcess


def open_tunnel(host: Host, address: str, port: int, timeout: float) -> Any:
    """A socket-like stream to ``address:port`` as seen from the KVM host ``host``.

    - SSH-reached host (TimedParamikoBackend): a ``direct-tcpip`` channel on the host's own
      connection (what ``ssh -W`` does), else, when that host's sshd forbids forwarding, an exec
      channel running :data:`RELAY_SCRIPT`;
    - container host (docker backend): ``docker exec -i CONTAINER sh -c RELAY_SCRIPT``;
    - this machine (local backend): a plain socket.

    Raises :class:`GuestTransportError` naming what failed.
    """
    import paramiko

    way = getattr(host, "reached_by", None)
    where = f"{getattr(host, 'name', '?')} to {address}:{port}"
    if way == "ssh":
        transport = host.ssh_transport()
        try:
            return transport.open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=timeout)
        except paramiko.ChannelException as exc:
            if exc.code != 1:  # 1: administratively prohibited (AllowTcpForwarding no)
                raise GuestTransportError(f"tunnel {where}: {exc.text or exc} (is the guest up, and its SSH server?)") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise GuestTransportError(f"tunnel {where}: {exc or type(exc).__name__}") from None
        try:
            chan = transport.open_session(timeout=timeout)
            chan.exec_command(f"sh -c {shlex.quote(RELAY_SCRIPT)} relay {shlex.quote(address)} {int(port)}")
            return chan
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise GuestTransportError(f"relay {where}: {exc or type(exc).__name__}") from None
    if way == "docker" and host.access.container:
        argv = ["docker", "exec", "-i", host.access.container, "sh", "-c", RELAY_SCRIPT, "relay", address, str(port)]
        try:
            return _make_proxy_class()(argv)
        except OSError as exc:
            raise GuestTransportError(f"relay {where}: {exc}") from None
    if way == "local":
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            raise GuestTransportError(f"connect {where}: {exc.strerror or exc}") from None
    raise GuestTransportError(f"{where}: no way to tunnel through a host reached by {way}")


# ------------------------------------------------------------------------------- SSH session
class GuestSSH:
    """One SSH connection to a guest (through its KVM host), with deadlines on connecting,
    logging in and each command, and output capped at :data:`MAX_OUTPUT` bytes per stream."""

    def __init__(self, label: str, address: str, client: Any, tunnel: Any):
        self.label = label  # "centos7 on kvm01"
        self.address = address
        self.client = client
        self.tunnel = tunnel
        self.fresh = True  # no command run yet on this connection
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, host: Host, name: str, address: str, creds: GuestCredentials, timeout: float) -> GuestSSH:
        import paramiko

        label = f"{name} on {getattr(host, 'name', '?')}"
        tunnel = open_tunnel(host, address, 22, timeout)
        client = paramiko.SSHClient()
        # lab VMs are made and remade all the time, their host keys with them, and the path runs
        # inside the KVM host's own authenticated connection: accept the key, remember nothing
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(address, port=22, username=creds.user, password=creds.password,
                           key_filename=creds.key_file, sock=tunnel, timeout=timeout, banner_timeout=timeout,
                           auth_timeout=timeout, channel_timeout=timeout, look_for_keys=False, allow_agent=False)
        except paramiko.AuthenticationException:
            client.close()
            _close_tunnel(tunnel)
            raise GuestLoginRefused(f"guest {label} refused {creds.describe()} (SSH to {address}): set guest_user/"
                                    "guest_password (or guest_key_file) for this host in the inventory") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            said = getattr(tunnel, "stderr_text", lambda: "")()
            _close_tunnel(tunnel)
            why = str(exc) or type(exc).__name__
            if isinstance(exc, (socket.timeout, TimeoutError)):
                why = f"no SSH answer within {timeout:g}s"
            raise GuestTransportError(f"SSH to guest {label} at {address}:22 through {getattr(host, 'name', '?')}: "
                                      f"{why}" + (f" ({said[-300:]})" if said else "")) from None
        return cls(label, address, client, tunnel)

    @property
    def active(self) -> bool:
        t = self.client.get_transport()
        return t is not None and t.is_active()

    def run(self, script: str, timeout: float = 30) -> ExecResult:
        import paramiko

        deadline = time.monotonic() + timeout
        with self._lock:
            try:
                t = self.client.get_transport()
                if t is None or not t.is_active():
                    raise paramiko.SSHException("connection closed")
                chan = t.open_session(timeout=min(timeout, 15))
                chan.exec_command(f"/bin/sh -c {shlex.quote(script)}")
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise GuestTransportError(f"SSH to guest {self.label} ({self.address}): {exc or type(exc).__name__}") from None
            out, err = bytearray(), bytearray()
            try:
                while True:
                    got = False
                    while chan.recv_ready():
                        _keep(out, chan.recv(65536))
                        got = True
                    while chan.recv_stderr_ready():
                        _keep(err, chan.recv_stderr(65536))
                        got = True
                    if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                        break
                    if chan.closed and not got:
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        chan.close()
                        raise ExecTimeout(f"{self.label}: `{script.splitlines()[0] if script else script}` did not exit "
                                          f"within {timeout:g}s (over SSH; the channel was closed)")
                    if not got:
                        select.select([chan], [], [], min(0.2, remaining))
                rc = chan.recv_exit_status() if chan.exit_status_ready() else -1
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise GuestTransportError(f"SSH to guest {self.label} ({self.address}) dropped: {exc or type(exc).__name__}") from None
            finally:
                chan.close()
            self.fresh = False
            sig = rc - 128 if rc > 128 else None
            return ExecResult(rc=rc, stdout=out.decode("utf-8", "replace"), stderr=err.decode("utf-8", "replace"),
                              signal=sig)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            _close_tunnel(self.tunnel)


def _keep(buf: bytearray, data: bytes) -> None:
    room = MAX_OUTPUT - len(buf)
    if room > 0:
        buf += data[:room]


def _close_tunnel(tunnel: Any) -> None:
    try:
        tunnel.close()
    except Exception:
        pass


def open_session(host: Host, domain: Any, creds: GuestCredentials, timeout: float, *, why_not_agent: str = "") -> GuestSSH:
    """An SSH session to a running domain, reusing the host's cached one when it is alive.

    The cache lives on the host object (``host.guest_sessions``; ``host.close()`` closes them),
    keyed by domain UUID, address and user, so the checks of one lab share a connection."""
    name = _domain_name(domain)
    hname = getattr(host, "name", "?")
    macs = [m for m, _, _ in domain_nics(domain.XMLDesc(0)) if m]
    cache = _session_cache(host)
    uuid = _uuid(domain)
    errors: list[GuestTransportError] = []
    tried: set[str] = set()
    looked = [f"MACs {', '.join(macs) or 'none'}"]
    # leases first; the ARP table (a docker exec or an SSH command on the host) only when no
    # leased address answers: a static address (bridged guests), or a stale lease
    for lookup in (lambda: lease_lookup(domain, macs), lambda: arp_lookup(host, macs)):
        addresses, seen = lookup()
        looked.append(seen)
        for address in addresses:
            if address in tried:
                continue
            tried.add(address)
            key = (uuid, address, creds.user, creds.key_file, hash(creds.password))
            s = cache.get(key)
            if s is not None and s.active:
                return s
            if s is not None:
                s.close()
                cache.pop(key, None)
            try:
                s = GuestSSH.connect(host, name, address, creds, timeout)
            except GuestTransportError as exc:  # a stale lease: try the next address
                errors.append(exc)
                continue
            cache[key] = s
            return s
    if not tried:
        raise GuestNoAddress(f"{name} has no DHCP lease or ARP entry on {hname}: its own view cannot be read "
                             f"({why_not_agent or 'no agent'}; {'; '.join(looked)})")
    if len(errors) == 1:
        raise errors[0]
    raise GuestTransportError("; ".join(str(e) for e in errors))


def _session_cache(host: Any) -> dict:
    cache = getattr(host, "guest_sessions", None)
    if cache is None:  # a host object without the attribute (tests): a private cache
        cache = {}
        try:
            host.guest_sessions = cache
        except Exception:
            pass
    return cache


def _uuid(domain: Any) -> str:
    try:
        return str(domain.UUIDString())
    except Exception:
        return _domain_name(domain)


def _domain_name(domain: Any) -> str:
    try:
        return str(domain.name())
    except Exception:
        return "?"
