"""Checks of the hot-plug lab (catalog KVM-11..14). Read-only. Each hot-plug is checked three
ways, as tp-libvirt's hotplug tests do: the running VM's XML (`virsh dumpxml`), its persistent
configuration (`virsh dumpxml --inactive`), and what the guest itself sees (through its agent:
the disk at the PCI slot libvirt gave it, the NIC by its MAC, online CPUs, MemTotal).
"""

import json
import posixpath

import pytest

from harness import evidence
from harness.probes import http_get
from labs.common.kvm import disk, domain, guest, guest_address, guest_run, xml


def _pci(el):
    """'0000:00:0a.0' from a device's <address type='pci' .../>, or None."""
    a = el.find("address")
    if a is None or a.get("type") != "pci":
        return None
    return f"{int(a.get('domain'), 16):04x}:{int(a.get('bus'), 16):02x}:{int(a.get('slot'), 16):02x}.{int(a.get('function'), 16)}"


def _check_added_disk(root, params, label):
    d = disk(root, params.add_target)
    assert d is not None, f"{params.vm}'s {label} has no {params.add_target}"
    source, driver = d.find("source"), d.find("driver")
    want = posixpath.join(params.data_dir, params.add_disk)
    assert source is not None and source.get("file") == want, f"{params.add_target} in the {label} is {source.attrib if source is not None else None}"
    assert driver is not None and driver.get("type") == "qcow2", f"{params.add_target}'s driver in the {label} is {driver.attrib if driver is not None else None} (--subdriver=qcow2)"
    assert driver.get("cache") == "none", f"{params.add_target}'s cache in the {label} is {driver.get('cache')} (--cache=none)"
    return d


def _bridge_nics(root, params):
    return [i for i in root.findall("devices/interface") if i.get("type") == "bridge"
            and i.find("source") is not None and i.find("source").get("bridge") == params.bridge
            and i.find("model") is not None and i.find("model").get("type") == "virtio"]


def _nics_desc(root):
    return [(i.get("type"), (i.find("source").attrib if i.find("source") is not None else {})) for i in root.findall("devices/interface")]


# --------------------------------------------------------------------------- KVM-11


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="qemu-img create -f qcow2 /data/centos7-add01.qcow2 5G",
                  en="qemu-img create -f qcow2 /data/centos7-add01.qcow2 5G")
def test_kvm11_disk_image(kvm01, params):
    """centos7-add01.qcow2 is a qcow2 image of 5368709120 bytes."""
    f = posixpath.join(params.data_dir, params.add_disk)
    res = kvm01.run("qemu-img info -U --output=json %s", f)
    assert res.rc == 0, f"{f}: {res.stderr.strip() or 'missing'}"
    info = json.loads(res.stdout)
    assert (info["format"], info["virtual-size"]) == ("qcow2", params.add_disk_size_gib * 1024**3), \
        f"{f} is {info['format']} of {info['virtual-size']} bytes"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="虚拟机已有 vda、vdb，新盘用 vdc：virsh attach-disk centos7 /data/centos7-add01.qcow2 vdc --live --cache=none --subdriver=qcow2",
                  en="vda and vdb are taken, so the new disk is vdc: virsh attach-disk centos7 /data/centos7-add01.qcow2 vdc --live --cache=none --subdriver=qcow2")
def test_kvm11_disk_live(kvm01, params):
    """The running centos7 has vdc = centos7-add01.qcow2, driver qcow2, cache none."""
    dom = domain(kvm01, params.vm)
    assert dom.isActive(), f"{params.vm} is not running"
    _check_added_disk(xml(dom), params, "running VM")


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="--live 只改运行中的虚拟机，关机就没了；加上 --config（或 --persistent）写进配置",
                  en="--live changes only the running VM and is lost at power-off; add --config (or --persistent) to keep it in the configuration")
def test_kvm11_disk_persistent(kvm01, params):
    """centos7's configuration has vdc too (attach-disk --config), so it survives a power-off."""
    _check_added_disk(xml(domain(kvm01, params.vm), inactive=True), params, "configuration")


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="在虚拟机里 fdisk -l（或 lsblk）应看到新的 5G 磁盘 /dev/vdc，无需重启",
                  en="In the guest, fdisk -l (or lsblk) must show the new 5G disk /dev/vdc, without a reboot")
