"""The lab guest: its image, its libvirt domain XML, and a client for its guest agent.

The guest is a Debian 12 cloud kernel plus a busybox initramfs with qemu-guest-agent and an SSH
server (dropbear, root / ``123456`` like the course's VMs are assumed to have), built by
``images/guest/build.sh``. It boots to ``LABGUEST up`` on its serial console in a few seconds
under TCG with 128 MiB, which is what makes real libvirt labs affordable on a 2-core CI box
without KVM. Checks talk to it through the QEMU guest agent (a virtio-serial channel that libvirt
proxies), so they need no network path, no SSH keys and no guest credentials. Checks that must
also read VMs the course made (no agent) use ``harness.kvm.guest_ssh.GuestView``: the agent when it
answers, else SSH through the KVM host.

Kernel command line understood by the guest's /init (pass via ``domain_xml(cmdline_extra=...)``):
``guestip=A.B.C.D/NN|dhcp|none`` (eth0; DHCP when absent), ``guestipN=`` (ethN), ``guestgw=``,
``guestpage=TEXT`` (``guestpage="two words"`` for spaces), ``guestagent=0`` (no qemu-ga: the agent
stays "not connected"). ``guestname=`` is set from the domain name.

Nothing here keeps global state: every object carries what it needs, so parallel tests can use
several guests and connections at once.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.core.errors import HarnessError

#: XML namespace of the harness's ``<metadata>`` element (``<lh:run>``). ``.invalid`` can never
#: resolve, which is what a private namespace URI should do.
METADATA_NS = "https://labharness.invalid/1"
METADATA_PREFIX = "lh"
AGENT_CHANNEL = "org.qemu.guest_agent.0"
UP_MARKER = "LABGUEST up"
BUILD_SCRIPT = "images/guest/build.sh"
DEFAULT_CACHE = "/var/cache/labharness"
MIN_BOOT_MEMORY_MIB = 80

# libvirt numbers (kept literal so this module imports, and its XML half works, without libvirt)
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
_DOMAIN_STATES = {
    0: "nostate",
    1: "running",
    2: "blocked",
    3: "paused",
    4: "shutdown",
    5: "shutoff",
    6: "crashed",
    7: "pmsuspended",
}


# ------------------------------------------------------------------------------------- errors
class GuestError(HarnessError):
    """Base of everything this module raises about the lab guest (image, domain, agent).

    A HarnessError: a check that cannot reach the guest is ERROR, never FAIL; a check that
    blames the student must say so with an assertion (e.g. "the VM is not running")."""


class GuestImageMissing(GuestError):
    """The kernel/initrd are not in the cache: ``images/guest/build.sh`` has not run."""


class AgentUnavailable(GuestError):
    """The guest agent did not answer (not connected yet, domain not running, or timed out)."""


class AgentTimeout(AgentUnavailable):
    """``wait_ready`` ran out of time; the message states the last state seen."""


class AgentCommandError(GuestError):
    """The agent answered, with an error (bad arguments, unknown command, exec failure)."""


class ExecTimeout(GuestError):
    """A command started with ``GuestAgent.exec`` did not exit before its deadline."""


# -------------------------------------------------------------------------------------- image
def default_cache_dir() -> Path:
    """``$LABHARNESS_CACHE`` or /var/cache/labharness, read at call time (no import-time state)."""
    return Path(os.environ.get("LABHARNESS_CACHE") or DEFAULT_CACHE)


@dataclass(frozen=True)
class GuestImage:
    """Kernel + initrd of the lab guest, as built by ``images/guest/build.sh``.

    ``version`` is the recipe hash (``VERSION``), recorded so a report can say which guest
    a run used; ``kernel_release`` names the guest kernel (e.g. ``6.1.0-56-cloud-amd64``).
    """

    kernel: Path
    initrd: Path
    version: str = ""
    kernel_release: str = ""

    @classmethod
    def from_cache(cls, cache_dir: str | os.PathLike[str] | None = None) -> GuestImage:
        """Load the image from ``<cache_dir>/guest/`` (cache_dir defaults to $LABHARNESS_CACHE).

        A directory that itself holds ``vmlinuz`` is accepted too. Raises
        :class:`GuestImageMissing` naming the build script, because the only fix is to run it.
        """
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        guest_dir = root if (root / "vmlinuz").exists() and not (root / "guest").is_dir() else root / "guest"
        kernel, initrd = guest_dir / "vmlinuz", guest_dir / "initrd.gz"
        missing = [str(p) for p in (kernel, initrd) if not p.is_file() or p.stat().st_size == 0]
        if missing:
            raise GuestImageMissing(
                f"lab guest image not built: missing {', '.join(missing)}; run "
                f"`LABHARNESS_CACHE={root} {BUILD_SCRIPT}` (downloads the Debian cloud kernel "
                f"and qemu-guest-agent .debs, ~30 MB, once)"
            )

        def read(name: str) -> str:
            p = guest_dir / name
            return p.read_text().strip() if p.is_file() else ""

        return cls(kernel, initrd, read("VERSION"), read("KERNEL_RELEASE"))


# ------------------------------------------------------------------------------- domain XML
@dataclass(frozen=True)
class Disk:
    """A disk of the domain. ``path`` under /dev/ becomes a block disk, anything else a file."""

    path: str | os.PathLike[str]
    target: str = "vda"
    fmt: Literal["qcow2", "raw"] = "qcow2"
    bus: Literal["virtio", "scsi", "sata"] = "virtio"
    readonly: bool = False


@dataclass(frozen=True)
class Nic:
    """A NIC on a libvirt network (``kind='network'``) or a host bridge (``kind='bridge'``)."""

    source: str
    kind: Literal["network", "bridge"] = "network"
    mac: str | None = None
    model: str = "virtio"


_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
_MAC = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")


def guest_hostname(name: str) -> str:
    """A valid hostname (and kernel-cmdline-safe word) derived from a domain name."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:63].strip("-")
    return host or "labguest"


