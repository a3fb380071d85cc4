"""Checks of the KVM install lab (catalog KVM-00, KVM-01). Read-only: commands on kvm01
(virsh, ip, iptables, /proc), nothing is started or changed.

A check that needs real KVM acceleration is marked ``requires("kvm-accel")``: where guests
run under TCG it is SKIP with the reason, never a pass. The host image used in the tests has the
KVM stack installed and running already; the replay (replay.py) says which checks hold there and
which typical mistake makes each of them FAIL. The TCG fallback itself is graded
(``test_kvm01_hypervisor_runs_guests``): a host that can run no guest at all fails it.
"""

import ipaddress
import xml.etree.ElementTree as ET

import pytest


def _capabilities(kvm01):
    res = kvm01.run("virsh -c qemu:///system capabilities")
    assert res.rc == 0, f"virsh capabilities failed: {res.stderr.strip()}"
    return ET.fromstring(res.stdout)


def _x86_64_guest(caps):
    """The <guest> entry for x86_64 hvm guests, or None."""
    for guest in caps.iter("guest"):
        arch = guest.find("arch")
        if guest.findtext("os_type") == "hvm" and arch is not None and arch.get("name") == "x86_64":
            return guest
    return None


# --------------------------------------------------------------------------- KVM-00


@pytest.mark.points(2)
@pytest.mark.requires("kvm-accel")
@pytest.mark.hint(zh="在 VMware 里勾选“虚拟化 Intel VT-x/EPT”：kvm01 的 /proc/cpuinfo 才有 vmx（或 svm），/dev/kvm 才会出现，virsh capabilities 才有 <domain type='kvm'>",
                  en="Enable \"Virtualize Intel VT-x/EPT\" in VMware: then kvm01's /proc/cpuinfo shows vmx (or svm), /dev/kvm exists and virsh capabilities lists <domain type='kvm'>")
def test_kvm00_kvm_acceleration(kvm01):
    """The CPU shows vmx or svm, /dev/kvm exists, kvm_intel or kvm_amd is loaded, and libvirt
    offers <domain type='kvm'> for x86_64 guests."""
    flags = kvm01.run("grep -cE '(vmx|svm)' /proc/cpuinfo").stdout.strip()
    assert flags not in ("", "0"), "no vmx/svm flag in /proc/cpuinfo: hardware virtualisation is not exposed to kvm01"
    assert kvm01.run("test -c /dev/kvm").rc == 0, "/dev/kvm does not exist"
    assert kvm01.run("test -d /sys/module/kvm_intel || test -d /sys/module/kvm_amd").rc == 0, "neither kvm_intel nor kvm_amd is loaded"
    guest = _x86_64_guest(_capabilities(kvm01))
    types = [d.get("type") for d in guest.iter("domain")] if guest is not None else []
    assert "kvm" in types, f"libvirt runs x86_64 guests only as {types or 'nothing'}: no KVM acceleration"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="装系统时用标准分区，不要 LVM，不要 swap（否则 KVM 特别卡）",
                  en="Install with standard partitions: no LVM and no swap (otherwise KVM is very slow)")
def test_kvm00_no_lvm_no_swap(kvm01):
    """kvm01 has no LVM volume and no swap: none active (lsblk, /proc/swaps), none in /etc/fstab
    (what the installer's partitioning wrote)."""
    types = kvm01.run("lsblk -rno TYPE")
    assert types.rc == 0, f"lsblk failed: {types.stderr.strip()}"
    assert "lvm" not in types.stdout.split(), "kvm01 has LVM volumes (lsblk shows TYPE lvm)"
    swaps = kvm01.run("cat /proc/swaps").stdout.strip().splitlines()[1:]
    assert not swaps, f"swap is on: {swaps}"
    fstab = [line.split() for line in kvm01.run("cat /etc/fstab").stdout.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    swap = [" ".join(f) for f in fstab if len(f) > 2 and f[2] == "swap"]
    assert not swap, f"/etc/fstab mounts swap: {swap}"
    lvm = [" ".join(f) for f in fstab if f and f[0].startswith("/dev/mapper/")]
    assert not lvm, f"/etc/fstab mounts LVM volumes: {lvm}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="系统初始化：systemctl stop firewalld; systemctl disable firewalld; setenforce 0 并在 /etc/selinux/config 里永久关闭",
                  en="System initialisation: systemctl stop/disable firewalld; setenforce 0 and disable SELinux for good in /etc/selinux/config")
