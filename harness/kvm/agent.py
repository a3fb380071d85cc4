"""A client for the lab guest's QEMU guest agent, through libvirt: readiness, commands, and its channel's state.

The agent is a virtio-serial channel (``org.qemu.guest_agent.0``) that libvirt proxies, so checks
that use it need no network path, no SSH keys and no guest credentials.
"""

from __future__ import annotations

import base64
import json
import math
import time
import xml.etree.ElementTree as ET
from typing import Any

from harness.kvm.domain_info import domain_name, domain_state
from harness.kvm.errors import AgentCommandError, AgentTimeout, AgentUnavailable, ExecTimeout, GuestError
from harness.kvm.results import ExecResult, Interface

AGENT_CHANNEL = "org.qemu.guest_agent.0"

# libvirt numbers (kept literal so this module imports, and agent_channel_state works, without libvirt)
_VIR_ERR_NO_DOMAIN = 42  # domain gone
_VIR_ERR_OPERATION_INVALID = 55  # domain is not running
_VIR_ERR_OPERATION_TIMEOUT = 68
_VIR_ERR_AGENT_UNRESPONSIVE = 86  # agent not connected / not answering in time
_VIR_ERR_AGENT_UNSYNCED = 97
_RETRYABLE = (
    _VIR_ERR_NO_DOMAIN,
    _VIR_ERR_OPERATION_INVALID,
    _VIR_ERR_OPERATION_TIMEOUT,
    _VIR_ERR_AGENT_UNRESPONSIVE,
    _VIR_ERR_AGENT_UNSYNCED,
)


def agent_channel_state(xml: str) -> str | None:
    """The agent channel of a live domain XML: None when there is none, else libvirt's
    ``state`` of it ('connected', 'disconnected', or '' when libvirt does not say)."""
    root = ET.fromstring(xml)
    for ch in root.iter("channel"):
        t = ch.find("target")
        if t is not None and t.get("name") == AGENT_CHANNEL:
            return t.get("state") or ""
    return None


