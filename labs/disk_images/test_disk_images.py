"""Checks of the disk images lab (catalog KVM-05, KVM-06, KVM-07). Read-only: images are read
with `qemu-img info -U` (shared), the VM through libvirt, the guest's own view with plain shell
reads (`cat /proc/mounts`, `cat /sys/block/vdb/size`, `df`) through labs.common.kvm.guest_run:
the course's VMs run no guest agent.

The names are the notes' own: /data, centos7, centos2.raw, centos7.qcow2, chaoge.qcow2,
chaoge.raw, chaoge-add01.qcow2, vdb, /mnt (--lab-param for a handout that renames them).
"""

import json

import pytest

from labs.common.kvm import data_path, disk, domain, guest, guest_run, xml


def _info(kvm01, file):
    """`qemu-img info` as JSON, or a FAIL saying the image cannot be read."""
    res = kvm01.run("qemu-img info -U --output=json %s", file)
    assert res.rc == 0, f"{file} on kvm01: {res.stderr.strip() or 'cannot be read'}"
    try:
        info = json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"`qemu-img info {file}` printed no image description: {res.stdout[:200]}") from None
    assert isinstance(info, dict), f"`qemu-img info {file}` printed {res.stdout[:200]}"
    return info


def _bytes(kvm01, cmd, file):
    """A number of bytes from `stat -c %s` or `du -B1`, or a FAIL naming the file."""
    res = kvm01.run(cmd, file)
    words = res.stdout.split()
    assert res.rc == 0 and words and words[0].isdigit(), f"cannot read the size of {file}: {res.stderr.strip()}"
    return int(words[0])


def _attrs(el):
    return dict(el.attrib) if el is not None else None


def _mounts(res):
    """(source, mountpoint) pairs of a `cat /proc/mounts` in the guest."""
    return [tuple(line.split()[:2]) for line in res.stdout.splitlines() if len(line.split()) >= 2]


# --------------------------------------------------------------------------- KVM-05


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img create -f qcow2 /data/chaoge.qcow2 2G 创建 qcow2 镜像（-f 指定格式）",
                  en="qemu-img create -f qcow2 /data/chaoge.qcow2 2G creates the qcow2 image (-f is the format)")
def test_kvm05_qcow2_created(kvm01, params):
    """chaoge.qcow2 is a qcow2 image (cluster size 65536, compat 1.1)."""
    file = data_path(params, params.scratch_qcow2)
    info = _info(kvm01, file)
    assert info.get("format") == "qcow2", f"{file} is a {info.get('format')} image, not qcow2 (qemu-img create -f qcow2)"
    assert info.get("cluster-size") == 65536, f"{file} has cluster size {info.get('cluster-size')}, expected 65536"
    compat = ((info.get("format-specific") or {}).get("data") or {}).get("compat")
    assert compat == "1.1", f"{file} has qcow2 compat {compat}, expected 1.1"


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img resize chaoge.qcow2 +5G：虚拟大小变为 7G，但文件本身仍然很小",
                  en="qemu-img resize chaoge.qcow2 +5G: the virtual size becomes 7G while the file stays small")
def test_kvm05_qcow2_resized(kvm01, params):
    """chaoge.qcow2 was grown by 5G to 7516192768 bytes and its file stays under 1 MiB (thin)."""
    file = data_path(params, params.scratch_qcow2)
    info = _info(kvm01, file)
    assert info.get("virtual-size") == params.scratch_size, \
        f"{file} has a virtual size of {info.get('virtual-size')} bytes, expected {params.scratch_size} (2G + 5G)"
    size = _bytes(kvm01, "stat -c %%s %s", file)
    assert size < 1024 * 1024, f"{file} takes {size} bytes: an empty qcow2 should stay thin (under 1 MiB)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw（-f 源格式，-O 输出格式）",
                  en="qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw (-f source format, -O output format)")
def test_kvm05_converted_to_raw(kvm01, params):
    """chaoge.raw is a raw image of 7516192768 bytes, and sparse."""
    file = data_path(params, params.scratch_raw)
    info = _info(kvm01, file)
    assert info.get("format") == "raw", f"{file} is a {info.get('format')} image, not raw (-O raw)"
    assert info.get("virtual-size") == params.scratch_size, \
        f"{file} has {info.get('virtual-size')} bytes, expected {params.scratch_size} (converted after the resize)"
    used = _bytes(kvm01, "du -B1 %s", file)
    assert used < params.scratch_size // 100, f"{file} uses {used} bytes on disk: a converted empty image should be sparse"


