"""One L1 host as data (``L1Spec``), the domain XML rendered from it, and a cold boot of it.

Per host, the kernel command line carries its name, address, peers and roles; the image's
initrd writes them into the overlay before systemd starts (``images/hostimage/init``), so no
per-host set-up runs after boot and there is no DHCP wait. Under TCG the L1s get
``<cpu mode='maximum'>`` — QEMU emulates AMD SVM, so ``kvm_amd`` loads in the L1 and lab guests
(L2) run with ``type='kvm'`` there; where the hypervisor has KVM, the L1s get KVM with
``host-passthrough``. Each domain's ``<metadata>`` (``<lh:run run_id=... kind="l1-host">``)
says whose it is, which is what the reaper goes by.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.core.errors import ProvisioningError
from harness.kvm.metadata import METADATA_NS, METADATA_PREFIX
from harness.core.lab import Role

if TYPE_CHECKING:
    from harness.provisioners.libvirt.hypervisor import Hypervisor

MEMORY_MIB = int(os.environ.get("LABHARNESS_L1_MEMORY", "1536"))
TB_CACHE_MIB = 256  # TCG translation cache cap (notes/nested.md: default 1 GiB becomes resident)


def _et(tag: str, attrib: dict[str, str] | None = None, text: str | None = None, parent: ET.Element | None = None) -> ET.Element:
    el = ET.Element(tag, attrib or {}) if parent is None else ET.SubElement(parent, tag, attrib or {})
    if text is not None:
        el.text = text
    return el


@dataclass(frozen=True)
class L1Spec:
    """What one L1 host is made of (the domain XML is rendered from it)."""

    name: str  # the domain's name
    hostname: str  # the course's host name (kvm01, docker01)
    roles: tuple[Role, ...]
    domain_type: str  # "qemu" (TCG) or "kvm"
    disk: str
    kernel: str | None
    initrd: str | None
    mac: str
    ip: str  # A.B.C.D/NN
    gateway: str
    peers: tuple[tuple[str, str], ...]  # (hostname, address) of the topology's hosts
    network: str
    memory_mib: int
    vcpus: int
    console: str | None
    data_disk: str | None = None  # docker hosts: an overlay of the docker-data disk (/var/lib/docker), vdb
    unique: bool = False  # restored clones: other hosts of its role in the topology (own libvirt/gluster UUIDs)
    metadata: tuple[tuple[str, str], ...] = ()


def domain_xml(spec: L1Spec) -> str:
    """The L1 host's domain XML (ElementTree: names and paths are escaped, never pasted)."""
    dom = _et("domain", {"type": spec.domain_type})
    _et("name", text=spec.name, parent=dom)
    md = _et("metadata", parent=dom)
    run = ET.SubElement(md, f"{METADATA_PREFIX}:run", {f"xmlns:{METADATA_PREFIX}": METADATA_NS})
    for k, v in spec.metadata:
        run.set(k, v)
    _et("memory", {"unit": "MiB"}, str(spec.memory_mib), dom)
    _et("vcpu", {"placement": "static"}, str(spec.vcpus), dom)
    os_el = _et("os", parent=dom)
    _et("type", {"arch": "x86_64", "machine": "pc"}, "hvm", os_el)
    if spec.kernel:
        _et("kernel", text=spec.kernel, parent=os_el)
        _et("initrd", text=spec.initrd, parent=os_el)
        peers = ",".join(f"{n}={a}" for n, a in spec.peers)
        roles = ",".join(r.value for r in spec.roles)
        cmdline = (f"root=/dev/vda rw console=ttyS0 quiet net.ifnames=0 apparmor=0 mitigations=off "
                   f"systemd.hostname={spec.hostname} lh.ip={spec.ip} lh.gw={spec.gateway} "
                   f"lh.hosts={peers} lh.role={roles}" + (" lh.docker=/dev/vdb" if spec.data_disk else ""))
        _et("cmdline", text=cmdline, parent=os_el)
    else:
        _et("boot", {"dev": "hd"}, parent=os_el)
    features = _et("features", parent=dom)
    _et("acpi", parent=features)  # without it a 6.1 kernel hangs after "A valid RSDP was not found"
    _et("apic", parent=features)
    if spec.domain_type == "qemu":
        tcg = _et("tcg", parent=features)
        _et("tb-cache", {"unit": "MiB"}, str(TB_CACHE_MIB), tcg)
        _et("cpu", {"mode": "maximum", "check": "none"}, parent=dom)  # AMD SVM emulated: L2 under KVM
    else:
        _et("cpu", {"mode": "host-passthrough", "check": "none", "migratable": "off"}, parent=dom)
    _et("clock", {"offset": "utc"}, parent=dom)
    _et("on_poweroff", text="destroy", parent=dom)
    _et("on_reboot", text="restart", parent=dom)
    _et("on_crash", text="destroy", parent=dom)
    dev = _et("devices", parent=dom)
    disk = _et("disk", {"type": "file", "device": "disk"}, parent=dev)
    _et("driver", {"name": "qemu", "type": "qcow2", "cache": "unsafe", "discard": "unmap"}, parent=disk)
    _et("source", {"file": spec.disk}, parent=disk)
    _et("target", {"dev": "vda", "bus": "virtio"}, parent=disk)
    if spec.data_disk:
        d = _et("disk", {"type": "file", "device": "disk"}, parent=dev)
        _et("driver", {"name": "qemu", "type": "qcow2", "cache": "unsafe", "discard": "unmap"}, parent=d)
        _et("source", {"file": spec.data_disk}, parent=d)
        _et("target", {"dev": "vdb", "bus": "virtio"}, parent=d)
    nic = _et("interface", {"type": "network"}, parent=dev)
    _et("source", {"network": spec.network}, parent=nic)
    _et("mac", {"address": spec.mac}, parent=nic)
    _et("model", {"type": "virtio"}, parent=nic)
    serial = _et("serial", {"type": "pty"}, parent=dev)
    if spec.console:
        _et("log", {"file": spec.console, "append": "off"}, parent=serial)
    _et("target", {"port": "0"}, parent=serial)
    console = _et("console", {"type": "pty"}, parent=dev)
    _et("target", {"type": "serial", "port": "0"}, parent=console)
    chan = _et("channel", {"type": "unix"}, parent=dev)
    _et("target", {"type": "virtio", "name": "org.qemu.guest_agent.0"}, parent=chan)
    rng = _et("rng", {"model": "virtio"}, parent=dev)
    _et("backend", {"model": "random"}, "/dev/urandom", rng)
    _et("memballoon", {"model": "none"}, parent=dev)
    ET.indent(dom, "  ")
    return ET.tostring(dom, encoding="unicode")


def new_mac() -> str:
    """A random MAC in QEMU's 52:54:00 range."""
    b = secrets.token_bytes(3)
    return "52:54:00:%02x:%02x:%02x" % (b[0], b[1], b[2])


def boot(hv: Hypervisor, spec: L1Spec, disk: str, docker_base: str | None, why: str) -> None:
    """A cold boot: overlays on the image (and on the docker-data disk), then the domain."""
    import libvirt

    overlay = hv.overlay(spec.disk, disk)
    data = hv.overlay(spec.data_disk, docker_base) if spec.data_disk and docker_base else None
    xml = domain_xml(dataclasses.replace(spec, disk=overlay, data_disk=data))
    try:
        hv.conn.createXML(xml, 0)
    except libvirt.libvirtError as exc:
        raise ProvisioningError(f"{hv.uri}: starting {spec.name} ({spec.domain_type}: {why}) failed: "
                                f"{exc.get_error_message()}") from None