def test_kvm11_guest_sees_disk(kvm01, params):
    """The guest sees a 5 GiB disk at the PCI slot of vdc."""
    d = disk(xml(domain(kvm01, params.vm)), params.add_target)
    assert d is not None, f"the running {params.vm} has no {params.add_target}"
    slot = _pci(d)
    out = guest_run(guest(kvm01, params.vm),
                    "for b in /sys/block/*; do echo ${b##*/} $(readlink -f $b/device) $(cat $b/size); done").stdout
    seen = [line.split() for line in out.splitlines() if len(line.split()) == 3]
    mine = [(name, int(sectors) * 512) for name, dev, sectors in seen if slot and f"/{slot}/" in dev + "/"]
    assert mine, f"the guest has no disk at {params.add_target}'s PCI slot {slot} (it sees {[s[0] for s in seen]})"
    assert mine[0][1] == params.add_disk_size_gib * 1024**3, f"/dev/{mine[0][0]} has {mine[0][1]} bytes"


# --------------------------------------------------------------------------- KVM-12


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh attach-interface centos7 --type bridge --model virtio --source br0",
                  en="virsh attach-interface centos7 --type bridge --model virtio --source br0")
def test_kvm12_nic_live(kvm01, params):
    """The running centos7 has two virtio NICs on br0."""
    dom = domain(kvm01, params.vm)
    assert dom.isActive(), f"{params.vm} is not running"
    root = xml(dom)
    assert len(_bridge_nics(root, params)) == 2, f"the running VM's NICs: {_nics_desc(root)}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="命令添加的网卡是临时的：virsh edit centos7 加上第二个 <interface type='bridge'>（或 attach-interface --config），重启后仍在",
                  en="A NIC added by command is temporary: virsh edit centos7 and add the second <interface type='bridge'> (or attach-interface --config); it must survive a restart")
def test_kvm12_nic_persistent(kvm01, params):
    """centos7's configuration has two virtio NICs on br0."""
    root = xml(domain(kvm01, params.vm), inactive=True)
    assert len(_bridge_nics(root, params)) == 2, f"the configuration's NICs: {_nics_desc(root)}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="虚拟机里出现 eth1；给它写 ifcfg-eth1（IPADDR=10.0.1.52，改 NAME/DEVICE/UUID，不要写死 HWADDR）",
                  en="The guest gets eth1; give it an ifcfg-eth1 (IPADDR=10.0.1.52, new NAME/DEVICE/UUID, no HWADDR pinned)")
def test_kvm12_guest_sees_nic(kvm01, params):
    """The guest has the second NIC (by its MAC) with the static address 10.0.1.52 (here: see README)."""
    nics = _bridge_nics(xml(domain(kvm01, params.vm)), params)
    assert len(nics) >= 2, f"the running {params.vm} has no second NIC on {params.bridge}"
    mac = nics[1].find("mac").get("address").lower()
    ifaces = {i.mac.lower(): i for i in guest(kvm01, params.vm).interfaces()}
    assert mac in ifaces, f"the guest has no NIC with MAC {mac} (it has {sorted(ifaces)})"
    want = str(guest_address(kvm01, params.bridge, params.guest_ip1, 2))
    assert want in ifaces[mac].ipv4, f"{ifaces[mac].name} ({mac}) has {ifaces[mac].ipv4 or 'no IPv4 address'}, expected {want}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="systemctl restart network 后，从外面 ping/访问 10.0.1.52 应能通",
                  en="After systemctl restart network, 10.0.1.52 must answer from outside")
def test_kvm12_second_address_reachable(kvm01, params):
    """The guest answers on its second address from the grader's side (a TCP connection to port 80)."""
    ip = guest_address(kvm01, params.bridge, params.guest_ip1, 2).ip
    res = http_get(f"http://{ip}/", timeout=10)
    # any answer proves the address is up, a refused connection (no web server on it) included
    assert res.status is not None or "refused" in res.error.lower(), f"{ip} does not answer from outside kvm01: {res.error}"


# --------------------------------------------------------------------------- KVM-13