# --------------------------------------------------------------------------- KVM-06


@pytest.mark.points(1)
@pytest.mark.hint(zh="关机后执行 qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2",
                  en="With the VM shut off: qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2")
def test_kvm06_disk_converted(kvm01, params):
    """centos7.qcow2 is a qcow2 image of 10737418240 bytes (the VM's disk, converted)."""
    file = data_path(params, params.qcow2_disk)
    info = _info(kvm01, file)
    assert info.get("format") == "qcow2", f"{file} is a {info.get('format')} image, not qcow2 (-O qcow2)"
    assert info.get("virtual-size") == params.vm_disk_size, \
        f"{file} has a virtual size of {info.get('virtual-size')} bytes, expected {params.vm_disk_size} (the 10G disk of centos7)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh edit centos7：把 <source file=...> 改成 /data/centos7.qcow2",
                  en="virsh edit centos7: change <source file=...> to /data/centos7.qcow2")
def test_kvm06_vm_uses_qcow2_disk(kvm01, params):
    """centos7's vda is /data/centos7.qcow2, in its configuration and in the running VM (virsh domblklist)."""
    dom = domain(kvm01, params.vm)
    want = data_path(params, params.qcow2_disk)
    views = [("configuration", xml(dom, inactive=True))] + ([("running VM", xml(dom))] if dom.isActive() else [])
    for label, root in views:
        d = disk(root, "vda")
        assert d is not None, f"{params.vm}'s {label} has no vda"
        source = d.find("source")
        assert source is not None and source.get("file") == want, \
            f"vda of {params.vm} ({label}) is {_attrs(source)}, expected {want}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="两处都要改：<driver name='qemu' type='qcow2'/> 和 <source file='/data/centos7.qcow2'/>；只改路径虚拟机读不到磁盘",
                  en="Change both: <driver name='qemu' type='qcow2'/> and <source file='/data/centos7.qcow2'/>; with the path alone the guest cannot read its disk")
def test_kvm06_driver_type_qcow2(kvm01, params):
    """centos7's configuration reads vda as qcow2 (<driver name='qemu' type='qcow2'/>)."""
    d = disk(xml(domain(kvm01, params.vm), inactive=True), "vda")
    assert d is not None, f"{params.vm}'s configuration has no vda"
    driver = d.find("driver")
    assert driver is not None and driver.get("type") == "qcow2", \
        f"vda's driver in {params.vm}'s configuration is {_attrs(driver)}: the qcow2 file is read as type {driver.get('type') if driver is not None else None}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="确认虚拟机能从新的 qcow2 启动后，删除旧的 /data/centos2.raw",
                  en="Once the VM boots from the new qcow2, delete the old /data/centos2.raw")
def test_kvm06_raw_disk_removed(kvm01, params):
    """/data/centos2.raw no longer exists, and its converted copy does."""
    qcow2, raw = data_path(params, params.qcow2_disk), data_path(params, params.raw_disk)
    assert kvm01.file(qcow2).exists, f"there is no {qcow2}: the disk was never converted"
    assert not kvm01.file(raw).exists, f"{raw} is still there"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh start centos7 后，虚拟机必须能读到转换后的磁盘（driver type 必须是 qcow2）",
                  en="After virsh start centos7 the guest must read its converted disk (the driver type must be qcow2)")
def test_kvm06_guest_reads_converted_disk(kvm01, params):
    """centos7 runs from centos7.qcow2 and the guest mounted a filesystem of its disk (/dev/vda...)."""
    dom = domain(kvm01, params.vm)
    assert dom.isActive(), f"{params.vm} is not running (virsh start {params.vm})"
    d = disk(xml(dom), "vda")
    source = d.find("source") if d is not None else None
    assert source is not None and source.get("file") == data_path(params, params.qcow2_disk), \
        f"the running {params.vm} boots from {_attrs(source)}, not {data_path(params, params.qcow2_disk)}"
    mounts = _mounts(guest_run(guest(kvm01, params.vm), "cat /proc/mounts"))
    assert any(src.startswith("/dev/vda") for src, _ in mounts), \
        f"the guest mounted nothing from /dev/vda (its mounts: {sorted({s for s, _ in mounts if s.startswith('/dev/')})}): it does not read its converted disk"


