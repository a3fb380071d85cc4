"""Deadlines, output caps and the circuit breaker of the host backends (harness logic, with fakes where a
frozen host would be needed), plus the small trust fixes around them: key-file modes, a password with
host-key policy ``ignore``, environment variables out of inspect evidence, student text on the terminal,
reaping that never breaks a run, stale lock files."""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time

import docker.errors
import paramiko
import pytest

from harness.hosts import local_backends, ssh_backend
from harness.core import evidence
from harness.hosts.breaker import Breaker
from harness.hosts.local_backends import TimedDockerBackend, TimedLocalBackend
from harness.hosts.output import CUT_NOTE, OUTPUT_CAP
from harness.hosts.ssh_backend import TimedParamikoBackend
from harness.hosts.ssh_shell import Shell, ShellTimeout
from harness.core.errors import CommandTimeout, HarnessError, HostUnreachable
from harness.hosts.ssh_channel import ChannelTimeout, RequestTimeout, exec_with_deadline, wait_exit_status
from harness.hosts.ssh_keys import HostKeyPolicy, KeyFileUnsafe, check_key_file

NOTE = CUT_NOTE.decode().strip()


# --------------------------------------------------------------------------- the breaker


def test_breaker_opens_after_two_timeouts_in_a_row_and_says_since_when():
    b = Breaker("docker01")
    began = time.time() - 60
    assert b.timed_out(began, "docker01: command did not finish within 60s: docker ps") is False
    b.check()  # one timeout: still closed
    assert b.timed_out(time.time(), "again") is True
    with pytest.raises(HostUnreachable) as exc:
        b.check()
    at = time.strftime("%H:%M:%S", time.localtime(began))
    assert str(exc.value).startswith(f"docker01 stopped answering at {at} (2 timeouts)")
    assert isinstance(exc.value, HarnessError)  # ERROR, never FAIL
    b.answered()  # an answer after it opened changes nothing: the rest of the run is given up
    with pytest.raises(HostUnreachable):
        b.check()


def test_breaker_an_answer_in_between_starts_the_count_again():
    b = Breaker("kvm01")
    for _ in range(5):
        assert b.timed_out(time.time(), "slow command") is False
        b.answered()
    b.check()


class _FakeShell:
    """A shell session on a host that stopped answering: every command runs into its deadline."""

    def __init__(self, chan, deadline):
        pass

    def sync(self, deadline):
        pass

    def run(self, command, deadline):
        time.sleep(max(0.0, deadline - time.monotonic()))
        raise ShellTimeout(4242, b"partial", b"")

    def close(self):
        pass


def _frozen_backend(monkeypatch, kill_answers: bool) -> TimedParamikoBackend:
    monkeypatch.setattr(ssh_backend, "Shell", _FakeShell)
    b = TimedParamikoBackend("192.0.2.1", label="docker01", connect_timeout=1)
    monkeypatch.setattr(b, "open_channel", lambda: object())
    monkeypatch.setattr(b, "_kill", lambda pid: kill_answers)
    return b


def test_a_frozen_host_costs_two_deadlines_then_every_command_fails_at_once(monkeypatch):
    b = _frozen_backend(monkeypatch, kill_answers=False)
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout):
        b.run("docker ps", timeout=0.3)
    with pytest.raises(HostUnreachable, match=r"docker01 stopped answering at \d\d:\d\d:\d\d \(2 timeouts\)"):
        b.run("docker images", timeout=0.3)
    spent = time.monotonic() - t0
    assert spent < 2 * 0.3 + 0.5
    t1 = time.monotonic()
    for _ in range(20):
        with pytest.raises(HostUnreachable, match="stopped answering"):
            b.run("docker inspect web", timeout=0.3)
    assert time.monotonic() - t1 < 0.2  # 20 checks' commands: no deadline waited again
    with pytest.raises(HostUnreachable, match="stopped answering"):
        b.connect()  # the plugin's next lab (connect, daemon probe) fails the same way


