"""The lab guest's libvirt domain XML: a direct kernel boot of the guest image, and hot-pluggable disks and NICs.

Kernel command line understood by the guest's /init (pass via ``domain_xml(cmdline_extra=...)``):
``guestip=A.B.C.D/NN|dhcp|none`` (eth0; DHCP when absent), ``guestipN=`` (ethN), ``guestgw=``,
``guestpage=TEXT`` (``guestpage="two words"`` for spaces), ``guestagent=0`` (no qemu-ga: the agent
stays "not connected"). ``guestname=`` is set from the domain name.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Literal

from harness.kvm.agent import AGENT_CHANNEL
from harness.kvm.guest_image import GuestImage
from harness.kvm.metadata import METADATA_NS, METADATA_PREFIX

MIN_BOOT_MEMORY_MIB = 80


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
