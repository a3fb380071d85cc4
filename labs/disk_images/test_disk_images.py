"""Checks of the disk images lab (catalog KVM-05, KVM-06, KVM-07). Read-only: images are read
with `qemu-img info -U` (shared), the VM through libvirt, the guest through its agent."""

import json
import posixpath
import xml.etree.ElementTree as ET

import pytest

from harness.guest import GuestAgent


def _info(kvm01, file):
    """`qemu-img info` as JSON, or a FAIL saying the image is missing."""
    res = kvm01.run("qemu-img info -U --output=json %s", file)
    assert res.rc == 0, f"{file}: {res.stderr.strip() or 'cannot be read'}"
    return json.loads(res.stdout)


def _path(params, name):
    return posixpath.join(params.data_dir, name)


def _domain(kvm01, params):
    import libvirt

    try:
        return kvm01.libvirt.lookupByName(params.vm)
    except libvirt.libvirtError:
        raise AssertionError(f"there is no VM named {params.vm} on kvm01") from None


def _disk(xml, target):
    for disk in ET.fromstring(xml).iter("disk"):
        t = disk.find("target")
        if t is not None and t.get("dev") == target:
            return disk
    return None


def _guest(kvm01, params):
    """The guest agent of the running VM; SKIP when the VM has no agent channel to ask."""
    dom = _domain(kvm01, params)
    assert dom.isActive(), f"{params.vm} is not running"
    if "org.qemu.guest_agent.0" not in dom.XMLDesc(0):
        pytest.skip(f"{params.vm} has no qemu guest agent channel: the guest's own view cannot be read")
    agent = GuestAgent(dom)
    agent.wait_ready(timeout=30)
    return agent


def _guest_sh(agent, script):
    return agent.exec(["/bin/sh", "-c", script], timeout=30)


# --------------------------------------------------------------------------- KVM-05


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img create -f qcow2 /data/chaoge.qcow2 2G 创建 qcow2 镜像（-f 指定格式）",
                  en="qemu-img create -f qcow2 /data/chaoge.qcow2 2G creates the qcow2 image (-f is the format)")
def test_kvm05_qcow2_created(kvm01, params):
    """chaoge.qcow2 is a qcow2 image (cluster size 65536, compat 1.1)."""
    info = _info(kvm01, _path(params, params.scratch_qcow2))
    assert info["format"] == "qcow2", f"format is {info['format']}"
    assert info.get("cluster-size") == 65536, f"cluster size {info.get('cluster-size')}"
    assert info["format-specific"]["data"]["compat"] == "1.1", f"compat {info['format-specific']['data']['compat']}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img resize chaoge.qcow2 +5G：虚拟大小变为 7G，但文件本身仍然很小",
                  en="qemu-img resize chaoge.qcow2 +5G: the virtual size becomes 7G while the file stays small")
def test_kvm05_qcow2_resized(kvm01, params):
    """chaoge.qcow2 was grown by 5G to 7516192768 bytes and its file stays under 1 MiB (thin)."""
    file = _path(params, params.scratch_qcow2)
    info = _info(kvm01, file)
    assert info["virtual-size"] == params.scratch_size, f"virtual size {info['virtual-size']}, expected {params.scratch_size}"
    size = int(kvm01.check("stat -c %%s %s", file))
    assert size < 1024 * 1024, f"the qcow2 file takes {size} bytes: it should stay thin"


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw（-f 源格式，-O 输出格式）",
                  en="qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw (-f source format, -O output format)")
def test_kvm05_converted_to_raw(kvm01, params):
    """chaoge.raw is a raw image of 7516192768 bytes, and sparse."""
    file = _path(params, params.scratch_raw)
    info = _info(kvm01, file)
    assert info["format"] == "raw", f"format is {info['format']}"
    assert info["virtual-size"] == params.scratch_size, f"virtual size {info['virtual-size']}, expected {params.scratch_size}"
    used = int(kvm01.check("du -B1 %s", file).split()[0])
    assert used < params.scratch_size // 100, f"chaoge.raw uses {used} bytes on disk: it should be sparse"


# --------------------------------------------------------------------------- KVM-06


@pytest.mark.points(1)
@pytest.mark.hint(zh="关机后执行 qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2",
                  en="With the VM shut off: qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2")
def test_kvm06_disk_converted(kvm01, params):
    """centos7.qcow2 is a qcow2 image of 10737418240 bytes (the VM's disk, converted)."""
    info = _info(kvm01, _path(params, params.qcow2_disk))
    assert info["format"] == "qcow2", f"format is {info['format']}"
    assert info["virtual-size"] == params.vm_disk_size, f"virtual size {info['virtual-size']}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh edit centos7：把 <source file=...> 改成 /data/centos7.qcow2",
                  en="virsh edit centos7: change <source file=...> to /data/centos7.qcow2")
def test_kvm06_vm_uses_qcow2_disk(kvm01, params):
    """centos7's vda is /data/centos7.qcow2 (virsh domblklist)."""
    disk = _disk(_domain(kvm01, params).XMLDesc(0), "vda")
    assert disk is not None, f"{params.vm} has no vda"
    source = disk.find("source")
    assert source is not None and source.get("file") == _path(params, params.qcow2_disk), \
        f"vda is {source.attrib if source is not None else 'empty'}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="两处都要改：<driver name='qemu' type='qcow2'/> 和 <source file='/data/centos7.qcow2'/>；只改路径虚拟机读不到磁盘",
                  en="Change both: <driver name='qemu' type='qcow2'/> and <source file='/data/centos7.qcow2'/>; with the path alone the guest cannot read its disk")