def test_kvm00_firewall_and_selinux_off(kvm01):
    """firewalld is not running, no INPUT rule rejects or drops everything (a firewall left on), and
    SELinux is not enforcing."""
    fw = kvm01.run("firewall-cmd --state")
    assert not (fw.rc == 0 and "running" in fw.stdout), "firewalld is running (systemctl stop firewalld; systemctl disable firewalld)"
    rules = kvm01.run("iptables -S INPUT").stdout.splitlines()
    qualifiers = ("-i ", "-s ", "-d ", "-p ", "-m ")
    closed = [r for r in rules if r.startswith("-A INPUT") and (" -j REJECT" in r or " -j DROP" in r)
              and not any(q in r for q in qualifiers)]
    if "-P INPUT DROP" in rules:
        closed.append("-P INPUT DROP")
    assert not closed, f"the firewall is on: iptables {'; '.join(closed)}"
    enforce = kvm01.run("cat /sys/fs/selinux/enforce")
    assert not (enforce.rc == 0 and enforce.stdout.strip() == "1"), "SELinux is enforcing (getenforce: Enforcing)"


# --------------------------------------------------------------------------- KVM-01


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="yum install libvirt virt-install qemu-kvm -y（Debian: libvirt-daemon-system virtinst qemu-system-x86 qemu-utils）",
                  en="yum install libvirt virt-install qemu-kvm -y (Debian: libvirt-daemon-system virtinst qemu-system-x86 qemu-utils)")
def test_kvm01_tools_installed(kvm01, params):
    """virsh, virt-install, virt-clone and qemu-img are installed, and libvirt's x86_64 emulator exists."""
    missing = [t for t in params.tools.split() if kvm01.run("command -v %s", t).rc != 0]
    assert not missing, f"not installed: {', '.join(missing)}"
    guest = _x86_64_guest(_capabilities(kvm01))
    assert guest is not None, "libvirt knows no x86_64 emulator (is qemu-kvm / qemu-system-x86 installed?)"
    emulator = guest.findtext("arch/emulator")
    assert emulator and kvm01.run("test -x %s", emulator).rc == 0, f"the emulator {emulator} is missing"


@pytest.mark.points(1)
@pytest.mark.hint(zh="systemctl start libvirtd.service，然后 virsh list 应能正常返回",
                  en="systemctl start libvirtd.service; then virsh list must answer")
def test_kvm01_libvirtd_answers(kvm01):
    """libvirtd runs and `virsh -c qemu:///system version` answers with the QEMU driver."""
    assert kvm01.run("pgrep -x libvirtd || pgrep -x virtqemud").rc == 0, "libvirtd is not running"
    res = kvm01.run("virsh -c qemu:///system version")
    assert res.rc == 0, f"virsh cannot reach libvirtd: {res.stderr.strip()}"
    assert "Running hypervisor: QEMU" in res.stdout, f"no QEMU hypervisor: {res.stdout.strip()}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="systemctl enable libvirtd，开机自动启动（systemctl is-enabled libvirtd 显示 enabled）",
                  en="systemctl enable libvirtd so it starts at boot (systemctl is-enabled libvirtd says enabled)")
