"""The backends that reach a host from this machine by a subprocess: this machine itself, and its containers.

testinfra runs commands with no timeout (``Popen.communicate()`` with none), so one hung command
would hang a whole class's grading. These subclasses keep testinfra's quoting and result types and
add a deadline (``timeout=`` on ``run``) that raises ``CommandTimeout`` with the output seen so
far, and ``HostUnreachable`` when the container itself is gone, stopped or paused, so that a dead
host is ERROR and not FAIL. (SSH: ``harness.hosts.ssh_backend``.)
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from testinfra.backend import base
from testinfra.backend.docker import DockerBackend
from testinfra.backend.local import LocalBackend

from harness.core.errors import CommandTimeout, HostUnreachable
from harness.hosts.breaker import Breaker
from harness.hosts.deadline import DEFAULT_TIMEOUT, run_with_deadline
from harness.hosts.output import recorded

# What `docker exec` prints when the container, not the command, is the problem.
_DOCKER_TRANSPORT_ERRORS = ("No such container", "is not running", "is paused", "Cannot connect to the Docker daemon")


class TimedLocalBackend(LocalBackend):
    """This machine itself, through ``/bin/sh`` (testinfra's local backend)."""

    NAME = "local"

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        rc, out, err = run_with_deadline(self, "local", cmd, timeout or DEFAULT_TIMEOUT)
        return recorded(self, "local", cmd, self.result(rc, self.encode(cmd), out, err))


class TimedDockerBackend(DockerBackend):
    """``docker exec`` into a container; DOCKER_HOST selects the daemon, as in testinfra.

    A container that is gone, stopped or paused is ``HostUnreachable``; a paused one, or one past
    a deadline twice, opens the host's ``Breaker``.
    """

    NAME = "docker"

    def __init__(self, name: str, *args: Any, **kwargs: Any):
        super().__init__(name, *args, **kwargs)
        self.breaker = Breaker(self.name)

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        self.breaker.check()
        cmd = self.get_command(command, *args)
        if self.user:
            line = self.quote("docker exec -u %s %s /bin/sh -c %s", self.user, self.name, cmd)
        else:
            line = self.quote("docker exec %s /bin/sh -c %s", self.name, cmd)
        began = time.time()
        try:
            rc, out, err = run_with_deadline(self, self.name, line, timeout or DEFAULT_TIMEOUT)
        except CommandTimeout as exc:
            state = _container_state(self.name)
            if state != "running":  # frozen or gone under the command: the host, not the command
                self.breaker.timed_out(began, f"container {self.name} {state}")
            if self.breaker.timed_out(began, exc):
                raise HostUnreachable(self.breaker.message()) from exc
            raise
        if rc in (1, 125, 126, 127) and any(m in self.decode(err) for m in _DOCKER_TRANSPORT_ERRORS):
            state = _container_state(self.name)
            if state != "running":
                why = f"{self.name}: {self.decode(err).strip()[:500]}"
                if state == "paused" and self.breaker.timed_out(began, why):
                    raise HostUnreachable(self.breaker.message())
                raise HostUnreachable(why)
        self.breaker.answered()
        return recorded(self, self.name, cmd, self.result(rc, self.encode(cmd), out, err))


def _container_state(name: str) -> str:
    """``running``, ``paused``, another docker status, or ``unknown``: the student's own `docker exec`
    prints the same errors as ours, so the container itself is asked."""
    try:
        res = subprocess.run(["docker", "container", "inspect", "-f", "{{.State.Status}}", name],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if res.returncode != 0:
        return "gone" if "No such" in res.stderr else "unknown"
    return res.stdout.strip() or "unknown"
