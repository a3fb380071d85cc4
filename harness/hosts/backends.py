"""testinfra's own backends, each given a deadline per command.

testinfra runs commands with no timeout (``Popen.communicate()`` with none, paramiko
channels with none), so one hung command would hang a whole class's grading. These
subclasses keep testinfra's quoting and result types and add a deadline (``timeout=`` on
``run``) that raises ``CommandTimeout`` with the output seen so far, and ``HostUnreachable``
when the transport itself fails (container gone, SSH refused), so that a dead host is ERROR
and not FAIL. The paramiko backend also keeps one connection and one shell session per host
for the whole run, and applies the harness's host-key policy (``harness.hosts.ssh``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import secrets
import select
import shlex
import signal
import socket
import subprocess
import threading
import time
import warnings
from typing import Any

import paramiko
from testinfra.backend import base
from testinfra.backend.docker import DockerBackend
from testinfra.backend.local import LocalBackend
from testinfra.backend.paramiko import ParamikoBackend

from harness.core import evidence
from harness.core.errors import CommandTimeout, HostUnreachable
from harness.hosts.ssh import (DOCKER_BRIDGE, LIBVIRT_BRIDGE, HostKeyPolicy, SSHLoginRefused, Tunnel,
                         ChannelTimeout, check_key_file, exec_with_deadline, host_id, mismatch, wait_exit_status)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
OUTPUT_CAP = 1 << 20  # bytes kept per stream of one command (stdout, stderr)
CUT_NOTE = b"\n[... output cut at 1 MiB]\n"
_KEEP = 4096  # tail kept past the cap while a shell command runs: its end-of-command markers are there

# What `docker exec` prints when the container, not the command, is the problem.
_DOCKER_TRANSPORT_ERRORS = ("No such container", "is not running", "is paused", "Cannot connect to the Docker daemon")


class Breaker:
    """Gives up on a host that stopped answering: after ``TRIP_AFTER`` timeouts in a row (a command
    past its deadline that the host did not answer about, a connection or session that did not
    open in time), every later command of the host raises ``HostUnreachable`` at once with when it
    stopped answering, instead of waiting for its own deadline again. An answer in between (a
    command that finished, a late command killed) starts the count again. Once open it stays open
    for the run: a paused or frozen host costs about two deadlines, never one per check.
    """

    TRIP_AFTER = 2

    def __init__(self, label: str):
        self.label = label
        self.timeouts = 0
        self.since: float | None = None  # wall clock: when the first wait of the streak began
        self.last = ""
        self.tripped = False
        self.on_trip: list = []  # callbacks, run once when the breaker opens (close what waits on the host)
        self._lock = threading.Lock()

    def message(self) -> str:
        at = time.strftime("%H:%M:%S", time.localtime(self.since or time.time()))
        text = f"{self.label} stopped answering at {at} ({self.timeouts} timeouts)"
        return text + (f"; last: {self.last}" if self.last else "")

    def check(self) -> None:
        if self.tripped:
            raise HostUnreachable(self.message())

    def timed_out(self, began: float, what: object = "") -> bool:
        """Count one timeout of a wait that began at ``began`` (wall clock); True if that opened the breaker."""
        with self._lock:
            if self.tripped:
                return True
            self.timeouts += 1
            self.since = began if self.since is None else min(self.since, began)
            self.last = str(what).split("\n", 1)[0][:300]
            if self.timeouts < self.TRIP_AFTER:
                return False
            self.tripped = True
        log.warning("%s", self.message())
        for fn in self.on_trip:
            try:
                fn()
            except Exception as exc:  # closing what waits on a dead host must never hide why
                log.debug("%s: on_trip %r failed: %s", self.label, fn, exc)
        return True

    def answered(self) -> None:
        with self._lock:
            if not self.tripped:
                self.timeouts, self.since, self.last = 0, None, ""


class _Capped:
    """At most ``cap`` bytes of a stream; the rest is read and dropped, and the cut is marked."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.buf = bytearray()
        self.cap = cap
        self.cut = False

    def feed(self, data: bytes) -> None:
        room = self.cap - len(self.buf)
        if room > 0:
            self.buf += data[:room]
        if len(data) > max(room, 0):
            self.cut = True

    def value(self) -> bytes:
        return bytes(self.buf) + (CUT_NOTE if self.cut else b"")


def _capped(buf: bytearray | bytes, cap: int = OUTPUT_CAP) -> bytes:
    return bytes(buf[:cap]) + CUT_NOTE if len(buf) > cap else bytes(buf)