def test_a_hung_command_on_a_host_that_answers_never_opens_the_breaker(monkeypatch):
    b = _frozen_backend(monkeypatch, kill_answers=True)  # the late command was killed: the host answers
    for _ in range(3):
        with pytest.raises(CommandTimeout):
            b.run("curl http://student-service/", timeout=0.05)
    b.breaker.check()


def test_a_session_that_does_not_open_in_time_counts_as_a_timeout(monkeypatch):
    b = TimedParamikoBackend("192.0.2.1", label="docker02", connect_timeout=0.2)

    class Transport:
        def open_session(self, timeout=None):
            time.sleep(timeout)
            raise paramiko.SSHException("Timeout opening channel.")

        def is_active(self):
            return True

    monkeypatch.setattr(b, "transport", lambda: Transport())
    with pytest.raises(ChannelTimeout, match="no session opened within 0.2s"):
        b.run("true", timeout=5)
    with pytest.raises(HostUnreachable, match="docker02 stopped answering .*2 timeouts"):
        b.run("true", timeout=5)


def test_the_host_handle_names_the_breaker_and_gates_its_daemons():
    from harness.hosts.host import Access, Host, Role

    backend = TimedDockerBackend("lh-x-student-docker01")
    host = Host("docker01", Role.DOCKER_HOST, backend, Access(docker_url="unix:///nonexistent.sock"))
    assert backend.breaker.label == "docker01"
    backend.breaker.timed_out(time.time(), "x")
    backend.breaker.timed_out(time.time(), "y")
    with pytest.raises(HostUnreachable, match="docker01 stopped answering"):
        host.docker
    with pytest.raises(HostUnreachable, match="docker01 stopped answering"):
        host.run("true")


def test_a_connection_opened_before_the_breaker_opened_is_gated_too():
    """CI run of stop 17: a libvirt connection opened early stayed in use after kvm01 stopped
    answering, and its "client socket is closed" read as "there is no VM named centos7": a FAIL."""
    import libvirt

    from harness.hosts.host import Access, Host, Role
    from labs.common.kvm import domain

    class Conn:
        closed = False

        def lookupByName(self, name):
            err = libvirt.libvirtError("internal error: client socket is closed")
            err.err = (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_RPC, "client socket is closed",
                       libvirt.VIR_ERR_ERROR, None, None, None, 0, 0)
            raise err

        def close(self):
            self.closed = True

    backend = TimedDockerBackend("lh-x-student-kvm01")
    host = Host("kvm01", Role.KVM_HOST, backend, Access(libvirt_uri="qemu:///nowhere"))
    conn = host._daemons["libvirt"] = Conn()
    with pytest.raises(libvirt.libvirtError):  # not AssertionError: an ERROR, not a FAIL
        domain(host, "centos7")
    backend.breaker.timed_out(time.time(), "virsh start centos7")
    backend.breaker.timed_out(time.time(), "virsh start centos7")
    with pytest.raises(HostUnreachable, match="kvm01 stopped answering"):
        domain(host, "centos7")
    host.close()
    assert conn.closed and not host._daemons


def test_no_such_domain_is_the_students_fail():
    import libvirt

    from harness.hosts.host import Access, Host, Role
    from labs.common.kvm import domain

    class Conn:
        def lookupByName(self, name):
            err = libvirt.libvirtError(f"Domain not found: no domain with matching name '{name}'")
            err.err = (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_FROM_QEMU, "Domain not found",
                       libvirt.VIR_ERR_ERROR, None, None, None, 0, 0)
            raise err

    host = Host("kvm01", Role.KVM_HOST, TimedDockerBackend("lh-x-student-kvm01"), Access(libvirt_uri="qemu:///nowhere"))
    host._daemons["libvirt"] = Conn()
    with pytest.raises(AssertionError, match="there is no VM named centos7 on kvm01"):
        domain(host, "centos7")