@pytest.mark.points(1)
@pytest.mark.hint(zh="最大 CPU 数必须在创建时指定：virt-install ... --vcpus 1,maxvcpus=N",
                  en="The maximum vCPU count must be set at creation: virt-install ... --vcpus 1,maxvcpus=N")
def test_kvm13_vcpu_config(kvm01, params):
    """web01's configuration allows 2 vCPUs at most (<vcpu current='1'>2</vcpu>)."""
    v = xml(domain(kvm01, params.vm2), inactive=True).find("vcpu")
    assert int(v.text) == params.vm2_max_vcpus, f"web01's maximum is {v.text} vCPU(s), expected {params.vm2_max_vcpus} (maxvcpus=)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh setvcpus web01 --count=2（不超过最大值；不加 --config 重启后恢复）",
                  en="virsh setvcpus web01 --count=2 (at most the maximum; without --config it reverts at the next start)")
def test_kvm13_vcpu_live(kvm01, params):
    """The running web01 has 2 vCPUs (virsh vcpucount: current live 2)."""
    import libvirt

    dom = domain(kvm01, params.vm2)
    assert dom.isActive(), f"{params.vm2} is not running"
    live = dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert live == params.vm2_set_vcpus, f"web01 runs with {live} vCPU(s), expected {params.vm2_set_vcpus}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="虚拟机里 lscpu 应显示 CPU(s): 2；热加的 CPU 要在虚拟机里上线（CentOS 7 的 udev 自动完成）",
                  en="lscpu in the guest must say CPU(s): 2; a hot-added CPU must be online in the guest (CentOS 7's udev does it)")
def test_kvm13_guest_sees_vcpus(kvm01, params):
    """The guest has 2 CPUs online (guest agent guest-get-vcpus, /sys/devices/system/cpu/online)."""
    agent = guest(kvm01, params.vm2)
    online = agent.vcpus_online()
    evidence.add("guest-get-vcpus: online", str(online))
    guest_run(agent, "cat /sys/devices/system/cpu/online")
    assert online == params.vm2_set_vcpus, f"the guest has {online} CPU(s) online, expected {params.vm2_set_vcpus}"


# --------------------------------------------------------------------------- KVM-14


@pytest.mark.points(1)
@pytest.mark.hint(zh="最大内存也必须在创建时指定：virt-install --memory 512,maxmemory=2048（实验按比例为 128,maxmemory=512）",
                  en="The maximum memory must be set at creation too: virt-install --memory 512,maxmemory=2048 (scaled here to 128,maxmemory=512)")
def test_kvm14_memory_config(kvm01, params):
    """web01's configuration: <memory>, the most setmem can give it, is 512 MiB (maxmemory=)."""
    maximum = int(xml(domain(kvm01, params.vm2), inactive=True).findtext("memory"))
    assert maximum == params.vm2_max_memory_mib * 1024, f"web01's maximum memory is {maximum} KiB, expected {params.vm2_max_memory_mib * 1024} (maxmemory=)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh setmem web01 2G（单位要写，默认是 KiB；不能超过最大内存）",
                  en="virsh setmem web01 2G (give the unit, the default is KiB; at most the maximum)")
def test_kvm14_memory_live(kvm01, params):
    """The running web01's balloon is at 512 MiB (virsh dominfo Used memory, dommemstat actual)."""
    dom = domain(kvm01, params.vm2)
    assert dom.isActive(), f"{params.vm2} is not running"
    want = params.vm2_set_memory_mib * 1024
    used, actual = dom.info()[2], dom.memoryStats().get("actual")
    assert used == want and actual == want, f"web01 has {used} KiB (balloon actual {actual}), expected {want}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="setmem 后虚拟机里 free -m 的 total 会变大（几秒内）",
                  en="After setmem, free -m in the guest shows the larger total (within seconds)")
def test_kvm14_guest_sees_memory(kvm01, params):
    """The guest's MemTotal is close to 512 MiB (at least 85 %: the kernel keeps some for itself)."""
    out = guest_run(guest(kvm01, params.vm2), "grep ^MemTotal /proc/meminfo").stdout.split()
    total = int(out[1]) if len(out) > 1 else 0
    floor = int(params.vm2_set_memory_mib * 1024 * 0.85)
    assert total >= floor, f"the guest's MemTotal is {total} KiB, below {floor}"
