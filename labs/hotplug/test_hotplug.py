"""Checks of the hot-plug lab (catalog KVM-11..14), graded on what the notes leave at the lab's end.

The notes build each step on the last and undo what came before: KVM-12 restarts centos7 (so
KVM-11's `attach-disk --live` vdc is gone), KVM-13 deletes centos7 (its hot-added NIC with it)
and builds web01 on its disk, KVM-14 destroys web01 and re-creates it (so KVM-13's
`setvcpus --count=2` is gone). What remains, and is checked: the disk image KVM-11 made; the
history libvirt keeps of every start of a VM (/var/log/libvirt/qemu/NAME.log: the command line
of each start), which shows centos7's last start with the second NIC made permanent (KVM-12)
and web01 first built with room for 4 vCPUs (KVM-13); web01 on centos7's disk (KVM-13); and
KVM-14's web01: maxvcpus 2, maxmemory 2048 MiB, 2 GiB live after `setmem web01 2G`, seen by the
guest itself (plain `cat /proc/meminfo` through labs.common.kvm.guest_run: no guest agent).
Read-only throughout.
"""

import json
import posixpath
import re

import pytest

from labs.common.kvm import disk, domain, guest, guest_run, xml


def _attrs(el):
    return dict(el.attrib) if el is not None else None


def _starts(kvm01, name):
    """The command lines of every start of VM ``name`` that libvirt logged, oldest first."""
    log = f"/var/log/libvirt/qemu/{name}.log"
    res = kvm01.run("cat %s", log)
    assert res.rc == 0, f"{log} cannot be read on kvm01: {name} was never started there"
    starts = [block for block in re.split(r"^\S+ \S+: starting up ", res.stdout, flags=re.M)[1:]]
    assert starts, f"{log} records no start of {name}"
    return starts


def _memory_kib(root, tag):
    el = root.find(tag)
    assert el is not None and (el.text or "").strip().isdigit(), f"web01's XML has no <{tag}>"
    units = {"KiB": 1, "k": 1, "MiB": 1024, "M": 1024, "GiB": 1024**2, "G": 1024**2, "b": 1 / 1024, "bytes": 1 / 1024}
    return int(int(el.text) * units.get(el.get("unit", "KiB"), 1))


# --------------------------------------------------------------------------- KVM-11


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="qemu-img create -f qcow2 /data/centos7-add01.qcow2 5G（-f qcow2 不能省，否则是 raw 文件）",
                  en="qemu-img create -f qcow2 /data/centos7-add01.qcow2 5G (without -f qcow2 the file is raw)")
def test_kvm11_disk_image(kvm01, params):
    """centos7-add01.qcow2 is a qcow2 image of 5368709120 bytes."""
    f = posixpath.join(params.data_dir, params.add_disk)
    res = kvm01.run("qemu-img info -U --output=json %s", f)
    assert res.rc == 0, f"{f} on kvm01: {res.stderr.strip() or 'missing'}"
    try:
        info = json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"`qemu-img info {f}` printed no image description") from None
    want = params.add_disk_size_gib * 1024**3
    assert (info.get("format"), info.get("virtual-size")) == ("qcow2", want), \
        f"{f} is a {info.get('format')} image of {info.get('virtual-size')} bytes, expected qcow2 of {want}"


# --------------------------------------------------------------------------- KVM-12


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="命令添加的网卡是临时的：virsh edit centos7 加上第二个 <interface type='bridge'>，关机再开机后仍有两块网卡",
                  en="A NIC added by command is temporary: virsh edit centos7 and add the second <interface type='bridge'>; after shutdown and start it still has two NICs")
def test_kvm12_second_nic_kept_after_restart(kvm01, params):
    """The last start of centos7 that libvirt logged had two virtio NICs (the second one made permanent)."""
    last = _starts(kvm01, params.vm)[-1]
    nics = len(re.findall(r"virtio-net", last))
    assert nics >= 2, f"centos7 was last started with {nics} virtio NIC(s) (/var/log/libvirt/qemu/{params.vm}.log): " \
                      "the NIC added with attach-interface was not made permanent before the restart"


# --------------------------------------------------------------------------- KVM-13


@pytest.mark.points(1)
@pytest.mark.hint(zh="最大 CPU 数必须在创建时指定：virt-install ... --name web01 --memory 1024 --vcpus 1,maxvcpus=4 ...",
                  en="The maximum vCPU count must be set at creation: virt-install ... --name web01 --memory 1024 --vcpus 1,maxvcpus=4 ...")
def test_kvm13_web01_built_with_maxvcpus(kvm01, params):
    """web01 was first started with room for 4 vCPUs (-smp 1,maxcpus=4 in libvirt's log of its starts)."""
    starts = _starts(kvm01, params.vm2)
    seen = [m.group(1) for s in starts for m in [re.search(r"-smp \S*?maxcpus=(\d+)", s)] if m]
    want = str(params.vm2_first_max_vcpus)
    assert want in seen, f"web01 was never started with maxvcpus={want} (its starts had maxcpus {seen or 'unknown'})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="先彻底删除旧的 centos7（virsh destroy、virsh undefine，保留磁盘），再用 /data/centos7.qcow2 创建 web01（--network bridge=br0）",
                  en="Delete the old centos7 completely (virsh destroy, virsh undefine, keep its disk), then create web01 on /data/centos7.qcow2 (--network bridge=br0)")