def test_a_paused_container_host_is_unreachable_and_opens_the_breaker(monkeypatch):
    calls = []

    def fake_run(backend, host, line, timeout):
        calls.append(line)
        return 1, b"", b"Error response from daemon: Container lh-x is paused, unpause the container before exec\n"

    monkeypatch.setattr(local_backends, "run_with_deadline", fake_run)
    monkeypatch.setattr(local_backends, "_container_state", lambda name: "paused")
    b = TimedDockerBackend("lh-x")
    with pytest.raises(HostUnreachable, match="is paused"):
        b.run("docker ps")
    with pytest.raises(HostUnreachable, match="lh-x stopped answering .*2 timeouts"):
        b.run("docker ps")
    with pytest.raises(HostUnreachable, match="stopped answering"):
        b.run("docker ps")
    assert len(calls) == 2


def test_the_student_own_docker_errors_stay_results(monkeypatch):
    """`docker exec` of the student's own container printing "is not running" is their state."""
    monkeypatch.setattr(local_backends, "run_with_deadline",
                        lambda *a: (1, b"", b"Error response from daemon: container web is not running\n"))
    monkeypatch.setattr(local_backends, "_container_state", lambda name: "running")
    res = TimedDockerBackend("lh-x").run("docker exec web true")
    assert res.rc == 1 and "not running" in res.stderr


# --------------------------------------------------------------------------- local deadlines and caps


def test_local_output_is_capped_per_stream_and_marked():
    res = TimedLocalBackend().run("head -c 3000000 /dev/zero | tr '\\0' a; head -c 10 /dev/zero | tr '\\0' e >&2",
                                  timeout=60)
    assert res.rc == 0
    assert res.stdout.endswith(NOTE + "\n")
    assert res.stdout == "a" * OUTPUT_CAP + CUT_NOTE.decode()
    assert res.stderr == "e" * 10


def test_local_deadline_kills_the_command_and_keeps_what_it_printed():
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout, match="hello") as exc:
        TimedLocalBackend().run("echo hello; sleep 30", timeout=0.5)
    assert time.monotonic() - t0 < 5
    assert exc.value.timeout == 0.5


def test_local_deadline_also_covers_a_background_child_holding_the_output():
    t0 = time.monotonic()
    with pytest.raises(CommandTimeout):
        TimedLocalBackend().run("(sleep 30 &) ; echo started", timeout=0.5)
    assert time.monotonic() - t0 < 8


def test_a_fast_command_is_not_slowed_down():
    t0 = time.monotonic()
    res = TimedLocalBackend().run("echo out; echo err >&2; exit 3", timeout=10)
    assert (res.rc, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert time.monotonic() - t0 < 2


# --------------------------------------------------------------------------- paramiko waits


class _HungChannel:
    """A session on a frozen host: the exec request is never answered; close() wakes the waiter, as paramiko's does."""

    def __init__(self):
        self.closed = False
        self._event = threading.Event()
        self.status_event = threading.Event()

    def exec_command(self, command):
        self._event.wait()
        raise paramiko.SSHException("Channel closed.")

    def close(self):
        self.closed = True
        self._event.set()

    def exit_status_ready(self):
        return False

    def recv_ready(self):
        return False

    def recv_stderr_ready(self):
        return False


def test_exec_request_has_a_deadline():
    chan = _HungChannel()
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout):
        exec_with_deadline(chan, "exec /bin/sh", 0.3)
    assert 0.25 < time.monotonic() - t0 < 3
    assert chan.closed


def test_exec_request_answered_in_time_is_left_open():
    class Quick(_HungChannel):
        def exec_command(self, command):
            return None

    chan = Quick()
    exec_with_deadline(chan, "true", 5)
    time.sleep(0.05)
    assert not chan.closed


def test_exit_status_has_a_deadline():
    t0 = time.monotonic()
    assert wait_exit_status(_HungChannel(), 0.3) is None
    assert time.monotonic() - t0 < 2


