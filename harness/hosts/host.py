"""The host handle every check and solution step gets, whichever provisioner made the host.

``host.run()`` and the testinfra modules (``host.file``, ``host.package``, ``host.socket``,
...) go through testinfra's own backends with a deadline per command; ``host.libvirt`` is a
libvirt-python connection and ``host.docker`` a docker SDK client, both opened lazily,
because most labs need only one of them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import testinfra.host
from testinfra.backend.base import BaseBackend, CommandResult

from harness.core.errors import CommandFailed, HarnessError, HostUnreachable
from harness.core.lab import Role
from harness.hosts.libvirt_open import LibvirtOpenTimeout, libvirt_event_loop, open_libvirt


@dataclass(frozen=True)
class Access:
    """How to reach a host's daemons, as data (never pasted into a shell)."""

    libvirt_uri: str | None = None
    docker_url: str | None = None
    address: str | None = None  # the host's address on the topology's network
    docker_ssh_key: str | None = None  # for ssh:// docker URLs
    # how to log in to this KVM host's VMs over SSH (through this host) when they run no guest
    # agent; None: harness.kvm.guest_ssh's defaults (root, the course's password). From the inventory.
    guest_user: str | None = None
    guest_password: str | None = field(default=None, repr=False)  # never printed
    guest_key_file: str | None = None
    container: str | None = None  # the Docker container this host is, when it is one on this machine