# --------------------------------------------------------------------------- KVM-07


@pytest.mark.points(1)
@pytest.mark.hint(zh="qemu-img create -f qcow2 chaoge-add01.qcow2 3G，分离后 qemu-img resize +2G",
                  en="qemu-img create -f qcow2 chaoge-add01.qcow2 3G, then (detached) qemu-img resize +2G")
def test_kvm07_data_disk_image(kvm01, params):
    """chaoge-add01.qcow2 is a qcow2 image of 5368709120 bytes (3G + 2G)."""
    file = data_path(params, params.add_disk)
    info = _info(kvm01, file)
    assert info.get("format") == "qcow2", f"{file} is a {info.get('format')} image, not qcow2"
    assert info.get("virtual-size") == params.add_disk_size, \
        f"{file} has a virtual size of {info.get('virtual-size')} bytes, expected {params.add_disk_size} (3G + 2G)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2",
                  en="virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2")
def test_kvm07_data_disk_attached(kvm01, params):
    """The running centos7 has vdb = chaoge-add01.qcow2 with driver type qcow2 and cache none."""
    dom = domain(kvm01, params.vm)
    assert dom.isActive(), f"{params.vm} is not running: a disk attached --live is gone"
    d = disk(xml(dom), params.add_target)
    assert d is not None, f"the running {params.vm} has no {params.add_target} (virsh domblklist {params.vm})"
    driver, source = d.find("driver"), d.find("source")
    want = data_path(params, params.add_disk)
    assert source is not None and source.get("file") == want, f"{params.add_target} is {_attrs(source)}, expected {want}"
    assert driver is not None and driver.get("type") == "qcow2", \
        f"{params.add_target}'s driver is {_attrs(driver)}: the qcow2 file is handed to the guest as raw (--subdriver=qcow2)"
    assert driver.get("cache") == "none", f"{params.add_target}'s cache is {driver.get('cache')}, expected none (--cache=none)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在虚拟机里 fdisk -l 应看到 5G 的 /dev/vdb；扩容后要重新 attach",
                  en="In the guest, fdisk -l must show a 5G /dev/vdb; re-attach after resizing")
def test_kvm07_guest_sees_5g_disk(kvm01, params):
    """The guest sees /dev/vdb of 5368709120 bytes (/sys/block/vdb/size, in 512-byte sectors)."""
    res = guest_run(guest(kvm01, params.vm), f"cat /sys/block/{params.add_target}/size")
    words = res.stdout.split()
    assert res.rc == 0 and words and words[0].isdigit(), f"the guest has no /dev/{params.add_target}"
    size = int(words[0]) * 512
    assert size == params.add_disk_size, f"the guest's /dev/{params.add_target} has {size} bytes, expected {params.add_disk_size}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="在虚拟机里格式化 /dev/vdb（课程用 mkfs.xfs）并 mount /dev/vdb /mnt",
                  en="In the guest, format /dev/vdb (the course uses mkfs.xfs) and mount /dev/vdb /mnt")
def test_kvm07_disk_formatted_and_mounted(kvm01, params):
    """In the guest, /dev/vdb holds a filesystem mounted on /mnt of about 5 GiB (df)."""
    g = guest(kvm01, params.vm)
    dev = f"/dev/{params.add_target}"
    mounts = _mounts(guest_run(g, "cat /proc/mounts"))
    assert (dev, params.mountpoint) in mounts, \
        f"{dev} is not mounted on {params.mountpoint} in the guest (mounts of {params.mountpoint}: {[s for s, m in mounts if m == params.mountpoint] or 'none'})"
    lines = guest_run(g, f"df -Pk {params.mountpoint}").stdout.splitlines()
    words = lines[-1].split() if lines else []
    assert len(words) > 1 and words[1].isdigit(), f"df cannot tell the size of {params.mountpoint} in the guest"
    size_kib = int(words[1])
    assert size_kib > 0.9 * params.add_disk_size / 1024, \
        f"{params.mountpoint} is a filesystem of {size_kib} KiB, not about {params.add_disk_size // 1024} KiB (5G)"