def domain_xml(
    name: str,
    image: GuestImage,
    disks: list[Disk] | None = None,
    nics: list[Nic] | None = None,
    memory_mib: int = 128,
    max_memory_mib: int | None = None,
    vcpus: int = 1,
    max_vcpus: int | None = None,
    domain_type: Literal["qemu", "kvm"] = "qemu",
    cmdline_extra: str = "",
    serial_log: str | os.PathLike[str] | None = None,
    metadata: dict[str, str] | None = None,
    tb_cache_mib: int | None = None,
) -> str:
    """Libvirt domain XML booting the lab guest by direct kernel boot.

    Built with ElementTree so that names, paths and metadata values are escaped, never pasted.
    ``max_memory_mib`` is the boot-time size (``<memory>``) and ``memory_mib`` the balloon target
    (``<currentMemory>``), so ``setmem`` can go up to the maximum live. Likewise
    ``max_vcpus`` > ``vcpus`` leaves hot-pluggable vCPUs for ``setvcpus --live`` (the guest
    onlines them itself). ``metadata`` lands as attributes of ``<lh:run>`` in the harness's
    namespace, so ``run_id`` etc. can be found again with :func:`read_metadata` to clean up
    after a crashed run.

    ``tb_cache_mib`` caps QEMU's TCG translation cache (default 1 GiB, allocated lazily: for
    this guest RSS was the same, ~245 MiB, with 64 MiB or the default). It cannot be combined
    with vCPU hot-plug: QEMU 7.2 aborts (``tcg_region_initial_alloc__locked: assertion failed``)
    when a vCPU is hot-added after the running vCPUs used up the cache's regions, which with
    64 MiB happens during boot.
    """
    disks = list(disks or [])
    nics = list(nics or [])
    if domain_type not in ("qemu", "kvm"):
        raise ValueError(f"domain_type must be 'qemu' or 'kvm', not {domain_type!r}")
    max_mem = max_memory_mib if max_memory_mib is not None else memory_mib
    if max_mem < MIN_BOOT_MEMORY_MIB:
        # measured: with 64 MiB the kernel hangs silently right after the BIOS (80 MiB boots)
        raise ValueError(f"{max_mem} MiB at boot: the guest kernel needs at least {MIN_BOOT_MEMORY_MIB} MiB to boot")
    if memory_mib < 32:
        raise ValueError(f"memory_mib={memory_mib}: below 32 MiB the balloon starves the guest")
    if max_mem < memory_mib:
        raise ValueError(f"max_memory_mib={max_mem} is below memory_mib={memory_mib}")
    max_cpu = max_vcpus if max_vcpus is not None else vcpus
    if vcpus < 1 or max_cpu < vcpus:
        raise ValueError(f"vcpus={vcpus}, max_vcpus={max_vcpus}: need 1 <= vcpus <= max_vcpus")
    if tb_cache_mib is not None and max_cpu > vcpus:
        raise ValueError("tb_cache_mib cannot be combined with max_vcpus > vcpus (QEMU aborts on vCPU hot-plug)")
    targets = [d.target for d in disks]
    if len(set(targets)) != len(targets):
        raise ValueError(f"duplicate disk targets: {targets}")

    dom = ET.Element("domain", type=domain_type)
    ET.SubElement(dom, "name").text = name
    if metadata:
        md = ET.SubElement(dom, "metadata")
        # a literal prefixed tag + xmlns attribute: no ET.register_namespace (process-global state)
        run = ET.SubElement(md, f"{METADATA_PREFIX}:run", {f"xmlns:{METADATA_PREFIX}": METADATA_NS})
        for key, value in metadata.items():
            if not _XML_NAME.match(key) or key.lower().startswith("xml"):
                raise ValueError(f"metadata key {key!r} is not a usable XML attribute name")
            run.set(key, str(value))
    ET.SubElement(dom, "memory", unit="MiB").text = str(max_mem)
    ET.SubElement(dom, "currentMemory", unit="MiB").text = str(memory_mib)
    vcpu = ET.SubElement(dom, "vcpu", placement="static")
    vcpu.text = str(max_cpu)
    if max_cpu != vcpus:
        vcpu.set("current", str(vcpus))

    os_el = ET.SubElement(dom, "os")
    ET.SubElement(os_el, "type", arch="x86_64", machine="pc").text = "hvm"
    ET.SubElement(os_el, "kernel").text = str(image.kernel)
    ET.SubElement(os_el, "initrd").text = str(image.initrd)
    cmdline = f"console=ttyS0 rdinit=/init quiet guestname={guest_hostname(name)}"
    if cmdline_extra.strip():
        cmdline += " " + cmdline_extra.strip()
    ET.SubElement(os_el, "cmdline").text = cmdline

    features = ET.SubElement(dom, "features")
    ET.SubElement(features, "acpi")  # power button (virsh shutdown) + PCI/CPU hotplug
    ET.SubElement(features, "apic")
    if domain_type == "qemu" and tb_cache_mib:
        tcg = ET.SubElement(features, "tcg")
        ET.SubElement(tcg, "tb-cache", unit="MiB").text = str(tb_cache_mib)
    if domain_type == "qemu":
        cpu = ET.SubElement(dom, "cpu", mode="custom", match="exact")
        ET.SubElement(cpu, "model", fallback="allow").text = "qemu64"
    else:
        ET.SubElement(dom, "cpu", mode="host-passthrough", check="none")
    ET.SubElement(dom, "on_poweroff").text = "destroy"
    ET.SubElement(dom, "on_reboot").text = "restart"
    ET.SubElement(dom, "on_crash").text = "destroy"

    devices = ET.SubElement(dom, "devices")
    for d in disks:
        devices.append(disk_element(d))
    if any(d.bus == "scsi" for d in disks):
        ET.SubElement(devices, "controller", type="scsi", index="0", model="virtio-scsi")
    for n in nics:
        devices.append(nic_element(n))
    serial = ET.SubElement(devices, "serial", type="pty")
    if serial_log is not None:
        ET.SubElement(serial, "log", file=str(serial_log), append="off")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    channel = ET.SubElement(devices, "channel", type="unix")
    ET.SubElement(channel, "target", type="virtio", name=AGENT_CHANNEL)
    ET.SubElement(devices, "memballoon", model="virtio")
    ET.indent(dom, "  ")
    return ET.tostring(dom, encoding="unicode")


