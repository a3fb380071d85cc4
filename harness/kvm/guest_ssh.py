"""The SSH session to a guest, through its KVM host: the login credentials, one connection with
deadlines, and the host's cache of them (so the checks of one lab share a connection).

Used by :class:`harness.kvm.guest_view.GuestView` when the guest has no agent that answers.
Secrets never appear in messages, logs or evidence.
"""

from __future__ import annotations

import select
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.kvm.domain_info import domain_name, domain_uuid
from harness.kvm.errors import ExecTimeout, GuestLoginRefused, GuestNoAddress, GuestTransportError
from harness.kvm.guest_address import arp_lookup, domain_nics, lease_lookup
from harness.kvm.guest_tunnel import close_tunnel, open_tunnel
from harness.kvm.results import ExecResult

if TYPE_CHECKING:
    from harness.hosts.host import Host

#: The root password of the course's VMs. The notes type ``ssh root@192.168.122.60`` and answer
#: "root@...'s password:" (seed 000 L501-L507, L654, L1053...) but never print the password; the
#: anaconda screenshots are not in the notes either. So this is an assumption: "123456", the
#: password such courses set in anaconda; a trainer whose class used another one sets
#: ``guest_password`` (or ``guest_key_file``) on the KVM host in the inventory.
COURSE_ROOT_PASSWORD = "123456"
MAX_OUTPUT = 1 << 20  # bytes kept of each of stdout/stderr


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

    #: how often a connection that broke before SSH began (no banner: the relay's far end closed,
    #: a guest still settling after a revert) is tried again, within the same deadline
    CONNECT_ATTEMPTS = 3

    @classmethod
    def connect(cls, host: Host, name: str, address: str, creds: GuestCredentials, timeout: float) -> GuestSSH:
        """Log in to the guest, within ``timeout``. A connection that breaks before the SSH banner
        is opened again (at most :data:`CONNECT_ATTEMPTS` times, never past the deadline): that is
        the transport, not the check; a refused login is never tried again."""
        deadline = time.monotonic() + timeout
        attempt = 1
        while True:
            try:
                return cls._connect_once(host, name, address, creds, max(deadline - time.monotonic(), 1.0))
            except GuestTransportError as exc:
                if not exc.before_banner or attempt >= cls.CONNECT_ATTEMPTS or deadline - time.monotonic() < 5:
                    raise
                attempt += 1
                time.sleep(2)

    @classmethod
    def _connect_once(cls, host: Host, name: str, address: str, creds: GuestCredentials, timeout: float) -> GuestSSH:
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
            close_tunnel(tunnel)
            raise GuestLoginRefused(f"guest {label} refused {creds.describe()} (SSH to {address}): set guest_user/"
                                    "guest_password (or guest_key_file) for this host in the inventory") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            said = getattr(tunnel, "stderr_text", lambda: "")()
            close_tunnel(tunnel)
            why = str(exc) or type(exc).__name__
            if isinstance(exc, (socket.timeout, TimeoutError)):
                why = f"no SSH answer within {timeout:g}s"
            error = GuestTransportError(f"SSH to guest {label} at {address}:22 through {getattr(host, 'name', '?')}: "
                                        f"{why}" + (f" ({said[-300:]})" if said else ""))
            error.before_banner = "protocol banner" in why and "within" not in why
            raise error from None
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
            close_tunnel(self.tunnel)


def _keep(buf: bytearray, data: bytes) -> None:
    room = MAX_OUTPUT - len(buf)
    if room > 0:
        buf += data[:room]


def open_session(host: Host, domain: Any, creds: GuestCredentials, timeout: float, *, why_not_agent: str = "") -> GuestSSH:
    """An SSH session to a running domain, reusing the host's cached one when it is alive.

    The cache lives on the host object (``host.guest_sessions``; ``host.close()`` closes them),
    keyed by domain UUID, address and user, so the checks of one lab share a connection."""
    name = domain_name(domain)
    hname = getattr(host, "name", "?")
    macs = [m for m, _, _ in domain_nics(domain.XMLDesc(0)) if m]
    cache = _session_cache(host)
    uuid = domain_uuid(domain)
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