def test_kvm01_libvirtd_enabled_at_boot(kvm01, params):
    """libvirtd is enabled at boot (systemctl is-enabled, or its sysv start links in rc2-5.d)."""
    if kvm01.run("test -d /run/systemd/system").rc == 0:
        state = kvm01.run("systemctl is-enabled %s", params.service).stdout.strip()
        assert state == "enabled", f"systemctl is-enabled {params.service}: {state or 'unknown'}"
    else:
        links = kvm01.run("ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d").stdout.split()
        starts = [f for f in links if f.startswith("S") and f[1:].lstrip("0123456789") == params.service]
        assert starts, f"{params.service} has no start link in /etc/rc[2-5].d: it will not start at boot (systemctl enable {params.service})"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="libvirt 必须至少能运行 x86_64 虚拟机（有 KVM 用 kvm，没有时退回 QEMU 纯软件模拟 TCG）",
                  en="libvirt must be able to run x86_64 guests at all (kvm when available, else QEMU's TCG emulation)")
def test_kvm01_hypervisor_runs_guests(kvm01):
    """libvirt can run x86_64 hvm guests, as kvm or under the TCG fallback (domain type qemu)."""
    from harness.core import evidence

    guest = _x86_64_guest(_capabilities(kvm01))
    types = [d.get("type") for d in guest.iter("domain")] if guest is not None else []
    evidence.add("x86_64 domain types", ", ".join(types) or "none")
    assert {"kvm", "qemu"} & set(types), f"libvirt can run no x86_64 guest (domain types: {types})"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="libvirtd 会启动 default 网络（virbr0 192.168.122.1/24，dnsmasq 提供 DHCP）；virsh net-autostart default 让它随 libvirtd 启动",
                  en="libvirtd brings up the default network (virbr0 192.168.122.1/24, DHCP by dnsmasq); virsh net-autostart default starts it with libvirtd")
def test_kvm01_default_network(kvm01, params):
    """The default network is active and autostarted on virbr0 192.168.122.1/24, dnsmasq hands out .2-.254."""
    info = kvm01.run("virsh net-info %s", params.network)
    assert info.rc == 0, f"no network {params.network}: {info.stderr.strip()}"
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.stdout.splitlines()) if v}
    assert fields.get("Active") == "yes", f"{params.network} is not active"
    assert fields.get("Autostart") == "yes", f"{params.network} is not autostarted (virsh net-autostart {params.network})"
    assert fields.get("Bridge") == params.network_bridge, f"{params.network}'s bridge is {fields.get('Bridge')}"
    addrs = kvm01.run("ip -4 -o addr show dev %s", params.network_bridge).stdout.split()
    assert params.network_address in addrs, f"{params.network_bridge} does not hold {params.network_address}"
    net = ET.fromstring(kvm01.check("virsh net-dumpxml %s", params.network))
    r = net.find("ip/dhcp/range")
    assert r is not None and (r.get("start"), r.get("end")) == (params.dhcp_start, params.dhcp_end), \
        f"DHCP range is {r.attrib if r is not None else None}"
    assert kvm01.run("pgrep -f %s", f"dnsmasq.*/{params.network}.conf").rc == 0, "no dnsmasq serves the network"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="default 网络靠 NAT（MASQUERADE）上网；libvirtd 启动后清空 iptables 会丢掉这些规则，需要 virsh net-destroy/net-start default 或重启 libvirtd",
                  en="The default network reaches out through NAT (MASQUERADE); flushing iptables after libvirtd started drops it: virsh net-destroy/net-start default or restart libvirtd")
def test_kvm01_default_network_nat(kvm01, params):
    """The host masquerades traffic from 192.168.122.0/24 (iptables nat table, or nftables)."""
    subnet = str(ipaddress.ip_interface(params.network_address).network)
    rules = kvm01.run("iptables -t nat -S").stdout.splitlines()
    if any("MASQUERADE" in r and f"-s {subnet}" in r for r in rules):
        return
    nft = kvm01.run("nft list ruleset").stdout
    assert "masquerade" in nft and subnet in nft, f"no NAT rule masquerades {subnet}"