def disk_element(disk: Disk) -> ET.Element:
    """The ``<disk>`` element for ``disk`` (also what ``attachDeviceFlags`` takes, via
    :func:`disk_xml`, to hot-plug it)."""
    if disk.fmt not in ("qcow2", "raw"):
        raise ValueError(f"disk format must be qcow2 or raw, not {disk.fmt!r}")
    if disk.bus not in ("virtio", "scsi", "sata"):
        raise ValueError(f"disk bus must be virtio, scsi or sata, not {disk.bus!r}")
    path = str(disk.path)
    block = path.startswith("/dev/")
    el = ET.Element("disk", type="block" if block else "file", device="disk")
    ET.SubElement(el, "driver", name="qemu", type=disk.fmt)
    ET.SubElement(el, "source", {"dev" if block else "file": path})
    ET.SubElement(el, "target", dev=disk.target, bus=disk.bus)
    if disk.readonly:
        ET.SubElement(el, "readonly")
    return el


def nic_element(nic: Nic) -> ET.Element:
    """The ``<interface>`` element for ``nic`` (see :func:`nic_xml` for hot-plugging)."""
    if nic.kind not in ("network", "bridge"):
        raise ValueError(f"nic kind must be 'network' or 'bridge', not {nic.kind!r}")
    el = ET.Element("interface", type=nic.kind)
    ET.SubElement(el, "source", {nic.kind: nic.source})
    if nic.mac is not None:
        if not _MAC.match(nic.mac):
            raise ValueError(f"not a MAC address: {nic.mac!r}")
        ET.SubElement(el, "mac", address=nic.mac.lower())
    ET.SubElement(el, "model", type=nic.model)
    return el


