"""Tunnels to an SSH host's libvirt and docker daemons: local unix sockets bridged over the host's connection.

``host.libvirt`` and ``host.docker`` reach the host's daemons through the same SSH connection as
its commands, as ``ssh`` itself does for ``qemu+ssh://`` and ``docker -H ssh://``: a local unix
socket whose every connection is an exec channel running ``virt-ssh-helper`` (or ``socat``/``nc -U``
on older libvirt) or ``docker system dial-stdio`` on the host. So the host-key policy, the key and
the single connection apply to them too.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time

from harness.hosts.ssh_channel import exec_with_deadline

log = logging.getLogger(__name__)

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