class Host:
    """One machine of a topology.

    Attribute access falls through to testinfra's module registry, so checks read like
    testinfra: ``kvm01.file("/data/centos7.qcow2").exists``.
    """

    def __init__(self, name: str, role: Role, backend: BaseBackend, access: Access, *, timeout: float = 60.0):
        self.name = name
        self.role = role
        self.access = access
        self.guest_sessions: dict = {}  # SSH sessions to this KVM host's VMs (harness.kvm.guest_ssh)
        # Set by the first daemon probe of a grading run when the host answered but the daemon its
        # role needs did not: the student's state (their checks FAIL with this), not a fault.
        self.daemon_down: str | None = None
        self.daemon_probed = False
        self.capabilities: dict[str, bool] = {}  # grade mode: what this host was asked it can do
        # set by the daemon probe when dockerd answers only on TCP (the notes' DK34 ExecStart with
        # `-H tcp://0.0.0.0:2375` and no unix socket): the DOCKER_HOST the checks' docker CLI uses
        self.docker_host: str | None = None
        self.timeout = timeout
        self._daemons: dict[str, Any] = {}  # "libvirt"/"docker" -> the connection opened on first use
        self._daemons_lock = threading.Lock()
        self._backend = backend
        self._ti = testinfra.host.Host(backend)
        # the backend's circuit breaker (harness.hosts.breaker.Breaker) names the host as checks know it
        self._breaker = getattr(backend, "breaker", None)
        if self._breaker is not None:
            self._breaker.label = name

    def __repr__(self) -> str:
        return f"<Host {self.name} ({self.role.value}) via {self._backend.NAME}>"

    @property
    def address(self) -> str | None:
        return self.access.address

    def run(self, command: str, *args: str, timeout: float | None = None) -> CommandResult:
        """Run a shell command; ``args`` are quoted into ``%s`` placeholders (data, never code)."""
        return self._backend.run(command, *args, timeout=timeout or self.timeout)

    def check(self, command: str, *args: str, timeout: float | None = None) -> str:
        """Run a command of the harness's own and return stdout; non-zero exit is a HarnessError.

        For solution steps and set-up. Checks use ``run`` and assert on the result instead,
        because there a non-zero exit is usually the student's state.
        """
        res = self.run(command, *args, timeout=timeout)
        if res.rc != 0:
            raise CommandFailed(self.name, self._backend.quote(command, *args), res.rc, res.stdout, res.stderr)
        return res.stdout

    def put_file(self, path: str, content: bytes, mode: int = 0o644) -> None:
        """Write a file on the host through the command channel (works on every backend).

        The content travels base64-encoded as a quoted argument, in chunks well under the
        kernel's per-argument limit, so no file transfer protocol is needed.
        """
        import base64

        data = base64.b64encode(content).decode()
        self.check("mkdir -p \"$(dirname %s)\" && : > %s", path, path)
        for i in range(0, len(data), 60000):
            self.check("printf %%s %s | base64 -d >> %s", data[i : i + 60000], path)
        self.check("chmod %s %s", f"{mode:o}", path)

    def put_dir(self, local: "Path", remote: str) -> None:
        """Copy a local directory tree (files keep their permission bits) to ``remote``."""
        for src in sorted(local.rglob("*")):
            if src.is_file():
                rel = src.relative_to(local).as_posix()
                self.put_file(f"{remote.rstrip('/')}/{rel}", src.read_bytes(), src.stat().st_mode & 0o777)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._ti, name)

    @property
    def libvirt(self):  # -> libvirt.virConnect
        """The host's libvirt connection, opened on first use. Every use asks the host's breaker
        first: once the host stopped answering, a check that reaches for libvirt is an ERROR at once
        (``HostUnreachable``), never a FAIL read off a connection the dead host left behind."""
        return self._daemon("libvirt", self._open_libvirt)

    @property
    def docker(self):  # -> docker.DockerClient
        """The host's docker SDK client, opened on first use; asks the breaker like ``libvirt``."""
        return self._daemon("docker", self._open_docker)

    def _daemon(self, key: str, open_it):
        if self._breaker is not None:
            self._breaker.check()
        with self._daemons_lock:  # two threads opening at once must not leave a second connection open
            client = self._daemons.get(key)
            if client is None:
                client = self._daemons[key] = open_it()
        return client

    def _open_libvirt(self):
        import libvirt

        if not self.access.libvirt_uri:
            raise HarnessError(f"{self.name} ({self.role.value}) has no libvirt access")
        keepalive = libvirt_event_loop()  # must be registered before the connection opens
        began = time.time()
        try:
            conn = open_libvirt(self.access.libvirt_uri, timeout=max(self.timeout, 10.0))
        except libvirt.libvirtError as exc:
            raise HostUnreachable(f"{self.name}: cannot open libvirt at {self.access.libvirt_uri}: {exc}") from exc
        except LibvirtOpenTimeout as exc:
            if self._breaker is not None and self._breaker.timed_out(began, exc):
                raise HostUnreachable(self._breaker.message()) from exc
            raise HostUnreachable(f"{self.name}: {exc}") from exc
        # A dead peer must not hang a check forever: 5 s interval, 3 missed = closed.
        if keepalive:
            conn.setKeepAlive(5, 3)
        return conn

    def _open_docker(self):
        import docker

        if not self.access.docker_url:
            raise HarnessError(f"{self.name} ({self.role.value}) has no docker access")
        try:
            client = docker.DockerClient(base_url=self.access.docker_url, timeout=120)
            client.ping()
        except Exception as exc:
            raise HostUnreachable(f"{self.name}: cannot reach dockerd at {self.access.docker_url}: {exc}") from exc
        return client

    def connect(self) -> None:
        """Open the host's command connection now, where it has one (SSH), so that a refusal is
        raised here with its reason (refused, no route, key refused, host key changed)."""
        connect = getattr(self._backend, "connect", None)
        if connect is not None:
            connect()

    @property
    def reached_by(self) -> str:
        """How commands reach this host: ``"ssh"``, ``"docker"`` (a container on this machine,
        ``access.container``) or ``"local"`` (this machine itself)."""
        return {"paramiko": "ssh"}.get(self._backend.NAME, self._backend.NAME)

    def ssh_transport(self):  # -> paramiko.Transport | None
        """The open SSH connection to this host when it is reached over SSH, else ``None``: for
        SFTP and for tunnels to this host's own VMs (``harness.kvm.guest_tunnel``)."""
        transport = getattr(self._backend, "transport", None)
        return transport() if transport is not None else None

    def disconnect(self) -> None:
        """``close()``, and the command connection too (a host whose machine is going away)."""
        self.close()
        close = getattr(self._backend, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass

    def close(self) -> None:
        """Close the daemon connections opened so far; the command connection stays open for the
        next lab on the same host (``disconnect()`` closes it too)."""
        for session in list(self.__dict__.get("guest_sessions", {}).values()):
            try:
                session.close()
            except Exception:
                pass
        self.__dict__.get("guest_sessions", {}).clear()
        for client in [self._daemons.pop(key) for key in list(self._daemons)]:
            try:
                client.close()
            except Exception:
                pass
