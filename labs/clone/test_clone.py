"""Checks of the clone lab (catalog KVM-09). Read-only: both VMs through libvirt (persistent XML),
libvirt's QEMU log of the clone, the images with `qemu-img info -U`, the dumps in /data.

The clone copies what is in centos7's persistent configuration: vda, and vdb only if the student
made it persistent (the notes hot-plug it with --live alone, catalog §1.4 #5), so the clone's
disks are graded against centos7's own, not against a fixed list.

virt-clone copies the disks and changes what must be unique on the host (name, UUID, MAC
addresses, disk paths, a fixed VNC port becomes autoport); `test_kvm09_clone_identity` diffs the
two persistent configurations and accepts exactly those differences.
"""

import difflib
import json
import xml.etree.ElementTree as ET

import pytest

from harness.core import evidence
from labs.common.kvm import data_path, domain, xml


def _clone_name(kvm01, params):
    """The clone's name: cc-centos7, or centos7-clone if it was never renamed; FAIL if neither."""
    names = set(kvm01.libvirt.listDefinedDomains()) | {d.name() for d in kvm01.libvirt.listAllDomains()}
    for name in (params.clone, params.clone_auto):
        if name in names:
            return name
    raise AssertionError(f"there is no clone: neither {params.clone} nor {params.clone_auto} exists (virt-clone --auto-clone -o {params.vm})")


def _sources(root):
    return {d.find("target").get("dev"): d.find("source").get("file") for d in root.iter("disk")
            if d.get("device") == "disk" and d.find("source") is not None and d.find("target") is not None}


def _normalized(root):
    """The configuration without what virt-clone is expected to change."""
    root = ET.fromstring(ET.tostring(root))
    for tag in ("name", "uuid"):
        el = root.find(tag)
        if el is not None:
            el.text = "-"
    for mac in root.iter("mac"):
        mac.set("address", "-")
    for d in root.iter("disk"):
        src = d.find("source")
        if src is not None and "file" in src.attrib:
            src.set("file", "-")
    for g in root.iter("graphics"):
        for attr in ("port", "autoport"):
            g.attrib.pop(attr, None)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode").splitlines()


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="关机后 virt-clone --auto-clone -o centos7，生成 centos7-clone",
                  en="With centos7 shut off, virt-clone --auto-clone -o centos7 creates centos7-clone")
def test_kvm09_clone_exists(kvm01, params):
    """A clone of centos7 exists (cc-centos7, or centos7-clone before the rename)."""
    _clone_name(kvm01, params)


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="关机状态下 virsh domrename centos7-clone cc-centos7（运行中的虚拟机不能改名）",
                  en="virsh domrename centos7-clone cc-centos7 while it is shut off (a running VM cannot be renamed)")
def test_kvm09_clone_renamed(kvm01, params):
    """The clone is named cc-centos7 and centos7-clone is gone."""
    assert _clone_name(kvm01, params) == params.clone, f"the clone is still called {params.clone_auto}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="克隆会复制所有磁盘（centos7.qcow2 -> centos7-clone.qcow2 ...），克隆机不能和原机共用磁盘文件",
                  en="A clone copies every disk (centos7.qcow2 -> centos7-clone.qcow2 ...); the clone must not share a disk file with centos7")