def test_kvm06_xml_points_to_qcow2(kvm01, params):
    """The persistent XML of centos7: vda's driver type is qcow2 and its source is /data/centos7.qcow2."""
    import libvirt

    xml = _domain(kvm01, params).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    disk = _disk(xml, "vda")
    assert disk is not None, f"{params.vm} has no vda in its persistent XML"
    driver, source = disk.find("driver"), disk.find("source")
    assert driver is not None and driver.get("type") == "qcow2", f"vda driver is {driver.attrib if driver is not None else None}"
    assert source is not None and source.get("file") == _path(params, params.qcow2_disk), f"vda source is {source.attrib if source is not None else None}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="确认虚拟机能从新的 qcow2 启动后，删除旧的 /data/centos2.raw",
                  en="Once the VM boots from the new qcow2, delete the old /data/centos2.raw")
def test_kvm06_raw_disk_removed(kvm01, params):
    """/data/centos2.raw no longer exists, and its converted copy does."""
    assert kvm01.file(_path(params, params.qcow2_disk)).exists, "the disk was never converted to centos7.qcow2"
    assert not kvm01.file(_path(params, params.raw_disk)).exists, f"{_path(params, params.raw_disk)} is still there"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh start centos7 后，虚拟机必须能读到转换后的磁盘（driver type 必须是 qcow2）",
                  en="After virsh start centos7 the guest must read its converted disk (the driver type must be qcow2)")
def test_kvm06_guest_reads_converted_disk(kvm01, params):
    """centos7 runs and the guest mounted the filesystem of its converted disk (/dev/vda)."""
    agent = _guest(kvm01, params)
    mounts = _guest_sh(agent, "cat /proc/mounts").stdout
    assert any(line.split()[0] == "/dev/vda" for line in mounts.splitlines()), \
        "the guest could not mount /dev/vda: it does not see a filesystem on its disk"


# --------------------------------------------------------------------------- KVM-07


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img create -f qcow2 chaoge-add01.qcow2 3G，分离后 qemu-img resize +2G",
                  en="qemu-img create -f qcow2 chaoge-add01.qcow2 3G, then (detached) qemu-img resize +2G")
def test_kvm07_data_disk_image(kvm01, params):
    """chaoge-add01.qcow2 is a qcow2 image of 5368709120 bytes (3G + 2G)."""
    info = _info(kvm01, _path(params, params.add_disk))
    assert info["format"] == "qcow2", f"format is {info['format']}"
    assert info["virtual-size"] == params.add_disk_size, f"virtual size {info['virtual-size']}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2",
                  en="virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2")
def test_kvm07_data_disk_attached(kvm01, params):
    """centos7's live XML has vdb = chaoge-add01.qcow2 with driver type qcow2 and cache none."""
    disk = _disk(_domain(kvm01, params).XMLDesc(0), params.add_target)
    assert disk is not None, f"{params.vm} has no {params.add_target}"
    driver, source = disk.find("driver"), disk.find("source")
    assert source is not None and source.get("file") == _path(params, params.add_disk), f"source {source.attrib if source is not None else None}"
    assert driver is not None and driver.get("type") == "qcow2", f"driver {driver.attrib if driver is not None else None} (missing --subdriver=qcow2?)"
    assert driver.get("cache") == "none", f"cache is {driver.get('cache')}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在虚拟机里 fdisk -l 应看到 5G 的 /dev/vdb；扩容后要重新 attach",
                  en="In the guest, fdisk -l must show a 5G /dev/vdb; re-attach after resizing")
def test_kvm07_guest_sees_5g_disk(kvm01, params):
    """The guest sees /dev/vdb of 5368709120 bytes."""
    agent = _guest(kvm01, params)
    out = _guest_sh(agent, f"blockdev --getsize64 /dev/{params.add_target}")
    assert out.rc == 0, f"the guest has no /dev/{params.add_target}: {out.stderr.strip()}"
    assert int(out.stdout) == params.add_disk_size, f"/dev/{params.add_target} has {out.stdout.strip()} bytes"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="在虚拟机里格式化 /dev/vdb（课程用 mkfs.xfs）并 mount /dev/vdb /mnt",
                  en="In the guest, format /dev/vdb (the course uses mkfs.xfs) and mount /dev/vdb /mnt")
def test_kvm07_disk_formatted_and_mounted(kvm01, params):
    """In the guest, /dev/vdb holds a filesystem mounted on /mnt of about 5 GiB."""
    agent = _guest(kvm01, params)
    mounts = [line.split() for line in _guest_sh(agent, "cat /proc/mounts").stdout.splitlines()]
    mine = [m for m in mounts if m[0] == f"/dev/{params.add_target}" and m[1] == params.mountpoint]
    assert mine, f"/dev/{params.add_target} is not mounted on {params.mountpoint}"
    df = _guest_sh(agent, f"df -k {params.mountpoint} | tail -1").stdout.split()
    size_kib = int(df[1])
    assert size_kib > 0.9 * params.add_disk_size / 1024, f"{params.mountpoint} is {size_kib} KiB"