class _ScriptedChannel:
    """Answers the shell protocol of ``Shell`` with a command printing ``size`` bytes."""

    def __init__(self, size: int):
        self.size = size
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.closed = self.eof_received = False

    def exec_command(self, command):
        pass

    def settimeout(self, t):
        pass

    def sendall(self, data: bytes):
        n = re.search(rb"__LH([0-9a-f]+)_P", data).group(1)
        body = b"x" * self.size
        self.out = [b"__LH" + n + b"_P123__\n"] + [body[i:i + 65536] for i in range(0, len(body), 65536)] \
            + [b"__LH" + n + b"_R0__"]
        self.err = [b"__LH" + n + b"_E__"]

    def recv_ready(self):
        return bool(self.out)

    def recv(self, n):
        return self.out.pop(0)

    def recv_stderr_ready(self):
        return bool(self.err)

    def recv_stderr(self, n):
        return self.err.pop(0)

    def exit_status_ready(self):
        return False


@pytest.mark.parametrize("size", [10, OUTPUT_CAP, 3 * OUTPUT_CAP + 12345])
def test_shell_output_is_capped_and_the_protocol_still_ends(size):
    shell = Shell(_ScriptedChannel(size), time.monotonic() + 10)
    rc, out, err = shell.run("cat big", time.monotonic() + 10)
    assert rc == 0 and err == b""
    if size <= OUTPUT_CAP:
        assert out == b"x" * size
    else:
        assert out == b"x" * OUTPUT_CAP + CUT_NOTE


# --------------------------------------------------------------------------- keys and passwords


