"""The lab guest, for real: built by images/guest/build.sh, booted by the host libvirtd under TCG.

One guest (transient domain, ``lhtest-`` prefix, destroyed in a finalizer) on an isolated libvirt
network made for this module (no <forward>, a free 192.168.x.0/24, destroyed afterwards) serves
the agent, hotplug and web-page tests; the shutdown/boot-counter test boots its own guest twice.
Needs root, libvirtd answering on qemu:///system, and the Debian registry for the first build
(scripts/setup.sh provides all three).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from harness.kvm import accel
from harness.kvm.agent import GuestAgent
from harness.kvm.console import wait_for_console
from harness.kvm.domain_xml import Disk, Nic, disk_xml, domain_xml, nic_xml
from harness.kvm.errors import ExecTimeout
from harness.kvm.guest_image import GuestImage
from harness.kvm.metadata import domain_metadata, read_metadata

libvirt = pytest.importorskip("libvirt")

REPO = Path(__file__).resolve().parents[2]
URI = "qemu:///system"
TAG = f"lhtest-g{os.getpid() % 100000}"  # unique per test process (xdist workers run in parallel)
MAC0 = "52:54:00:4c:48:10"
PAGE = 'lhtest page <&> "quoted"'

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lab-guest")]

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float, what: str) -> tuple[T, float]:
    """Poll ``probe`` until truthy; return (value, seconds). Fails with the last value seen."""
    start = time.monotonic()
    last: object = None
    while time.monotonic() - start < timeout:
        try:
            value = probe()
        except Exception as exc:  # not yet
            last = f"{type(exc).__name__}: {exc}"
        else:
            if value:
                return value, time.monotonic() - start
            last = value
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout}s; last seen: {last!r}")


def destroy_quietly(dom: object) -> None:
    """Destroy a transient test domain (if still there) and drop libvirt's per-domain log."""
    name = dom.name()  # type: ignore[attr-defined]  # local: works after the domain is gone
    try:
        dom.destroy()  # type: ignore[attr-defined]
    except libvirt.libvirtError:
        pass  # already gone (shut down, or never started)
    Path(f"/var/log/libvirt/qemu/{name}.log").unlink(missing_ok=True)


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def image() -> GuestImage:
    """The guest image, (re)built when its recipe changed: seconds when cached."""
    res = subprocess.run(["bash", str(REPO / "images/guest/build.sh")], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"images/guest/build.sh failed:\n{res.stdout[-2000:]}{res.stderr[-3000:]}"
    return GuestImage.from_cache()


@pytest.fixture(scope="module")
def conn() -> Iterator[object]:
    try:
        c = libvirt.open(URI)
    except libvirt.libvirtError as exc:
        pytest.fail(f"libvirtd does not answer on {URI} ({exc}); scripts/setup.sh starts it")
    yield c
    c.close()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """Disks and console logs; world-traversable because QEMU runs as libvirt-qemu."""
    d = Path(tempfile.mkdtemp(prefix=f"{TAG}-", dir="/var/tmp"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def free_subnet(conn: object) -> ipaddress.IPv4Network:
    """A 192.168.x.0/24 that no host route and no libvirt network uses."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True).stdout
    used = [ipaddress.ip_network(m, strict=False) for m in re.findall(r"(\d+\.\d+\.\d+\.\d+/\d+)", routes)]
    used += [ipaddress.ip_network(m + "/32") for m in re.findall(r"(?<![\d/])(\d+\.\d+\.\d+\.\d+)(?![\d/])", routes)]
    for net in conn.listAllNetworks():  # type: ignore[attr-defined]
        for m in re.finditer(r"<ip address='([\d.]+)' (?:netmask='([\d.]+)'|prefix='(\d+)')", net.XMLDesc()):
            mask = m.group(2) or m.group(3)
            used.append(ipaddress.ip_network(f"{m.group(1)}/{mask}", strict=False))
    for third in range(231, 255):
        cand = ipaddress.ip_network(f"192.168.{third}.0/24")
        if not any(cand.overlaps(u) for u in used):
            return cand
    pytest.fail("no free 192.168.231-254.0/24 for the test network")


@pytest.fixture(scope="module")
def network(conn: object) -> Iterator[tuple[str, ipaddress.IPv4Network]]:
    """An isolated libvirt network (no <forward>): host .1, DHCP .100-.199, guests static below."""
    subnet = free_subnet(conn)
    hosts = list(subnet.hosts())
    name = f"{TAG}-net"
    xml = f"""<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>{name}</name>
  <bridge name='lhtest-{os.getpid() % 100000}b' stp='off' delay='0'/>
  <ip address='{hosts[0]}' prefix='24'>
    <dhcp><range start='{hosts[99]}' end='{hosts[198]}'/></dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>"""
    net = conn.networkCreateXML(xml)  # type: ignore[attr-defined]
    try:
        yield name, subnet
    finally:
        net.destroy()


@pytest.fixture(scope="module")
def guest(conn, image, network, workdir) -> Iterator[dict]:
    """One running guest: 128 MiB (balloon up to 256), 1 vCPU (up to 2), eth0 static on the net,
    a blank raw vda (no filesystem: the guest must cope, and a hot-plugged disk becomes vdb)."""
    net_name, subnet = network
    ip = list(subnet.hosts())[9]
    log = workdir / "guest-serial.log"
    blank = workdir / "blank.raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(blank), "8M"], check=True)
    name = f"{TAG}-vm"
    xml = domain_xml(
        name,
        image,
        disks=[Disk(blank, fmt="raw")],
        nics=[Nic(net_name, mac=MAC0)],
        memory_mib=128,
        max_memory_mib=256,
        vcpus=1,
        max_vcpus=2,
        serial_log=log,
        cmdline_extra=f'guestip={ip}/24 guestpage="{PAGE}"',
        metadata={"run_id": TAG, "purpose": "test_guest_image"},
    )
    t0 = time.monotonic()
    dom = conn.createXML(xml, 0)
    try:
        up_line = wait_for_console(log, timeout=120)
        t_up = time.monotonic() - t0
        agent = GuestAgent(dom)
        agent.wait_ready(60)
        t_agent = time.monotonic() - t0
        print(f"\nguest {name}: LABGUEST up after {t_up:.2f}s, agent ready after {t_agent:.2f}s")
        yield {"dom": dom, "agent": agent, "ip": str(ip), "log": log, "up_line": up_line, "name": name,
               "t_up": t_up, "workdir": workdir}
    finally:
        destroy_quietly(dom)


# ---------------------------------------------------------------------------------- tests
def test_build_is_cached(image: GuestImage) -> None:
    start = time.monotonic()
    res = subprocess.run(["bash", str(REPO / "images/guest/build.sh")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "up to date" in res.stderr, res.stderr
    assert time.monotonic() - start < 30
    assert image.version and image.kernel_release.endswith("-cloud-amd64")


def test_boots_and_agent_answers(guest: dict) -> None:
    assert re.fullmatch(rf"LABGUEST up name={guest['name']} boots=0", guest["up_line"]), guest["up_line"]
    agent: GuestAgent = guest["agent"]
    agent.ping(timeout=5)
    assert agent.hostname() == guest["name"]
    assert read_metadata(guest["dom"].XMLDesc(0))["run_id"] == TAG
    assert domain_metadata(guest["dom"]) == {"run_id": TAG, "purpose": "test_guest_image"}


def test_exec_through_the_agent(guest: dict) -> None:
    agent: GuestAgent = guest["agent"]
    cpu = agent.exec(["cat", "/proc/cpuinfo"])
    assert cpu.rc == 0 and "QEMU Virtual CPU" in cpu.stdout, cpu
    res = agent.exec(["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (res.rc, res.stdout, res.stderr) == (7, "out\n", "err\n")
    assert agent.exec(["cat"], stdin="from the host\n").stdout == "from the host\n"
    assert agent.exec(["uname", "-r"]).stdout.strip().endswith("-cloud-amd64")
    with pytest.raises(ExecTimeout):
        agent.exec(["sleep", "30"], timeout=2)


def test_agent_inventory(guest: dict) -> None:
    agent: GuestAgent = guest["agent"]
    eth0 = {i.name: i for i in agent.interfaces()}["eth0"]
    assert eth0.mac == MAC0 and f"{guest['ip']}/24" in eth0.ipv4
    assert agent.vcpus_online() >= 1
    assert isinstance(agent.fsinfo(), list)


def test_web_page_from_the_host(guest: dict) -> None:
    body = urllib.request.urlopen(f"http://{guest['ip']}/", timeout=10).read().decode()
    assert body == PAGE + "\n"


def test_disk_hotplug_is_visible(guest: dict) -> None:
    disk = guest["workdir"] / "hot.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "32M"], check=True)
    agent: GuestAgent = guest["agent"]
    start = time.monotonic()
    guest["dom"].attachDeviceFlags(disk_xml(Disk(disk, target="vdb")), libvirt.VIR_DOMAIN_AFFECT_LIVE)
    size, _ = eventually(lambda: agent.exec(["cat", "/sys/block/vdb/size"]).stdout.strip(), 30, "vdb in the guest")
    assert size == str(32 * 1024 * 1024 // 512)
    assert agent.exec(["test", "-b", "/dev/vdb"]).rc == 0
    print(f"\ndisk hot-plug visible after {time.monotonic() - start:.2f}s")


def test_vcpu_hotplug_is_onlined(guest: dict) -> None:
    agent: GuestAgent = guest["agent"]
    start = time.monotonic()
    guest["dom"].setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    eventually(lambda: agent.vcpus_online() == 2, 30, "2 vCPUs online")
    assert agent.exec(["nproc"]).stdout.strip() == "2"
    print(f"\nvCPU hot-plug online after {time.monotonic() - start:.2f}s")


def test_balloon_changes_guest_memory(guest: dict) -> None:
    agent: GuestAgent = guest["agent"]

    def memtotal_kib() -> int:
        out = agent.exec(["cat", "/proc/meminfo"]).stdout
        return int(re.search(r"MemTotal:\s+(\d+)", out).group(1))  # type: ignore[union-attr]

    before = memtotal_kib()
    start = time.monotonic()
    guest["dom"].setMemoryFlags(96 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    _, down = eventually(lambda: memtotal_kib() < before - 16 * 1024, 30, "MemTotal shrinking by the balloon")
    guest["dom"].setMemoryFlags(256 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    _, up = eventually(lambda: memtotal_kib() > before + 64 * 1024, 30, "MemTotal growing past the boot size")
    print(f"\nballoon: MemTotal {before} KiB; shrink visible after {down:.2f}s, growth after {up:.2f}s"
          f" (total {time.monotonic() - start:.2f}s)")


def test_nic_hotplug_gets_an_address(guest: dict, network) -> None:
    agent: GuestAgent = guest["agent"]
    start = time.monotonic()
    guest["dom"].attachDeviceFlags(nic_xml(Nic(network[0], mac="52:54:00:4c:48:11")), libvirt.VIR_DOMAIN_AFFECT_LIVE)
    _, seen = eventually(lambda: any(i.name == "eth1" for i in agent.interfaces()), 30, "eth1 in the guest")
    addr, _ = eventually(lambda: [a for i in agent.interfaces() if i.name == "eth1" for a in i.ipv4], 30,
                         "eth1 DHCP address")
    assert ipaddress.ip_interface(addr[0]).ip in network[1]
    print(f"\nNIC hot-plug: eth1 after {seen:.2f}s, DHCP address {addr[0]} after {time.monotonic() - start:.2f}s")


def test_shutdown_reboot_and_boot_counter(conn, image, workdir) -> None:
    """ACPI and agent shutdown power the guest off cleanly, agent reboot reboots it, and the
    counter on /dev/vda's filesystem counts every boot."""
    fs = workdir / "counter.raw"
    subprocess.run(["mkfs.ext4", "-q", "-F", str(fs), "16M"], check=True, capture_output=True)
    name = f"{TAG}-cnt"

    def boot(log: Path) -> tuple[object, GuestAgent]:
        dom = conn.createXML(domain_xml(name, image, disks=[Disk(fs, fmt="raw")], serial_log=log,
                                        cmdline_extra="guestip=none"), 0)
        agent = GuestAgent(dom)
        return dom, agent

    def off(dom: object, flag: int, log: Path, what: str) -> None:
        start = time.monotonic()
        dom.shutdownFlags(flag)  # type: ignore[attr-defined]
        eventually(lambda: not _alive(dom), 30, f"domain gone after {what} shutdown")
        assert "LABGUEST poweroff" in wait_for_console(log, "LABGUEST poweroff", 5)
        print(f"\n{what} shutdown took {time.monotonic() - start:.2f}s")

    log1 = workdir / "counter-1.log"
    dom, agent = boot(log1)
    try:
        assert wait_for_console(log1, timeout=120) == f"LABGUEST up name={name} boots=1"
        agent.wait_ready(30)
        mounts = {f.get("mountpoint"): f.get("type") for f in agent.fsinfo()}
        assert mounts.get("/mnt/vda") == "ext4", mounts
        start = time.monotonic()
        dom.reboot(libvirt.VIR_DOMAIN_REBOOT_GUEST_AGENT)
        assert wait_for_console(log1, r"LABGUEST up .*boots=2", 120) == f"LABGUEST up name={name} boots=2"
        print(f"\nagent reboot: up again after {time.monotonic() - start:.2f}s")
        agent.wait_ready(30)
        off(dom, libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, log1, "ACPI")
    finally:
        destroy_quietly(dom)

    log2 = workdir / "counter-2.log"
    dom, agent = boot(log2)
    try:
        assert wait_for_console(log2, timeout=120) == f"LABGUEST up name={name} boots=3"
        agent.wait_ready(30)
        off(dom, libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT, log2, "agent")
    finally:
        destroy_quietly(dom)


def _alive(dom: object) -> bool:
    try:
        return bool(dom.isActive())  # type: ignore[attr-defined]
    except libvirt.libvirtError:
        return False  # transient domain: gone once it powered off


def test_kvm_probe_answers_and_caches(image: GuestImage, tmp_path: Path) -> None:
    """The probe's own machinery works (boots /probe under TCG); the KVM verdict is cached."""
    ok, detail = accel.boot_probe(image.kernel, image.initrd, accel="tcg", timeout=60)
    assert ok, detail
    start = time.monotonic()
    first = accel.probe_kvm(image.kernel, image.initrd, timeout=10, cache_dir=tmp_path)
    took = time.monotonic() - start
    assert first.kind in ("kvm", "tcg") and first.reason
    print(f"\nKVM probe: {first.kind} after {took:.1f}s: {first.reason}")
    start = time.monotonic()
    assert accel.probe_kvm(image.kernel, image.initrd, timeout=10, cache_dir=tmp_path) == first
    assert time.monotonic() - start < 1