def disk_xml(disk: Disk) -> str:
    """``<disk>`` XML for ``virDomain.attachDeviceFlags`` (live hot-plug)."""
    return ET.tostring(disk_element(disk), encoding="unicode")


def nic_xml(nic: Nic) -> str:
    """``<interface>`` XML for ``virDomain.attachDeviceFlags`` (live hot-plug)."""
    return ET.tostring(nic_element(nic), encoding="unicode")


def read_metadata(xml: str) -> dict[str, str]:
    """The ``<lh:run>`` key/values of a domain XML (``dom.XMLDesc()``) or of the bare element
    that ``dom.metadata(VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)`` returns (libvirt hands
    that back without its namespace: ``<run run_id="..."/>``); {} when absent."""
    root = ET.fromstring(xml)
    tag = f"{{{METADATA_NS}}}run"
    run = root if root.tag in (tag, "run") else root.find(f"metadata/{tag}")
    return dict(run.attrib) if run is not None else {}


def domain_metadata(domain: Any) -> dict[str, str]:
    """The harness metadata of a libvirt domain ({} for domains the harness did not make)."""
    import libvirt

    try:
        return read_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return {}
        raise


# ------------------------------------------------------------------------------- console log
def wait_for_console(
    log_path: str | os.PathLike[str], pattern: str = UP_MARKER, timeout: float = 60.0, *, start: int = 0
) -> str:
    """Wait until a line of the serial log (``domain_xml(serial_log=...)``) matches the regex
    ``pattern``, and return that line. ``start`` skips that many bytes (an earlier boot).

    The console is how the guest reports boot progress before the agent exists, so a timeout
    here quotes the log's tail: it shows where the boot stopped.
    """
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    interval = 0.05
    while True:
        text = ""
        try:
            with open(log_path, "rb") as f:
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            pass
        for line in text.splitlines():
            if rx.search(line):
                return line.strip()
        if time.monotonic() >= deadline:
            tail = _printable(text)[-600:] or "(empty or missing)"
            raise GuestError(
                f"no console line matching /{pattern}/ in {log_path} within {timeout:g}s; log tail: {tail}"
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def _printable(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc|[\x00-\x08\x0b-\x1f]", "", text)


# -------------------------------------------------------------------------------- guest agent
@dataclass(frozen=True)
class ExecResult:
    """Outcome of a command run in the guest. ``signal`` is set (and ``rc`` is 128+signal, as
    a shell reports it) when the command was killed by a signal."""

    rc: int
    stdout: str
    stderr: str
    signal: int | None = None

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass(frozen=True)
class Interface:
    """A guest network interface as the agent reports it; ``addresses`` are ``ip/prefix``."""

    name: str
    mac: str
    addresses: list[str] = field(default_factory=list)

    @property
    def ipv4(self) -> list[str]:
        return [a for a in self.addresses if ":" not in a]


class GuestAgent:
    """Client for the QEMU guest agent of one running domain, through libvirt.

    Every call has a deadline (libvirt's agent timeout is whole seconds, so sub-second
    deadlines round up to 1 s). ``libvirt_qemu`` is imported lazily so this module's XML half
    stays usable where libvirt-python is not installed.
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
        try:
            return str(self.domain.name())
        except Exception:  # a dead connection must not hide the real error
            return "?"

    def domain_state(self) -> str:
        """Libvirt's state of the domain, as a word (for error messages)."""
        try:
            state, reason = self.domain.state()
            return f"{_DOMAIN_STATES.get(state, str(state))} (reason {reason})"
        except Exception as exc:
            return f"unknown ({type(exc).__name__}: {exc})"

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
