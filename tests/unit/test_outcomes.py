"""The outcome rule (docs/outcomes.md): who is to blame decides FAIL or ERROR."""

import socket

import pytest

from harness.core.errors import CommandTimeout, HostUnreachable
from harness.core.lab import Role
from harness.plugin.outcome import START_DAEMON, is_environment_fault
from harness.provisioners.static import DaemonUnavailable, probe_daemon


class _Res:
    def __init__(self, rc, stdout="", stderr=""):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class _FakeHost:
    """A host whose daemon probe answers from a script of exit codes."""

    def __init__(self, answers, role=Role.DOCKER_HOST, tcp=False):
        self.name, self.role = "docker01", role
        self.daemon_down, self.daemon_probed, self.docker_host = None, False, None
        self.answers = list(answers)
        self.tcp = tcp  # dockerd answers on tcp://127.0.0.1:2375 (the notes' DK34)

    def run(self, command, *args, timeout=None):
        if command.startswith("DOCKER_HOST="):
            return _Res(0 if self.tcp else 1)
        if command == "true":
            return _Res(0)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return _Res(answer, stderr="" if answer == 0 else "Cannot connect to the Docker daemon at unix:///var/run/docker.sock")


def test_daemon_down_when_grading_starts_is_the_students_state():
    host = _FakeHost([1, 1])
    probe_daemon(host)  # no exception: the host answered
    assert host.daemon_down and "dockerd is not running on docker01" in host.daemon_down
    probe_daemon(host)  # still down at the next lab: still theirs
    assert host.daemon_down


def test_daemon_that_dies_during_the_run_is_a_fault():
    host = _FakeHost([0, 1])
    probe_daemon(host)
    assert host.daemon_down is None
    with pytest.raises(DaemonUnavailable, match="stopped answering"):
        probe_daemon(host)


def test_daemon_started_later_is_graded_as_it_is_then():
    host = _FakeHost([1, 0])
    probe_daemon(host)
    probe_daemon(host)
    assert host.daemon_down is None


def test_host_that_does_not_answer_is_an_error():
    host = _FakeHost([CommandTimeout("docker01", "docker version", 20)])
    with pytest.raises(CommandTimeout):
        probe_daemon(host)


def test_dockerd_on_tcp_only_is_up_and_read_there():
    """The notes' DK34 typed literally (-H tcp://0.0.0.0:2375, no unix socket): dockerd is running."""
    host = _FakeHost([1], tcp=True)
    probe_daemon(host)
    assert host.daemon_down is None and host.docker_host == "tcp://127.0.0.1:2375"


def test_every_role_with_a_daemon_has_a_start_hint():
    assert set(START_DAEMON) == {Role.DOCKER_HOST.value, Role.KVM_HOST.value}


@pytest.mark.parametrize("exc", [HostUnreachable("x"), socket.timeout(), ConnectionResetError(), EOFError(),
                                 TimeoutError()])
def test_transport_failures_are_environment_faults(exc):
    assert is_environment_fault(exc)


@pytest.mark.parametrize("exc", [IndexError("list index out of range"), KeyError("Mounts"), TypeError("x"),
                                 ValueError("bad json")])
def test_a_checks_own_crash_is_a_harness_bug(exc):
    assert not is_environment_fault(exc)


def test_a_fail_after_the_daemon_died_is_the_faults():
    """A check FAILs on a host whose dockerd answered when grading started and does not now: ERROR."""
    from harness.provisioners.static import daemon_gone

    host = _FakeHost([0, 1])
    probe_daemon(host)  # up at the start
    gone = daemon_gone(host)  # down after the check
    assert isinstance(gone, DaemonUnavailable) and "stopped answering during this check" in str(gone)
    still_up = _FakeHost([0, 0])
    probe_daemon(still_up)
    assert daemon_gone(still_up) is None  # a real FAIL stays a FAIL
    never_probed = _FakeHost([])
    assert daemon_gone(never_probed) is None  # validate mode: nothing to compare with