class GuestAgent:
    """Client for the QEMU guest agent of one running domain, through libvirt.

    Every call has a deadline (libvirt's agent timeout is whole seconds, so sub-second
    deadlines round up to 1 s). ``libvirt_qemu`` is imported lazily so this room (the domain XML
    above all) stays usable where libvirt-python is not installed.
    """

    def __init__(self, domain: Any, *, default_timeout: float = 10.0) -> None:
        self.domain = domain
        self.default_timeout = default_timeout

    # -- raw protocol --------------------------------------------------------------------------
    def command(self, execute: str, arguments: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        """Run one agent command and return its ``return`` value.

        Raises :class:`AgentUnavailable` when the agent or domain cannot answer (worth retrying)
        and :class:`AgentCommandError` when the agent answered with an error (not worth it).
        """
        import libvirt
        import libvirt_qemu

        msg: dict[str, Any] = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        secs = max(1, math.ceil(self.default_timeout if timeout is None else timeout))
        try:
            raw = libvirt_qemu.qemuAgentCommand(self.domain, json.dumps(msg), secs, 0)
        except libvirt.libvirtError as exc:
            code = exc.get_error_code()
            text = f"{execute}: {exc.get_error_message() or exc}"
            if code in _RETRYABLE:
                raise AgentUnavailable(text) from exc
            raise AgentCommandError(text) from exc
        if raw is None:
            raise AgentUnavailable(f"{execute}: no reply from the guest agent")
        reply = json.loads(raw)
        if "error" in reply:
            err = reply["error"]
            raise AgentCommandError(f"{execute}: {err.get('class', 'error')}: {err.get('desc', err)}")
        return reply.get("return")

    def _domain_name(self) -> str:
        return domain_name(self.domain)  # a dead connection must not hide the real error

    def domain_state(self) -> str:
        """Libvirt's state of the domain, as a word (for error messages)."""
        return domain_state(self.domain)

    # -- readiness -------------------------------------------------------------------------------
    def ping(self, timeout: float = 5.0) -> None:
        """guest-ping; raises :class:`AgentUnavailable` when there is no answer in time."""
        self.command("guest-ping", timeout=timeout)

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll guest-ping until it answers; return the seconds waited.

        On timeout raise :class:`AgentTimeout` with the domain state and the last agent error,
        so a red run tells "guest never booted" from "booted but agent never connected".
        """
        start = time.monotonic()
        deadline = start + timeout
        interval = 0.1
        last = "no attempt"
        while True:
            remaining = deadline - time.monotonic()
            try:
                self.ping(timeout=min(3.0, max(remaining, 1.0)))
                return time.monotonic() - start
            except GuestError as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise AgentTimeout(
                    f"guest agent of domain {self._domain_name()} not ready within {timeout:g}s; "
                    f"domain state: {self.domain_state()}; last agent error: {last}"
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, 1.0)

    # -- commands ----------------------------------------------------------------------------------
    def exec(
        self,
        argv: list[str],
        timeout: float = 30.0,
        *,
        stdin: bytes | str | None = None,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run ``argv`` in the guest (guest-exec, then guest-exec-status until it exits).

        ``argv[0]`` is looked up in the guest's PATH. Output is captured whole (the agent
        hands it over only after exit). On timeout the process is killed (best effort, via a
        second guest-exec of ``kill -9``) and :class:`ExecTimeout` is raised.
        """
        if not argv:
            raise ValueError("argv must not be empty")
        deadline = time.monotonic() + timeout
        args: dict[str, Any] = {"path": argv[0], "arg": list(argv[1:]), "capture-output": True}
        if stdin is not None:
            data = stdin.encode() if isinstance(stdin, str) else stdin
            args["input-data"] = base64.b64encode(data).decode("ascii")
        if env:
            args["env"] = [f"{k}={v}" for k, v in env.items()]
        pid = self.command("guest-exec", args, timeout=min(10.0, max(timeout, 1.0)))["pid"]
        interval = 0.05
        while True:
            remaining = deadline - time.monotonic()
            status = self.command("guest-exec-status", {"pid": pid}, timeout=min(10.0, max(remaining, 1.0)))
            if status.get("exited"):
                sig = status.get("signal")
                rc = status.get("exitcode")
                if rc is None:
                    rc = 128 + int(sig) if sig is not None else -1
                return ExecResult(
                    rc=int(rc),
                    stdout=_b64text(status.get("out-data")),
                    stderr=_b64text(status.get("err-data")),
                    signal=int(sig) if sig is not None else None,
                )
            if time.monotonic() >= deadline:
                try:
                    self.command("guest-exec", {"path": "kill", "arg": ["-9", str(pid)]}, timeout=3)
                except GuestError:
                    pass
                raise ExecTimeout(
                    f"{self._domain_name()}: {argv!r} did not exit within {timeout:g}s (pid {pid} killed)"
                )
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            interval = min(interval * 1.5, 0.5)

    def interfaces(self, timeout: float = 10.0) -> list[Interface]:
        """guest-network-get-interfaces, as :class:`Interface` objects (lo included)."""
        out = []
        for item in self.command("guest-network-get-interfaces", timeout=timeout) or []:
            addrs = [f"{a['ip-address']}/{a['prefix']}" for a in item.get("ip-addresses", []) or []]
            out.append(Interface(item.get("name", ""), item.get("hardware-address", ""), addrs))
        return out

    def vcpus_online(self, timeout: float = 10.0) -> int:
        """How many vCPUs the guest kernel has online (guest-get-vcpus)."""
        return sum(1 for c in self.command("guest-get-vcpus", timeout=timeout) or [] if c.get("online"))

    def fsinfo(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """guest-get-fsinfo: mounted filesystems with their disks (raw agent structures)."""
        return list(self.command("guest-get-fsinfo", timeout=timeout) or [])

    def hostname(self, timeout: float = 10.0) -> str:
        """guest-get-host-name."""
        return str((self.command("guest-get-host-name", timeout=timeout) or {}).get("host-name", ""))


def _b64text(data: str | None) -> str:
    return base64.b64decode(data).decode("utf-8", "replace") if data else ""