def _drain(fd: int, buf: _Capped) -> None:
    try:
        while chunk := os.read(fd, 65536):
            buf.feed(chunk)
    except OSError:
        pass


def _run_with_deadline(backend: base.BaseBackend, host: str, argv_shell: str, timeout: float) -> tuple[int, bytes, bytes]:
    """Run a local shell command line; on the deadline kill its whole process group.

    Each stream keeps at most ``OUTPUT_CAP`` bytes (the rest is read and dropped, so the command
    never blocks on a full pipe), marked as cut.
    """
    p = subprocess.Popen(
        argv_shell,
        shell=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    out, err = _Capped(), _Capped()
    readers = [threading.Thread(target=_drain, args=(p.stdout.fileno(), out), daemon=True),
               threading.Thread(target=_drain, args=(p.stderr.fileno(), err), daemon=True)]
    for t in readers:
        t.start()
    deadline = time.monotonic() + timeout
    try:
        p.wait(timeout=timeout)
        for t in readers:  # a background child may still hold the pipes: it has until the deadline
            t.join(max(0.0, deadline - time.monotonic()))
        late = any(t.is_alive() for t in readers)
    except subprocess.TimeoutExpired:
        late = True
    try:
        if late:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            for t in readers:
                t.join(5)
            raise CommandTimeout(host, argv_shell, timeout, backend.decode(out.value()), backend.decode(err.value()))
    finally:
        if not any(t.is_alive() for t in readers):
            p.stdout.close()
            p.stderr.close()
    return p.returncode, out.value(), err.value()


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
            rc, out, err = _run_with_deadline(self, self.name, line, timeout or DEFAULT_TIMEOUT)
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
        return _recorded(self, self.name, cmd, self.result(rc, self.encode(cmd), out, err))


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


def _container_running(name: str) -> bool:
    """Whether the host container itself runs (and is not paused)."""
    return _container_state(name) == "running"


class _ShellBroken(Exception):
    """The shell session stopped following the protocol (exited, or the channel closed)."""


class _ShellTimeout(Exception):
    def __init__(self, pid: int | None, out: bytes, err: bytes):
        super().__init__("deadline")
        self.pid, self.out, self.err = pid, out, err


class _Shell:
    """One ``/bin/sh`` session on the host that runs every command of the harness in turn.

    Opening an SSH session costs the host a fork, a PAM session and a login shell (~45 ms on the
    course's hosts); a command in an open session costs a fork (~4 ms). Each command runs as
    ``( eval 'COMMAND' ) </dev/null &`` — a subshell, so ``cd``/``export`` never leak into the
    next one, stdin closed, its pid reported so a deadline can kill it — then the shell prints
    the exit status after a marker with a random nonce on stdout and another on stderr. Output
    is kept byte for byte: the markers are cut out, never parsed out of the command's output.
    Commands run under ``/bin/sh``, as they do on container hosts (``docker exec ... /bin/sh -c``).
    """

    def __init__(self, chan: paramiko.Channel, deadline: float):
        self.chan = chan
        n = secrets.token_hex(8)
        self._pid_re = re.compile(rf"__LH{n}_P(\d+)__\n".encode())
        self._rc_re = re.compile(rf"__LH{n}_R(\d+)__\Z".encode())
        self._end = f"__LH{n}_E__".encode()
        self._tail = (f" ) </dev/null & p=$!; printf '__LH{n}_P%s__\\n' \"$p\"; wait \"$p\"; "
                      f"printf '__LH{n}_R%s__' \"$?\"; printf '__LH{n}_E__' >&2\n")
        exec_with_deadline(chan, "exec /bin/sh", max(0.1, deadline - time.monotonic()))

    def sync(self, deadline: float) -> None:
        """Run nothing once and drop what came before it (a login script that prints on a
        non-interactive login would otherwise prefix the first command's output)."""
        self.run("true", deadline)

    def run(self, command: str, deadline: float) -> tuple[int, bytes, bytes]:
        chan = self.chan
        chan.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chan.sendall(("( eval " + shlex.quote(command) + self._tail).encode("utf-8", "surrogateescape"))
        except socket.timeout:
            raise _ShellTimeout(None, b"", b"") from None
        except (OSError, paramiko.SSHException) as exc:
            raise _ShellBroken(str(exc)) from exc
        # Each stream keeps OUTPUT_CAP bytes and a short tail past it (where the markers arrive);
        # the middle is dropped as it comes, so a command printing gigabytes costs no memory.
        out, err = bytearray(), bytearray()
        scan = 0  # where the search for the pid marker goes on
        pid: int | None = None
        rc: int | None = None
        ended = False
        while rc is None or not ended:
            if not (chan.recv_ready() or chan.recv_stderr_ready()):
                if chan.closed or chan.eof_received or chan.exit_status_ready():
                    raise _ShellBroken("the shell session ended")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _ShellTimeout(pid, _capped(out), _capped(err))
                select.select([chan], [], [], min(remaining, 1.0))
            while chan.recv_ready():
                out += chan.recv(65536)
                if pid is None and (m := self._pid_re.search(out, scan)):
                    pid = int(m.group(1))
                    del out[m.start():m.end()]
                if pid is not None and rc is None and (m := self._rc_re.search(out, max(0, len(out) - 64))):
                    rc = int(m.group(1))
                    del out[m.start():]
                if len(out) > OUTPUT_CAP + 2 * _KEEP:
                    del out[OUTPUT_CAP:len(out) - _KEEP]
                scan = max(0, len(out) - 64)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                if len(err) > OUTPUT_CAP + 2 * _KEEP:
                    del err[OUTPUT_CAP:len(err) - _KEEP]
            if not ended and err.endswith(self._end):
                ended = True
                del err[-len(self._end):]
        return rc, _capped(out), _capped(err)

    def close(self) -> None:
        try:
            self.chan.close()
        except Exception:
            pass


class TimedParamikoBackend(ParamikoBackend):
    """SSH through paramiko (testinfra's backend): one connection per host for the whole run,
    one shell session on it for every command, a deadline on each command and on connecting.

    Connection failures become ``HostUnreachable`` with the reason (refused, no route, timed
    out, login refused, host key changed) and are remembered for ``RETRY_AFTER`` seconds, so
    the other labs of a student whose machine is down fail at once with the same reason
    instead of waiting for the same timeout again. A connection that drops is re-opened once.
    """

    NAME = "paramiko"
    RETRY_AFTER = 120.0

    def __init__(self, address: str, *, port: int = 22, user: str = "root", key_file: str | None = None,
                 password: str | None = None, label: str | None = None, connect_timeout: float = 10.0,
                 host_keys: HostKeyPolicy | None = None, shell: bool = True):
        super().__init__(address, ssh_identity_file=key_file, timeout=max(1, int(connect_timeout)))
        self.host = base.HostSpec(address, str(port), user, password)  # not parsed: addresses are data
        self.hostname = address
        self.label = label or address
        self.where = f"{user}@{host_id(address, port)}"
        self.connect_timeout = float(connect_timeout)
        self.host_keys = host_keys or HostKeyPolicy()
        self._use_shell = shell
        self._shell: _Shell | None = None
        self._lock = threading.RLock()
        self._failure: tuple[float, HostUnreachable] | None = None
        self._tunnels: dict[str, Tunnel] = {}
        self.connects = 0  # for tests and the benchmark: connections opened so far
        self.breaker = Breaker(self.label)
        self.breaker.on_trip.append(self._abandon)
        if password and self.host_keys.policy == "ignore":
            msg = (f"{self.label} ({self.where}): a password is sent with host key policy 'ignore': any machine "
                   f"answering at {address} gets it; use tofu or strict, or a key")
            log.warning("%s", msg)
            warnings.warn(msg, UserWarning, stacklevel=2)

    def __repr__(self) -> str:
        return f"<TimedParamikoBackend {self.label} {self.where}>"

    # ------------------------------------------------------------------ connection

    @functools.cached_property
    def client(self) -> paramiko.SSHClient:
        return self._connect()

    def _why(self, what: str) -> str:
        return f"{self.label} ({self.where}): {what}"

    def _connect(self) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        self.host_keys.prepare(client, f"{self.label} ({self.where})")
        secret = bool(self.ssh_identity_file or self.host.password)
        t = self.connect_timeout
        if self.ssh_identity_file:
            check_key_file(self.ssh_identity_file, f"{self.label} ({self.where})")
        self.connects += 1
        try:
            client.connect(
                self.host.name, port=int(self.host.port or 22), username=self.host.user,
                password=self.host.password, key_filename=self.ssh_identity_file,
                timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t,
                look_for_keys=not secret, allow_agent=not secret,
            )
        except HostUnreachable:  # the host-key policy said no
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise mismatch(f"{self.label} ({self.where})", host_id(self.host.name, int(self.host.port or 22)),
                           exc.key, exc.expected_key, self.host_keys.path) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            how = f"key {self.ssh_identity_file}" if self.ssh_identity_file else "password" if self.host.password else "agent/default keys"
            raise SSHLoginRefused(self._why(f"login as {self.host.user} refused with {how} ({exc}): "
                                            "wrong key or user, or the key is not in authorized_keys")) from None
        except (socket.timeout, TimeoutError):
            client.close()
            exc = HostUnreachable(self._why(f"no answer within {t:g}s (host down, or a firewall drops SSH)"))
            exc.timed_out = True
            raise exc from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:  # every address refused or unreachable
            client.close()
            why = "; ".join(sorted({e.strerror or str(e) for e in exc.errors.values()})) or str(exc)
            raise HostUnreachable(self._why(f"cannot connect: {why}")) from None
        except OSError as exc:
            client.close()
            raise HostUnreachable(self._why(f"cannot connect: {exc.strerror or exc}")) from None
        except (paramiko.SSHException, EOFError) as exc:
            client.close()
            raise HostUnreachable(self._why(f"SSH handshake failed: {exc or type(exc).__name__}")) from None
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(15)
        return client

    def transport(self) -> paramiko.Transport:
        """The open connection, opened (or re-opened once after a drop) on demand."""
        with self._lock:
            self.breaker.check()
            if self._failure and time.monotonic() - self._failure[0] < self.RETRY_AFTER:
                age = time.monotonic() - self._failure[0]
                raise type(self._failure[1])(f"{self._failure[1]} (failed {age:.0f}s ago; retried after {self.RETRY_AFTER:g}s)")
            if "client" in self.__dict__:
                t = self.client.get_transport()
                if t is not None and t.is_active():
                    return t
                self._drop()
            began = time.time()
            try:
                t = self.client.get_transport()
            except HostUnreachable as exc:
                self.__dict__.pop("client", None)
                self._failure = (time.monotonic(), exc)
                if getattr(exc, "timed_out", False) and self.breaker.timed_out(began, exc):
                    raise HostUnreachable(self.breaker.message()) from exc
                raise
            self._failure = None
            assert t is not None
            return t

    def open_channel(self) -> paramiko.Channel:
        """A new session on the connection, within ``connect_timeout`` (a frozen host never opens one)."""
        transport = self.transport()
        began = time.time()
        try:
            return transport.open_session(timeout=self.connect_timeout)
        except paramiko.SSHException as exc:
            if "Timeout" not in str(exc):
                raise
            why = self._why(f"no session opened within {self.connect_timeout:g}s")
            if self.breaker.timed_out(began, why):
                raise HostUnreachable(self.breaker.message()) from None
            raise ChannelTimeout(why) from None

    def connect(self) -> None:
        """Open the connection now (raises ``HostUnreachable`` with the reason)."""
        self.transport()

    def _abandon(self) -> None:
        """The breaker opened: close the connection under whatever still waits on it (a shell command,
        a docker or libvirt request through a tunnel), without the lock a waiting command holds.
        Nothing re-opens it: ``transport()`` asks the breaker first."""
        client = self.__dict__.get("client")
        if client is not None:
            client.close()

    def _drop(self) -> None:
        if self._shell:
            self._shell.close()
            self._shell = None
        client = self.__dict__.pop("client", None)
        if client is not None:
            client.close()

    def close(self) -> None:
        with self._lock:
            for t in self._tunnels.values():
                t.close()
            self._tunnels.clear()
            self._drop()

    def tunnel(self, kind: str) -> str:
        """A local unix socket reaching the host's ``libvirt`` or ``docker`` daemon over this connection."""
        with self._lock:
            if kind not in self._tunnels:
                remote = {"libvirt": LIBVIRT_BRIDGE, "docker": DOCKER_BRIDGE}[kind]
                self._tunnels[kind] = Tunnel(self.open_channel, remote, kind, self.label)
            return self._tunnels[kind].path

    # ------------------------------------------------------------------ commands

    def run(self, command: str, *args: str, timeout: float | None = None, **kwargs: Any) -> base.CommandResult:
        cmd = self.get_command(command, *args)
        timeout = timeout or DEFAULT_TIMEOUT
        with self._lock:
            self.breaker.check()
            began = time.time()
            try:
                rc, out, err = self._run(cmd, timeout)
            except (HostUnreachable, CommandTimeout):
                raise
            except (socket.timeout, TimeoutError) as exc:  # a send or a request not answered in time
                why = self._why(f"no answer within the deadline ({exc or 'timed out'}) running `{cmd[:200]}`")
                self._drop_shell()
                if self.breaker.timed_out(began, why):
                    raise HostUnreachable(self.breaker.message()) from exc
                raise HostUnreachable(why) from exc
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if "client" in self.__dict__ and self.client.get_transport() and self.client.get_transport().is_active():
                    raise HostUnreachable(self._why(f"SSH failed: {exc}")) from exc
                log.warning("%s: connection lost (%s); reconnecting once", self.label, exc)
                self._drop()
                try:
                    rc, out, err = self._run(cmd, timeout)
                except (HostUnreachable, CommandTimeout):
                    raise
                except (paramiko.SSHException, OSError, EOFError) as exc2:
                    raise HostUnreachable(self._why(f"SSH failed: {exc2}")) from exc2
            self.breaker.answered()
        return _recorded(self, self.label, cmd, self.result(rc, self.encode(cmd), out, err))

    def _drop_shell(self) -> None:
        if self._shell is not None:
            self._shell.close()
            self._shell = None

    def _timed_out(self, began: float, exc: CommandTimeout, answered: bool) -> CommandTimeout | HostUnreachable:
        """A command past its deadline: the breaker counts it unless the host answered right after
        (the late command was killed); what to raise."""
        if answered:
            self.breaker.answered()
            return exc
        if self.breaker.timed_out(began, exc):
            err = HostUnreachable(self.breaker.message())
            err.__cause__ = exc
            return err
        return exc

    def _run(self, cmd: str, timeout: float) -> tuple[int, bytes, bytes]:
        deadline = time.monotonic() + timeout
        began = time.time()
        if self._use_shell:
            fresh = self._shell is None
            try:
                if fresh:
                    self._shell = _Shell(self.open_channel(), deadline)
                    self._shell.sync(deadline)
                return self._shell.run(cmd, deadline)
            except _ShellTimeout as t:
                answered = self._kill(t.pid)
                self._drop_shell()
                exc = CommandTimeout(self.label, cmd, timeout, self.decode(t.out), self.decode(t.err))
                raise self._timed_out(began, exc, answered) from None
            except _ShellBroken as exc:
                self._drop_shell()
                if not self.transport().is_active():
                    raise paramiko.SSHException(str(exc)) from None
                if fresh:  # this host's shell does not follow the protocol: one session per command from now on
                    log.warning("%s: no persistent shell (%s); one SSH session per command", self.label, exc)
                    self._use_shell = False
                else:
                    raise HostUnreachable(self._why(f"the shell session ended while running `{cmd[:200]}`")) from None
        return self._exec(cmd, deadline, timeout)

    def _kill(self, pid: int | None) -> bool:
        """Stop a command that ran past its deadline (its children first), in a session of its own.

        True if the host answered (the kill ran): the command hung, not the host.
        """
        if pid is None:
            return False
        try:
            chan = self.open_channel()
            t = min(self.connect_timeout, 10.0)
            exec_with_deadline(chan, f"pkill -KILL -P {pid} 2>/dev/null; kill -KILL {pid} 2>/dev/null; true", t)
            rc = wait_exit_status(chan, t)
            chan.close()
            return rc is not None
        except Exception as exc:
            log.warning("%s: could not stop pid %s after its deadline: %s", self.label, pid, exc)
            return False

    def _exec(self, cmd: str, deadline: float, timeout: float) -> tuple[int, bytes, bytes]:
        """One SSH session for one command (hosts where the shell session is not usable)."""
        began = time.time()
        chan = self.open_channel()
        exec_with_deadline(chan, self.encode(cmd), max(0.1, deadline - time.monotonic()))
        out, err = _Capped(), _Capped()
        while True:
            while chan.recv_ready():
                out.feed(chan.recv(65536))
            while chan.recv_stderr_ready():
                err.feed(chan.recv_stderr(65536))
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            if chan.closed:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                chan.close()
                exc = CommandTimeout(self.label, cmd, timeout, self.decode(out.value()), self.decode(err.value()))
                raise self._timed_out(began, exc, False)
            select.select([chan], [], [], min(remaining, 1.0))
        rc = wait_exit_status(chan, max(0.1, deadline - time.monotonic()))
        chan.close()
        return (-1 if rc is None else rc), out.value(), err.value()
