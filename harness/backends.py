"""testinfra's own backends, each given a deadline per command.

testinfra runs commands with no timeout (``Popen.communicate()`` with none, paramiko
channels with none), so one hung command would hang a whole class's grading. These
subclasses keep testinfra's quoting and result types and add two things only: a deadline
(``timeout=`` on ``run``) that raises ``CommandTimeout`` with the output seen so far, and
``HostUnreachable`` when the transport itself fails (container gone, SSH refused), so that
a dead host is ERROR and not FAIL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Any

import paramiko
from testinfra.backend import base
from testinfra.backend.docker import DockerBackend
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend

from harness import evidence
from harness.errors import CommandTimeout, HostUnreachable

DEFAULT_TIMEOUT = 60.0

# What `docker exec` prints when the container, not the command, is the problem.
_DOCKER_TRANSPORT_ERRORS = ("No such container", "is not running", "Cannot connect to the Docker daemon")


def _run_with_deadline(backend: base.BaseBackend, host: str, argv_shell: str, timeout: float) -> tuple[int, bytes, bytes]:
    """Run a local shell command line; on the deadline kill its whole process group."""
    p = subprocess.Popen(
        argv_shell,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        stdout, stderr = p.communicate()
        raise CommandTimeout(host, argv_shell, timeout, backend.decode(stdout), backend.decode(stderr)) from None
    return p.returncode, stdout, stderr


def _recorded(backend: base.BaseBackend, host: str, command: str, result: base.CommandResult) -> base.CommandResult:
    """Every command a check runs (testinfra modules included) becomes evidence of that check."""
    evidence.command(host, command, result.rc, result.stdout, result.stderr)
    return result


class TimedLocalBackend(LocalBackend):
    NAME = "local"

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        rc, out, err = _run_with_deadline(self, "local", cmd, timeout or DEFAULT_TIMEOUT)
        return _recorded(self, "local", cmd, self.result(rc, self.encode(cmd), out, err))


class TimedDockerBackend(DockerBackend):
    """``docker exec`` into a container; DOCKER_HOST selects the daemon, as in testinfra."""

    NAME = "docker"

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        if self.user:
            line = self.quote("docker exec -u %s %s /bin/sh -c %s", self.user, self.name, cmd)
        else:
            line = self.quote("docker exec %s /bin/sh -c %s", self.name, cmd)
        rc, out, err = _run_with_deadline(self, self.name, line, timeout or DEFAULT_TIMEOUT)
        if rc in (1, 125, 126, 127) and any(m in self.decode(err) for m in _DOCKER_TRANSPORT_ERRORS):
            raise HostUnreachable(f"{self.name}: {self.decode(err).strip()}")
        return _recorded(self, self.name, cmd, self.result(rc, self.encode(cmd), out, err))


class TimedParamikoBackend(ParamikoBackend):
    """SSH through paramiko, one connection per host reused across commands."""

    NAME = "paramiko"

    def _exec_with_deadline(self, command: bytes, timeout: float) -> tuple[int, bytes, bytes]:
        try:
            transport = self.client.get_transport()
        except (OSError, paramiko.SSHException) as exc:
            raise HostUnreachable(f"{self.host.name}: cannot connect over SSH: {exc}") from exc
        assert transport is not None
        chan = transport.open_session(timeout=timeout)
        chan.settimeout(0.5)
        chan.exec_command(command)
        deadline = time.monotonic() + timeout
        out, err = bytearray(), bytearray()
        while True:
            progressed = False
            for recv, buf in ((chan.recv, out), (chan.recv_stderr, err)):
                try:
                    data = recv(65536)
                except socket.timeout:
                    continue
                if data:
                    buf.extend(data)
                    progressed = True
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            if time.monotonic() > deadline:
                chan.close()
                raise CommandTimeout(self.host.name, self.decode(command), timeout, self.decode(bytes(out)), self.decode(bytes(err)))
            if not progressed:
                time.sleep(0.01)
        return chan.recv_exit_status(), bytes(out), bytes(err)

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        cmd = self.encode(self.get_command(command, *args))
        try:
            rc, out, err = self._exec_with_deadline(cmd, timeout or DEFAULT_TIMEOUT)
        except (paramiko.SSHException, OSError) as exc:
            raise HostUnreachable(f"{self.host.name}: SSH failed: {exc}") from exc
        return _recorded(self, self.host.name, self.decode(cmd), self.result(rc, cmd, out, err))