def test_kvm09_clone_disks(kvm01, params):
    """The clone has a disk for each disk of centos7 (same target), each its own copy: another file,
    the same format and virtual size, shared with nothing of centos7."""
    name = _clone_name(kvm01, params)
    mine = _sources(xml(domain(kvm01, name), inactive=True))
    theirs = _sources(xml(domain(kvm01, params.vm), inactive=True))
    evidence.add("disks", f"{params.vm}: {theirs}\n{name}: {mine}")
    assert theirs, f"{params.vm} has no disk"
    assert set(mine) == set(theirs), f"{name} has disks {sorted(mine)}, {params.vm} has {sorted(theirs)}: not a clone of it"
    shared = set(mine.values()) & set(theirs.values())
    assert not shared, f"{name} and {params.vm} share {', '.join(sorted(shared))}: two VMs writing one image corrupt it"
    for dev, copy in sorted(mine.items()):
        infos = []
        for f in (theirs[dev], copy):
            res = kvm01.run("qemu-img info -U --output=json %s", f)
            assert res.rc == 0, f"{name}'s {dev}: qemu-img info {f}: {res.stderr.strip()}"
            info = json.loads(res.stdout)
            infos.append((info.get("format"), info.get("virtual-size")))
        assert infos[0] == infos[1], f"{dev}: {copy} is {infos[1][0]} of {infos[1][1]} bytes, {theirs[dev]} is {infos[0][0]} of {infos[0][1]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virt-clone 只改宿主机上必须唯一的东西：名字、UUID、MAC、磁盘路径，固定的 VNC 端口改为 autoport；虚拟机内部不变（需要 virt-sysprep）",
                  en="virt-clone changes only what must be unique on the host: name, UUID, MACs, disk paths, a fixed VNC port becomes autoport; the guest inside is unchanged (virt-sysprep)")
def test_kvm09_clone_identity(kvm01, params):
    """The clone differs from centos7 in name, UUID and MACs, has VNC autoport, and in nothing else."""
    name = _clone_name(kvm01, params)
    src, cln = xml(domain(kvm01, params.vm), inactive=True), xml(domain(kvm01, name), inactive=True)
    assert src.findtext("uuid") != cln.findtext("uuid"), "the clone has centos7's UUID"
    macs = {m.get("address") for m in src.iter("mac")} & {m.get("address") for m in cln.iter("mac")}
    assert not macs, f"the clone shares MAC address(es) {macs} with centos7"
    g = cln.find("devices/graphics")
    assert g is not None and g.get("autoport") == "yes", f"the clone's VNC is {g.attrib if g is not None else None}, not autoport"
    diff = list(difflib.unified_diff(_normalized(src), _normalized(cln), params.vm, name, lineterm="", n=1))
    evidence.add("virsh dumpxml --inactive diff (name, uuid, mac, disk paths, VNC port masked)", "\n".join(diff) or "(none)")
    assert not diff, "the configurations differ beyond what a clone changes:\n" + "\n".join(diff[:20])


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh start centos7-clone 启动克隆机（改名前后都可以）",
                  en="virsh start centos7-clone starts the clone (before or after the rename)")
def test_kvm09_clone_started(kvm01, params):
    """The clone was started: it runs now, or libvirt's QEMU log of centos7-clone / cc-centos7 records
    a start with the clone's UUID."""
    import re

    name = _clone_name(kvm01, params)
    dom = domain(kvm01, name)
    if dom.isActive():
        return
    uuid = dom.UUIDString()
    logs = kvm01.run("cat /var/log/libvirt/qemu/%s.log /var/log/libvirt/qemu/%s.log", params.clone_auto, params.clone).stdout
    started = set(re.findall(r"^-uuid (\S+)", logs, re.M))
    assert uuid in started, f"{name} never ran: no start with its UUID {uuid} in /var/log/libvirt/qemu/ (virsh start {params.clone_auto})"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="virsh dumpxml centos7 > centos7.xml.dump；virsh dumpxml cc-centos7 > cc.xml.dump；vimdiff 比较",
                  en="virsh dumpxml centos7 > centos7.xml.dump; virsh dumpxml cc-centos7 > cc.xml.dump; compare with vimdiff")
def test_kvm09_xml_dumps(kvm01, params):
    """/data/centos7.xml.dump and /data/cc.xml.dump are the two VMs' XML (by UUID)."""
    name = _clone_name(kvm01, params)
    for dump, vm in ((params.dump_vm, params.vm), (params.dump_clone, name)):
        res = kvm01.run("cat %s", data_path(params, dump))
        assert res.rc == 0, f"{data_path(params, dump)} does not exist (virsh dumpxml {vm} > {dump})"
        try:
            uuid = ET.fromstring(res.stdout).findtext("uuid")
        except ET.ParseError as exc:
            raise AssertionError(f"{dump} is not XML: {exc}") from None
        assert uuid == domain(kvm01, vm).UUIDString(), f"{dump} is not {vm}'s configuration (UUID {uuid})"
