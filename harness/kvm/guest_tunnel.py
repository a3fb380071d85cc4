"""A stream to a guest's port as its KVM host sees it: a direct-tcpip channel, a relay process, or a plain socket."""

from __future__ import annotations

import os
import select
import shlex
import socket
import subprocess
from typing import TYPE_CHECKING, Any

from harness.kvm.errors import GuestTransportError

if TYPE_CHECKING:
    from harness.hosts.host import Host


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


def close_tunnel(tunnel: Any) -> None:
    """Close a tunnel that :func:`open_tunnel` gave, whatever it is; never raises."""
    try:
        tunnel.close()
    except Exception:
        pass