def test_a_private_key_readable_by_others_is_refused_naming_file_and_mode(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    key.chmod(0o644)
    with pytest.raises(KeyFileUnsafe) as exc:
        check_key_file(str(key), "s01/docker01")
    assert str(key) in str(exc.value) and "0644" in str(exc.value)
    b = TimedParamikoBackend("192.0.2.1", key_file=str(key), label="docker01", connect_timeout=1)
    with pytest.raises(HostUnreachable, match="0644"):  # ERROR for that host, before any connection
        b.connect()
    assert b.connects == 0
    key.chmod(0o600)
    check_key_file(str(key), "s01/docker01")
    key.chmod(0o640)
    with pytest.raises(KeyFileUnsafe, match="0640"):
        check_key_file(str(key), "s01/docker01")


def test_a_password_with_host_key_policy_ignore_is_warned_about(tmp_path):
    with pytest.warns(UserWarning, match="password .*'ignore'"):
        TimedParamikoBackend("192.0.2.1", password="secret", label="docker01",
                             host_keys=HostKeyPolicy("ignore", tmp_path / "kh"))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TimedParamikoBackend("192.0.2.1", password="secret", label="docker01",
                             host_keys=HostKeyPolicy("tofu", tmp_path / "kh"))


# --------------------------------------------------------------------------- libvirt.open


def test_libvirt_open_has_a_deadline(monkeypatch):
    import libvirt

    from harness.hosts.libvirt_open import LibvirtOpenTimeout, open_libvirt

    closed = []

    class Conn:
        def close(self):
            closed.append(True)

    def slow_open(uri):
        time.sleep(0.6)
        return Conn()

    monkeypatch.setattr(libvirt, "open", slow_open)
    t0 = time.monotonic()
    with pytest.raises(LibvirtOpenTimeout, match="qemu\\+ssh://kvm01/system did not answer within 0.2s"):
        open_libvirt("qemu+ssh://kvm01/system", timeout=0.2)
    assert time.monotonic() - t0 < 0.5
    time.sleep(0.7)
    assert closed == [True]  # the late connection is not leaked
    monkeypatch.setattr(libvirt, "open", lambda uri: Conn())
    assert isinstance(open_libvirt("qemu:///system", timeout=5), Conn)


# --------------------------------------------------------------------------- evidence and terminal


def test_inspect_evidence_drops_environment_variables():
    evidence.start()
    out = json.dumps([{"Id": "abc", "Config": {"Env": ["MYSQL_ROOT_PASSWORD=hunter2"], "Image": "mysql"},
                       "ContainerConfig": {"Env": ["TOKEN=t0p"]}}])
    evidence.command("docker01", "docker inspect db", 0, out, "")
    evidence.command("docker01", "docker container inspect -f '{{json .Config.Env}}' db", 0, '["A=hunter2"]', "")
    evidence.command("docker01", "docker image inspect -f '{{json .Config}}' app", 0, '{"Env":["K=hunter2"]}', "")
    evidence.command("docker01", "docker inspect -f '{{.State.Running}}' db", 0, "true\n", "")
    items = evidence.stop()
    text = "\n".join(i.text for i in items)
    assert "hunter2" not in text and "t0p" not in text
    assert '"Image": "mysql"' in text and "true" in items[-1].text


def test_student_text_is_shown_escaped_on_the_terminal():
    from harness.core.model import CheckResult, RunResult
    from harness.reporting import score_table, terminal_safe

    nasty = "docker01: \x1b[2J\x1b[31mowned\x1b[0m\rgone \u202eevil"
    assert terminal_safe(nasty) == "docker01: \\x1b[2J\\x1b[31mowned\\x1b[0m\\rgone \\u202eevil"
    assert terminal_safe("a\tb\nc", keep_newlines=True) == "a\tb\nc"

    from harness.core.model import Outcome

    run = RunResult(run_id="r1", mode="grade", provisioner="static", started="2026-12-07T10:00:00Z")
    run.add(CheckResult(nodeid="labs/x::t[s1]", lab="dockerfile", target="s\x1b]0;x\x07", check="t", title="t",
                        points=1.0, outcome=Outcome.ERROR, message=nasty))
    table = score_table(run)
    assert "\x1b" not in table and "\r" not in table and "\x07" not in table
    assert "\\x1b[31mowned" in table


def test_progress_lines_are_sanitised():
    from harness.plugin.progress import ProgressReporter

    written = []

    class TR:
        def ensure_newline(self):
            pass

        def write_line(self, line):
            written.append(line)

    class PM:
        def get_plugin(self, name):
            return TR()

    class Config:
        pluginmanager = PM()

    ProgressReporter(Config())._write("s01: 0/1, re-run needed: \x1b[31mred\x1b[0m\r")
    assert written == ["s01: 0/1, re-run needed: \\x1b[31mred\\x1b[0m\\r"]


# --------------------------------------------------------------------------- reaping


class _Obj:
    def __init__(self, name, exc=None):
        self.name = name
        self.exc = exc
        self.removed = False

    def remove(self, **kw):
        if self.exc:
            raise self.exc
        self.removed = True


class _Coll:
    def __init__(self, objs):
        self.objs = objs

    def list(self, **kw):
        return self.objs


def _api_error(status, text):
    class Resp:
        status_code = status
        reason = text
        url = "http+docker://localhost/containers/x"

    return docker.errors.APIError(text, response=Resp(), explanation=text)


def test_removal_conflicts_never_break_a_run():
    from harness.provisioners.container import remove_labelled

    class Client:
        containers = _Coll([_Obj("c1", _api_error(409, "removal of container c1 is already in progress")),
                            _Obj("c2", docker.errors.NotFound("gone")), _Obj("c3")])
        volumes = _Coll([_Obj("v1", _api_error(409, "volume is in use")), _Obj("v2")])
        networks = _Coll([_Obj("n1", _api_error(404, "network n1 not found"))])

    lines = remove_labelled(Client(), {"org.labharness.run": "r1"})
    assert lines == ["container c1", "container c2", "container c3", "volume v1", "volume v2", "network n1"]
    assert Client.containers.objs[2].removed and Client.volumes.objs[1].removed


def test_stale_lock_files_go_with_their_dead_run(tmp_path, monkeypatch):
    from harness.provisioners import reap
    from harness.core.runs import RunLock, remove_stale_lock, stale_locks

    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(tmp_path))
    (tmp_path / "dead-run-1.lock").write_text("12345\n")
    live = RunLock("live-run-1")
    live.acquire()
    try:
        assert [r for r, _ in stale_locks()] == ["dead-run-1"]

        class Client:
            containers = _Coll([])
            volumes = _Coll([])
            networks = _Coll([])

        monkeypatch.setattr(reap, "reap_libvirt", lambda *a, **k: [])
        assert reap.reap(dry_run=True, client=Client()) == [f"run dead-run-1: lock file {tmp_path / 'dead-run-1.lock'}"]
        assert (tmp_path / "dead-run-1.lock").exists()
        assert reap.reap(client=Client()) == [f"run dead-run-1: lock file {tmp_path / 'dead-run-1.lock'}"]
        assert not (tmp_path / "dead-run-1.lock").exists()
        assert (tmp_path / "live-run-1.lock").exists()
        assert remove_stale_lock("live-run-1") is False
    finally:
        live.release()
    assert not (tmp_path / "live-run-1.lock").exists()


