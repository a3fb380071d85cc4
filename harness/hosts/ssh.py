"""SSH to existing hosts (students' machines): host keys, errors, and daemon sockets over the connection.

Three things the paramiko backend (``harness.hosts.backends.TimedParamikoBackend``) builds on:

- **Host-key policy.** The harness keeps its own ``known_hosts`` file (default
  ``$LABHARNESS_CACHE/ssh/known_hosts``; an inventory or ``--known-hosts`` may name another):
  ``tofu`` (default) records a host's key the first time and refuses a changed key; ``strict``
  refuses any host not already in the file; ``ignore`` checks nothing (for throw-away lab hosts
  whose keys change with every rebuild). Several xdist workers may record keys at once: the
  file is appended under an ``flock`` and re-read first, so one host gets one line.
- **Errors that say why.** Every way a connection can fail becomes a :class:`HostUnreachable`
  (a ``HarnessError``: the student's checks are ERROR, never FAIL) whose message names the host,
  the address and the cause: refused, no route, timed out, login refused, host key changed.
  Passwords never appear in messages.
- **Tunnels.** ``host.libvirt`` and ``host.docker`` reach the host's daemons through the same
  SSH connection, as ``ssh`` itself does for ``qemu+ssh://`` and ``docker -H ssh://``: a local
  unix socket whose every connection is an exec channel running ``virt-ssh-helper`` (or
  ``socat``/``nc -U`` on older libvirt) or ``docker system dial-stdio`` on the host. So the
  host-key policy, the key and the single connection apply to them too.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import paramiko

from harness.core.errors import HostUnreachable, UsageError
from harness.core.runs import cache_dir

log = logging.getLogger(__name__)

POLICIES = ("tofu", "strict", "ignore")
DEFAULT_POLICY = "tofu"


class SSHLoginRefused(HostUnreachable):
    """The host answered but refused the login (wrong key, wrong user, key not authorised)."""


class HostKeyMismatch(HostUnreachable):
    """The host's key differs from the one on record: another machine, or a reinstalled one."""


class HostKeyUnknown(HostUnreachable):
    """``strict`` policy and the host is not in the known_hosts file."""


class KeyFileUnsafe(HostUnreachable):
    """The private key file is readable by group or others: ssh refuses such a key, so do we."""


class ChannelTimeout(HostUnreachable):
    """The host did not open a session on its connection in time (frozen, paused, overloaded)."""


class RequestTimeout(TimeoutError):
    """The host did not answer a request on an open session (exec) in time."""