def test_kvm13_web01_on_centos7_disk(kvm01, params):
    """web01 runs from /data/centos7.qcow2 (qcow2) on br0, and no other running VM uses that disk."""
    dom = domain(kvm01, params.vm2)
    assert dom.isActive(), f"{params.vm2} is not running"
    root = xml(dom)
    want = posixpath.join(params.data_dir, params.disk)
    d = disk(root, "vda")
    source, driver = (d.find("source"), d.find("driver")) if d is not None else (None, None)
    assert source is not None and source.get("file") == want, f"web01's vda is {_attrs(source)}, expected {want}"
    assert driver is not None and driver.get("type") == "qcow2", f"web01's vda driver is {_attrs(driver)} (format=qcow2)"
    bridges = [i.find("source").get("bridge") for i in root.findall("devices/interface")
               if i.get("type") == "bridge" and i.find("source") is not None]
    assert params.bridge in bridges, f"web01 has no NIC on {params.bridge} (its NICs: {[_attrs(i.find('source')) for i in root.findall('devices/interface')]})"
    others = []
    for other in kvm01.libvirt.listAllDomains(1):  # VIR_CONNECT_LIST_DOMAINS_ACTIVE
        if other.name() != params.vm2:
            files = [s.get("file") for s in xml(other).iter("source")]
            if want in files:
                others.append(other.name())
    assert not others, f"{', '.join(others)} runs from {want} too: two VMs writing one qcow2 corrupt it (delete the old VM first)"


# --------------------------------------------------------------------------- KVM-14


@pytest.mark.points(1)
@pytest.mark.hint(zh="重新创建 web01：virt-install ... --vcpus=1,maxvcpus=2（最大值只能在创建时指定）",
                  en="Re-create web01: virt-install ... --vcpus=1,maxvcpus=2 (the maximum is set at creation only)")
def test_kvm14_vcpu_config(kvm01, params):
    """web01's configuration allows 2 vCPUs at most (<vcpu current='1'>2</vcpu>)."""
    v = xml(domain(kvm01, params.vm2), inactive=True).find("vcpu")
    assert v is not None and (v.text or "").strip().isdigit(), "web01's configuration has no <vcpu>"
    assert int(v.text) == params.vm2_max_vcpus, \
        f"web01's maximum is {v.text.strip()} vCPU(s), expected {params.vm2_max_vcpus} (maxvcpus={params.vm2_max_vcpus})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="最大内存也必须在创建时指定：virt-install --memory 512,maxmemory=2048",
                  en="The maximum memory must be set at creation too: virt-install --memory 512,maxmemory=2048")
def test_kvm14_memory_config(kvm01, params):
    """web01's configuration: <memory>, the most setmem can give it, is 2048 MiB (maxmemory=2048)."""
    maximum = _memory_kib(xml(domain(kvm01, params.vm2), inactive=True), "memory")
    want = params.vm2_max_memory_mib * 1024
    assert maximum == want, f"web01's maximum memory is {maximum} KiB, expected {want} (maxmemory={params.vm2_max_memory_mib})"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh setmem web01 2G（单位要写，默认是 KiB；不能超过最大内存）",
                  en="virsh setmem web01 2G (give the unit, the default is KiB; at most the maximum)")
def test_kvm14_memory_live(kvm01, params):
    """The running web01's balloon is at 2 GiB (virsh dominfo Used memory, dommemstat actual)."""
    import libvirt

    dom = domain(kvm01, params.vm2)
    assert dom.isActive(), f"{params.vm2} is not running"
    want = params.vm2_set_memory_mib * 1024
    used = dom.info()[2]
    try:
        actual = dom.memoryStats().get("actual")
    except libvirt.libvirtError:
        actual = None
    assert used == want and actual in (want, None), \
        f"web01 runs with {used} KiB (balloon actual {actual}), expected {want} (virsh setmem web01 2G)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="setmem 后虚拟机里 free -m 的 total 会变大（几秒内；课程里约 1838）",
                  en="After setmem, free -m in the guest shows the larger total (within seconds; about 1838 in the course)")
def test_kvm14_guest_sees_memory(kvm01, params):
    """The guest's MemTotal is close to 2 GiB (at least 85 %: the kernel keeps some for itself)."""
    res = guest_run(guest(kvm01, params.vm2), "cat /proc/meminfo")
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", res.stdout, flags=re.M)
    assert m, "the guest's /proc/meminfo shows no MemTotal"
    total = int(m.group(1))
    floor = int(params.vm2_set_memory_mib * 1024 * 0.85)
    assert total >= floor, f"the guest's MemTotal is {total} KiB ({total // 1024} MiB, free -m), below {floor} KiB"