def test_reaping_a_named_run_takes_its_units_on_workers_too(tmp_path, monkeypatch):
    """`labctl reap --run-id R` after a distributed run: the workers ran its units as R-u<i>a<n>."""
    from harness.core.runs import LABEL_RUN, of_run
    from harness.provisioners import reap

    assert of_run("r1", "r1") and of_run("r1-u3a2", "r1")
    assert not of_run("r10-u3a2", "r1") and not of_run("r1-u3a2x", "r1") and not of_run("r1-x", "r1")
    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(tmp_path))
    for rid in ("r1-u0a1", "r1-u1a2", "r10-u0a1"):
        (tmp_path / f"{rid}.lock").write_text("1\n")

    class Labelled:
        def __init__(self, run):
            self.name, self.labels = f"lh-{run}-box", {LABEL_RUN: run}
            self.attrs = {"Labels": self.labels}

    class Coll:
        def __init__(self, objs):
            self.objs = objs

        def list(self, **kw):
            want = [f.split("=", 1) for f in kw.get("filters", {}).get("label", []) if "=" in f]
            return [o for o in self.objs if all(o.labels.get(k) == v for k, v in want)]

    class Client:
        containers = Coll([Labelled(r) for r in ("r1-u0a1", "r1-u1a2", "r10-u0a1", "r2")])
        volumes = Coll([])
        networks = Coll([])

    monkeypatch.setattr(reap, "reap_libvirt", lambda *a, **k: [])
    assert reap.reap(run_id="r1", dry_run=True, client=Client()) == [
        "run r1-u0a1: container lh-r1-u0a1-box", "run r1-u1a2: container lh-r1-u1a2-box",
        f"run r1-u0a1: lock file {tmp_path / 'r1-u0a1.lock'}", f"run r1-u1a2: lock file {tmp_path / 'r1-u1a2.lock'}"]


def test_a_run_locking_while_its_file_is_reaped_locks_the_new_file(tmp_path, monkeypatch):
    from harness.core.runs import RunLock, run_is_alive

    monkeypatch.setenv("LABHARNESS_LOCK_DIR", str(tmp_path))
    lock = RunLock("race-run-1")
    real_flock = fcntl.flock
    state = {"n": 0}

    def flock(fd, op):  # the reaper unlinks the file between the run's open and its lock, once
        if state["n"] == 0:
            state["n"] = 1
            os.unlink(tmp_path / "race-run-1.lock")
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    lock.acquire()
    monkeypatch.setattr(fcntl, "flock", real_flock)
    try:
        assert run_is_alive("race-run-1")
    finally:
        lock.release()


def test_opening_the_breaker_closes_the_connection_under_what_still_waits(monkeypatch):
    b = _frozen_backend(monkeypatch, kill_answers=False)
    closed = []

    class Client:
        def close(self):
            closed.append(True)

    b.__dict__["client"] = Client()  # as the cached_property leaves it
    with pytest.raises(CommandTimeout):
        b.run("docker ps", timeout=0.05)
    assert closed == []
    with pytest.raises(HostUnreachable, match="stopped answering"):
        b.run("docker ps", timeout=0.05)
    assert closed == [True]  # tunnels' docker/libvirt requests and any other waiter see it closed at once
