"""Unit tests of the lab guest's domain XML, image lookup and the KVM probe's cache.

The XML is parsed back (never compared as text) so the tests pin what libvirt will see:
devices, escaping, metadata; where libvirt's own schema validator is installed it checks the
XML too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.kvm import accel
from harness.kvm.agent import AGENT_CHANNEL
from harness.kvm.domain_xml import Disk, Nic, disk_xml, domain_xml, guest_hostname, nic_xml
from harness.kvm.errors import GuestImageMissing
from harness.kvm.guest_image import GuestImage
from harness.kvm.metadata import METADATA_NS, read_metadata

IMG = GuestImage(Path("/cache/guest/vmlinuz"), Path("/cache/guest/initrd.gz"), "abc", "6.1.0-56-cloud-amd64")


def parse(xml: str) -> ET.Element:
    return ET.fromstring(xml)


def test_minimal_domain_boots_the_guest_kernel_under_tcg() -> None:
    dom = parse(domain_xml("lhtest-a", IMG))
    assert dom.get("type") == "qemu"
    assert dom.findtext("name") == "lhtest-a"
    assert dom.findtext("os/kernel") == "/cache/guest/vmlinuz"
    assert dom.findtext("os/initrd") == "/cache/guest/initrd.gz"
    cmdline = dom.findtext("os/cmdline") or ""
    assert "console=ttyS0" in cmdline and "rdinit=/init" in cmdline and "guestname=lhtest-a" in cmdline
    assert dom.find("os/type").get("machine") == "pc"
    cpu = dom.find("cpu")
    assert (cpu.get("mode"), cpu.get("match")) == ("custom", "exact")
    assert cpu.find("model").text == "qemu64" and cpu.find("model").get("fallback") == "allow"
    assert dom.find("features/acpi") is not None  # virsh shutdown + hotplug need ACPI
    assert dom.find("features/tcg") is None
    assert dom.findtext("memory") == "128" and dom.find("memory").get("unit") == "MiB"
    assert dom.findtext("currentMemory") == "128"
    assert dom.findtext("vcpu") == "1" and dom.find("vcpu").get("current") is None
    assert dom.find("metadata") is None
    assert dom.findall("devices/disk") == [] and dom.findall("devices/interface") == []


def test_agent_channel_serial_console_and_balloon() -> None:
    dom = parse(domain_xml("lhtest-a", IMG, serial_log="/var/log/lh/a.log"))
    ch = dom.find("devices/channel")
    assert ch.get("type") == "unix"
    assert ch.find("target").attrib == {"type": "virtio", "name": AGENT_CHANNEL}
    serial = dom.find("devices/serial")
    assert serial.get("type") == "pty"
    assert serial.find("log").get("file") == "/var/log/lh/a.log"
    assert dom.find("devices/console/target").get("type") == "serial"
    assert dom.find("devices/memballoon").get("model") == "virtio"
    assert parse(domain_xml("lhtest-a", IMG)).find("devices/serial/log") is None


def test_disks_file_block_raw_qcow2_and_scsi_controller() -> None:
    dom = parse(
        domain_xml(
            "lhtest-a",
            IMG,
            disks=[
                Disk("/images/a b.qcow2"),
                Disk("/images/b.raw", target="vdb", fmt="raw"),
                Disk("/dev/vg0/lv1", target="sda", fmt="raw", bus="scsi", readonly=True),
            ],
        )
    )
    disks = dom.findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb", "sda"]
    a, b, c = disks
    assert a.get("type") == "file" and a.find("source").get("file") == "/images/a b.qcow2"
    assert a.find("driver").attrib == {"name": "qemu", "type": "qcow2"}
    assert a.find("target").get("bus") == "virtio"
    assert b.find("driver").get("type") == "raw"
    assert c.get("type") == "block" and c.find("source").get("dev") == "/dev/vg0/lv1"
    assert c.find("target").get("bus") == "scsi" and c.find("readonly") is not None
    ctl = dom.find("devices/controller")
    assert (ctl.get("type"), ctl.get("model")) == ("scsi", "virtio-scsi")


def test_nics_network_and_bridge() -> None:
    dom = parse(
        domain_xml(
            "lhtest-a",
            IMG,
            nics=[Nic("lhtest-net", mac="52:54:00:AA:00:01"), Nic("br0", kind="bridge", model="e1000")],
        )
    )
    n1, n2 = dom.findall("devices/interface")
    assert n1.get("type") == "network" and n1.find("source").attrib == {"network": "lhtest-net"}
    assert n1.find("mac").get("address") == "52:54:00:aa:00:01"
    assert n1.find("model").get("type") == "virtio"
    assert n2.get("type") == "bridge" and n2.find("source").attrib == {"bridge": "br0"}
    assert n2.find("mac") is None and n2.find("model").get("type") == "e1000"


def test_metadata_carries_the_run_id_in_the_harness_namespace() -> None:
    xml = domain_xml("lhtest-a", IMG, metadata={"run_id": "r-42", "lab": "kvm/01", "check": 'a"b<c>&d'})
    run = parse(xml).find(f"metadata/{{{METADATA_NS}}}run")
    assert run is not None
    assert run.attrib == {"run_id": "r-42", "lab": "kvm/01", "check": 'a"b<c>&d'}
    assert read_metadata(xml) == {"run_id": "r-42", "lab": "kvm/01", "check": 'a"b<c>&d'}
    # what dom.metadata(VIR_DOMAIN_METADATA_ELEMENT, ns) returns: the bare element
    bare = f'<lh:run xmlns:lh="{METADATA_NS}" run_id="r-42"/>'
    assert read_metadata(bare) == {"run_id": "r-42"}
    assert read_metadata('<run run_id="r-42"/>') == {"run_id": "r-42"}  # as libvirt 9.0 returns it
    assert read_metadata(domain_xml("lhtest-a", IMG)) == {}


def test_metadata_key_must_be_an_xml_name() -> None:
    with pytest.raises(ValueError, match="metadata key"):
        domain_xml("lhtest-a", IMG, metadata={"run id": "x"})


def test_names_paths_and_cmdline_are_escaped_not_pasted() -> None:
    evil = "lhtest-<x>&'\""
    img = GuestImage(Path("/c/<a>&b/vmlinuz"), Path("/c/'q'/initrd.gz"))
    xml = domain_xml(
        evil,
        img,
        disks=[Disk("/d/</disk>&.qcow2")],
        nics=[Nic("net'<>&\"")],
        serial_log="/l/&<>.log",
        cmdline_extra='guestpage="a <b> & c"',
    )
    dom = parse(xml)  # well-formed despite every special character
    assert dom.findtext("name") == evil
    assert dom.findtext("os/kernel") == "/c/<a>&b/vmlinuz"
    assert dom.findtext("os/initrd") == "/c/'q'/initrd.gz"
    assert dom.find("devices/disk/source").get("file") == "/d/</disk>&.qcow2"
    assert dom.find("devices/interface/source").get("network") == "net'<>&\""
    assert dom.find("devices/serial/log").get("file") == "/l/&<>.log"
    assert dom.findtext("os/cmdline").endswith('guestpage="a <b> & c"')
    # the hostname handed to the guest is sanitised (it goes on the kernel command line)
    assert "guestname=lhtest--x " in dom.findtext("os/cmdline")


def test_guest_hostname() -> None:
    assert guest_hostname("lhtest-web_1.example") == "lhtest-web-1-example"
    assert guest_hostname("---") == "labguest"
    assert len(guest_hostname("a" * 100)) == 63


def test_memory_and_vcpu_headroom_for_live_changes() -> None:
    dom = parse(domain_xml("lhtest-a", IMG, memory_mib=128, max_memory_mib=512, vcpus=1, max_vcpus=4))
    assert dom.findtext("memory") == "512"  # boot size: the balloon can give it back up to here
    assert dom.findtext("currentMemory") == "128"
    assert dom.findtext("vcpu") == "4" and dom.find("vcpu").get("current") == "1"


def test_kvm_domain_uses_host_cpu_and_no_tcg_knobs() -> None:
    dom = parse(domain_xml("lhtest-a", IMG, domain_type="kvm"))
    assert dom.get("type") == "kvm"
    assert dom.find("cpu").get("mode") == "host-passthrough"


def test_tb_cache_only_without_vcpu_hotplug() -> None:
    dom = parse(domain_xml("lhtest-a", IMG, tb_cache_mib=128))
    assert dom.findtext("features/tcg/tb-cache") == "128"
    with pytest.raises(ValueError, match="hot-plug"):
        domain_xml("lhtest-a", IMG, tb_cache_mib=128, max_vcpus=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"memory_mib": 64},  # the kernel hangs below 80 MiB at boot
        {"memory_mib": 16, "max_memory_mib": 128},
        {"memory_mib": 256, "max_memory_mib": 128},
        {"vcpus": 0},
        {"vcpus": 3, "max_vcpus": 2},
        {"domain_type": "xen"},
        {"disks": [Disk("/a"), Disk("/b")]},  # both vda
        {"disks": [Disk("/a", fmt="vmdk")]},  # type: ignore[arg-type]
        {"nics": [Nic("x", kind="direct")]},  # type: ignore[arg-type]
        {"nics": [Nic("x", mac="52:54:00:zz:00:01")]},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        domain_xml("lhtest-a", IMG, **kwargs)


def test_hotplug_fragments() -> None:
    d = ET.fromstring(disk_xml(Disk("/x.qcow2", target="vdc")))
    assert d.tag == "disk" and d.find("target").get("dev") == "vdc"
    n = ET.fromstring(nic_xml(Nic("lhtest-net")))
    assert n.tag == "interface" and n.find("source").get("network") == "lhtest-net"


@pytest.mark.skipif(
    shutil.which("virt-xml-validate") is None or shutil.which("xmllint") is None,
    reason="virt-xml-validate (libvirt-clients) + xmllint (libxml2-utils) not installed",
)
def test_libvirt_schema_accepts_the_xml(tmp_path: Path) -> None:
    xml = domain_xml(
        "lhtest-a",
        IMG,
        disks=[Disk("/x.qcow2"), Disk("/dev/sdz", target="sda", fmt="raw", bus="scsi")],
        nics=[Nic("default", mac="52:54:00:00:00:01"), Nic("br0", kind="bridge")],
        max_memory_mib=256,
        max_vcpus=2,
        serial_log="/tmp/x.log",
        metadata={"run_id": "r1"},
    )
    f = tmp_path / "d.xml"
    f.write_text(xml)
    res = subprocess.run(["virt-xml-validate", str(f), "domain"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


# ---------------------------------------------------------------------------------- image
def test_from_cache_missing_names_the_build_script(tmp_path: Path) -> None:
    with pytest.raises(GuestImageMissing, match=r"images/guest/build\.sh"):
        GuestImage.from_cache(tmp_path)


def test_from_cache_reads_version(tmp_path: Path) -> None:
    g = tmp_path / "guest"
    g.mkdir()
    (g / "vmlinuz").write_bytes(b"k")
    (g / "initrd.gz").write_bytes(b"i")
    (g / "VERSION").write_text("deadbeef\n")
    (g / "KERNEL_RELEASE").write_text("6.1.0-56-cloud-amd64\n")
    img = GuestImage.from_cache(tmp_path)
    assert img == GuestImage(g / "vmlinuz", g / "initrd.gz", "deadbeef", "6.1.0-56-cloud-amd64")
    assert GuestImage.from_cache(g) == img  # the guest dir itself is accepted too


def test_from_cache_defaults_to_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABHARNESS_CACHE", str(tmp_path / "nowhere"))
    with pytest.raises(GuestImageMissing, match=str(tmp_path / "nowhere")):
        GuestImage.from_cache()


# ------------------------------------------------------------------------------ KVM probe
def test_probe_without_kvm_device_is_tcg_and_cached(tmp_path: Path) -> None:
    res = accel.probe_kvm("/k", "/i", cache_dir=tmp_path, kvm_device=str(tmp_path / "kvm"))
    assert res.kind == "tcg" and "does not exist" in res.reason
    assert res.domain_type == "qemu"
    data = json.loads((tmp_path / "accel.json").read_text())
    assert data["kind"] == "tcg" and data["key"] == accel._host_key()


def test_probe_uses_the_cache_only_for_this_boot(tmp_path: Path) -> None:
    (tmp_path / "accel.json").write_text(json.dumps({"key": accel._host_key(), "kind": "kvm", "reason": "cached"}))
    cached = accel.probe_kvm("/k", "/i", cache_dir=tmp_path, kvm_device=str(tmp_path / "kvm"))
    assert cached == accel.Accel("kvm", "cached")
    # a cache from another boot (or kernel) is ignored and overwritten
    (tmp_path / "accel.json").write_text(json.dumps({"key": "other/boot", "kind": "kvm", "reason": "stale"}))
    assert accel.probe_kvm("/k", "/i", cache_dir=tmp_path, kvm_device=str(tmp_path / "kvm")).kind == "tcg"
    assert json.loads((tmp_path / "accel.json").read_text())["kind"] == "tcg"


def test_kvm_device_problem_on_a_non_kvm_file(tmp_path: Path) -> None:
    f = tmp_path / "kvm"
    f.write_text("")
    assert "KVM_GET_API_VERSION" in (accel.kvm_device_problem(str(f)) or "")