def check_key_file(path: str, label: str) -> None:
    """Refuse a private key that group or others may read, as ``ssh`` does ("UNPROTECTED PRIVATE KEY FILE")."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KeyFileUnsafe(f"{label}: cannot read the private key {path}: {exc.strerror or exc}") from None
    mode = st.st_mode & 0o777
    if mode & 0o077:
        raise KeyFileUnsafe(f"{label}: the private key {path} has mode {mode:04o}: group or others can read it, "
                            f"and ssh refuses such a key; run chmod 600 {path}")


def exec_with_deadline(chan: paramiko.Channel, command: str | bytes, timeout: float) -> None:
    """``chan.exec_command`` with a deadline: paramiko waits for the host's reply without one (a paused
    host would hold the caller forever). On the deadline the session is closed and ``RequestTimeout`` raised."""
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def fire() -> None:
        with lock:
            if state["done"]:
                return
            state["fired"] = True
        with contextlib.suppress(Exception):
            chan.close()

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    try:
        chan.exec_command(command)
    except (paramiko.SSHException, EOFError, OSError):
        with lock:
            state["done"] = True
        if state["fired"]:
            raise RequestTimeout(f"the host did not start the command within {timeout:g}s") from None
        raise
    finally:
        timer.cancel()
    with lock:
        state["done"] = True
    if state["fired"]:
        raise RequestTimeout(f"the host did not start the command within {timeout:g}s")


def wait_exit_status(chan: paramiko.Channel, timeout: float) -> int | None:
    """``recv_exit_status`` with a deadline (paramiko's has none): the status, or None if none came in time.
    Output still arriving is read and dropped, so a full window never blocks the status."""
    deadline = time.monotonic() + timeout
    while not chan.exit_status_ready():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or chan.closed:
            return chan.exit_status if chan.exit_status_ready() else None
        with contextlib.suppress(Exception):
            while chan.recv_ready():
                chan.recv(65536)
            while chan.recv_stderr_ready():
                chan.recv_stderr(65536)
        chan.status_event.wait(min(remaining, 0.2))
    return chan.exit_status


def default_known_hosts() -> Path:
    env = os.environ.get("LABHARNESS_KNOWN_HOSTS")
    return Path(env) if env else cache_dir() / "ssh" / "known_hosts"


def host_id(address: str, port: int) -> str:
    """How known_hosts names a host: ``10.0.1.70``, or ``[10.0.1.70]:2222`` off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


class HostKeyPolicy:
    """Applies one of ``tofu``, ``strict``, ``ignore`` with one known_hosts file."""

    def __init__(self, policy: str = DEFAULT_POLICY, known_hosts: str | Path | None = None):
        if policy not in POLICIES:
            raise UsageError(f"host key policy {policy!r}: choose one of {', '.join(POLICIES)}")
        self.policy = policy
        self.path = Path(known_hosts).expanduser() if known_hosts else default_known_hosts()

    def __repr__(self) -> str:
        return f"HostKeyPolicy({self.policy!r}, {str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostKeyPolicy) and (self.policy, self.path) == (other.policy, other.path)

    def __hash__(self) -> int:
        return hash((self.policy, self.path))

    def _read(self) -> paramiko.HostKeys:
        keys = paramiko.HostKeys()
        if self.path.is_file():
            try:
                keys.load(str(self.path))
            except (OSError, UnicodeDecodeError) as exc:
                raise HostUnreachable(f"cannot read the known_hosts file {self.path}: {exc}") from None
        return keys

    def prepare(self, client: paramiko.SSHClient, label: str) -> None:
        """Give ``client`` the keys on record and the policy for hosts not on record."""
        if self.policy == "ignore":
            client.set_missing_host_key_policy(_Accept())
            return
        known = self._read()
        for hostname, entry in known.items():
            for keytype, key in entry.items():
                client.get_host_keys().add(hostname, keytype, key)
        client.set_missing_host_key_policy(_Strict(self, label) if self.policy == "strict" else _Record(self, label))

    def record(self, hostname: str, key: paramiko.PKey, label: str) -> None:
        """Append ``hostname``'s key, unless another process recorded one meanwhile (then compare)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            known = self._read().lookup(hostname)
            if known:
                mine = known.get(key.get_name())
                if mine is None or mine != key:
                    old = mine or next(iter(known.values()))
                    raise mismatch(label, hostname, key, old, self.path)
                return  # another worker recorded the same key
            with open(self.path, "a", encoding="ascii") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        log.info("%s: recorded host key %s for %s in %s", label, fingerprint(key), hostname, self.path)


def mismatch(label: str, hostname: str, got: paramiko.PKey, expected: paramiko.PKey, path: Path) -> HostKeyMismatch:
    return HostKeyMismatch(
        f"{label}: the host key changed ({hostname} sent {fingerprint(got)}, {path} has {fingerprint(expected)}): "
        f"another machine answers at this address, or it was reinstalled; if so, remove its line from {path}"
    )


class _Accept(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client, hostname, key) -> None:
        pass


class _Strict(paramiko.MissingHostKeyPolicy):
    def __init__(self, policy: HostKeyPolicy, label: str):
        self.policy, self.label = policy, label

    def missing_host_key(self, client, hostname, key) -> None:
        raise HostKeyUnknown(
            f"{self.label}: {hostname} is not in {self.policy.path} (host key policy strict; it sent {fingerprint(key)}): "
            f"add its key (ssh-keyscan) or use --host-key-policy tofu"
        )


class _Record(paramiko.MissingHostKeyPolicy):
    def __init__(self, policy: HostKeyPolicy, label: str):
        self.policy, self.label = policy, label

    def missing_host_key(self, client, hostname, key) -> None:
        self.policy.record(hostname, key, self.label)


# --------------------------------------------------------------------------- tunnels


_SOCKET_DIR: str | None = None
_SOCKET_DIR_LOCK = threading.Lock()


def _socket_dir() -> str:
    global _SOCKET_DIR
    with _SOCKET_DIR_LOCK:
        if _SOCKET_DIR is None:
            _SOCKET_DIR = tempfile.mkdtemp(prefix="lh-ssh-")  # 0700: only this user reaches the tunnels
            atexit.register(shutil.rmtree, _SOCKET_DIR, True)
        return _SOCKET_DIR


class _Acceptor:
    """One thread accepting on every tunnel's listening socket of this process."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        threading.Thread(target=self._loop, name="ssh-tunnels", daemon=True).start()

    def add(self, sock: socket.socket, tunnel: "Tunnel") -> None:
        with self.lock:
            self.sel.register(sock, selectors.EVENT_READ, tunnel)
        self.wake_w.send(b"x")

    def remove(self, sock: socket.socket) -> None:
        with self.lock, contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(sock)
        self.wake_w.send(b"x")

    def _loop(self) -> None:
        while True:
            for key, _ in self.sel.select():
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self.wake_r.recv(4096)
                    continue
                try:
                    conn, _ = key.fileobj.accept()
                except OSError:
                    continue
                threading.Thread(target=key.data.serve, args=(conn,), name="ssh-tunnel", daemon=True).start()


_ACCEPTOR: _Acceptor | None = None


def _acceptor() -> _Acceptor:
    global _ACCEPTOR
    with _SOCKET_DIR_LOCK:
        if _ACCEPTOR is None:
            _ACCEPTOR = _Acceptor()
        return _ACCEPTOR


class Tunnel:
    """A local unix socket; each connection to it is bridged to ``remote_command``'s stdio on the host.

    sshd allows ``MaxSessions`` (10 by default) sessions per connection, and the docker SDK opens a
    new HTTP connection for many requests while keeping the old ones idle in its pool: so at most
    ``MAX_LIVE`` bridged connections stay open per tunnel, the least recently used closed first (the
    client sees an idle pooled connection dropped, and opens a fresh one when it needs it).
    """

    _count = 0
    MAX_LIVE = 3
    EXEC_TIMEOUT = 30.0  # for the host to start the bridge command on a new session

    def __init__(self, open_channel, remote_command: str, name: str, label: str):
        Tunnel._count += 1
        self.open_channel = open_channel  # () -> paramiko.Channel (a fresh session)
        self.remote_command = remote_command
        self.label = label
        self.path = os.path.join(_socket_dir(), f"{name}-{os.getpid()}-{Tunnel._count}.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.live: dict[socket.socket, list] = {}  # client socket -> [channel, last used]
        self.lock = threading.Lock()
        _acceptor().add(self.sock, self)

    def _touch(self, conn: socket.socket) -> None:
        with self.lock:
            if conn in self.live:
                self.live[conn][1] = time.monotonic()

    def _make_room(self) -> None:
        with self.lock:
            idle = sorted(self.live.items(), key=lambda kv: kv[1][1])[: max(0, len(self.live) - self.MAX_LIVE + 1)]
        for conn, (chan, _) in idle:
            with contextlib.suppress(Exception):
                chan.close()
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def serve(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        self._make_room()
        try:
            chan = self.open_channel()
            exec_with_deadline(chan, self.remote_command, self.EXEC_TIMEOUT)
        except Exception as exc:  # the daemon client sees the socket close; say why in the log
            log.warning("%s: tunnel to `%s` failed: %s", self.label, self.remote_command, exc)
            conn.close()
            return
        with self.lock:
            self.live[conn] = [chan, time.monotonic()]

        def upstream() -> None:
            try:
                while data := conn.recv(65536):
                    self._touch(conn)
                    chan.sendall(data)
            except (OSError, EOFError):
                pass
            # the client is done: close the session (`docker system dial-stdio` would otherwise wait for
            # the daemon to hang up, and sshd allows only MaxSessions, 10 by default, per connection)
            with contextlib.suppress(Exception):
                chan.close()

        threading.Thread(target=upstream, name="ssh-tunnel-up", daemon=True).start()
        try:
            while data := chan.recv(65536):
                self._touch(conn)
                conn.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            with self.lock:
                self.live.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
            chan.close()

    def close(self) -> None:
        _acceptor().remove(self.sock)
        self.sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


# What ssh's own transports run on the far side (libvirt's qemu+ssh, docker -H ssh://).
LIBVIRT_BRIDGE = (
    "if command -v virt-ssh-helper >/dev/null 2>&1; then exec virt-ssh-helper qemu:///system; fi; "
    "s=/var/run/libvirt/libvirt-sock; "
    "if command -v socat >/dev/null 2>&1; then exec socat - UNIX-CONNECT:$s; fi; exec nc -U $s"
)
DOCKER_BRIDGE = "exec docker system dial-stdio"
