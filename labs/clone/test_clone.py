"""Checks of the clone lab (catalog KVM-09). Read-only: both VMs through libvirt (persistent XML,
state, VNC display), the images with `qemu-img info -U`, the dumps in /data.

virt-clone copies the disks and changes what must be unique on the host (name, UUID, MAC
addresses, disk paths, a fixed VNC port becomes autoport); `test_kvm09_clone_identity` diffs the
two persistent configurations and accepts exactly those differences.
"""

import difflib
import json
import posixpath
import xml.etree.ElementTree as ET

import pytest

from harness import evidence
from labs.common.kvm import domain, xml


def _path(params, name):
    return posixpath.join(params.data_dir, name)


def _clone_name(kvm01, params):
    """The clone's name: cc-centos7, or centos7-clone if it was never renamed; FAIL if neither."""
    names = set(kvm01.libvirt.listDefinedDomains()) | {d.name() for d in kvm01.libvirt.listAllDomains()}
    for name in (params.clone, params.clone_auto):
        if name in names:
            return name
    raise AssertionError(f"there is no clone: neither {params.clone} nor {params.clone_auto} exists (virt-clone --auto-clone -o {params.vm})")


def _sources(root):
    return {d.find("target").get("dev"): d.find("source").get("file") for d in root.iter("disk")
            if d.get("device") == "disk" and d.find("source") is not None}


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
@pytest.mark.hint(zh="克隆会复制所有磁盘：centos7-clone.qcow2 和 chaoge-add01-clone.qcow2，克隆机不能和原机共用磁盘文件",
                  en="A clone copies every disk: centos7-clone.qcow2 and chaoge-add01-clone.qcow2; the clone must not share a disk file with centos7")
def test_kvm09_clone_disks(kvm01, params):
    """The clone's vda/vdb are centos7-clone.qcow2/chaoge-add01-clone.qcow2, copies shared with nothing."""
    name = _clone_name(kvm01, params)
    mine = _sources(xml(domain(kvm01, name), inactive=True))
    want = {"vda": _path(params, params.clone_disk), "vdb": _path(params, params.clone_data_disk)}
    assert mine == want, f"{name}'s disks are {mine}, expected {want}"
    theirs = _sources(xml(domain(kvm01, params.vm), inactive=True))
    shared = set(mine.values()) & set(theirs.values())
    assert not shared, f"{name} and {params.vm} share {', '.join(shared)}: two VMs writing one image corrupt it"
    for dev, f in want.items():
        res = kvm01.run("qemu-img info -U --output=json %s", f)
        assert res.rc == 0, f"{f}: {res.stderr.strip()}"
        info = json.loads(res.stdout)
        size = (params.disk_size_gib if dev == "vda" else params.data_disk_size_gib) * 1024**3
        assert (info["format"], info["virtual-size"]) == ("qcow2", size), f"{f} is {info['format']} of {info['virtual-size']} bytes"


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
@pytest.mark.hint(zh="virsh start 两台虚拟机都能运行，VNC 端口不同（centos7 是 :0，克隆机自动分配 :1）",
                  en="virsh start: both VMs run, on different VNC displays (centos7 :0, the clone gets :1 automatically)")
def test_kvm09_both_running(kvm01, params):
    """centos7 and its clone both run, on distinct VNC displays."""
    name = _clone_name(kvm01, params)
    displays = {}
    for vm in (params.vm, name):
        state = kvm01.run("virsh domstate %s", vm).stdout.strip()
        assert state == "running", f"{vm} is {state}"
        displays[vm] = kvm01.run("virsh vncdisplay %s", vm).stdout.strip()
    assert len(set(displays.values())) == 2 and all(displays.values()), f"VNC displays: {displays}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="virsh dumpxml centos7 > centos7.xml.dump；virsh dumpxml cc-centos7 > cc.xml.dump；vimdiff 比较",
                  en="virsh dumpxml centos7 > centos7.xml.dump; virsh dumpxml cc-centos7 > cc.xml.dump; compare with vimdiff")
def test_kvm09_xml_dumps(kvm01, params):
    """/data/centos7.xml.dump and /data/cc.xml.dump are the two VMs' XML (by UUID)."""
    name = _clone_name(kvm01, params)
    for dump, vm in ((params.dump_vm, params.vm), (params.dump_clone, name)):
        res = kvm01.run("cat %s", _path(params, dump))
        assert res.rc == 0, f"{_path(params, dump)} does not exist (virsh dumpxml {vm} > {dump})"
        try:
            uuid = ET.fromstring(res.stdout).findtext("uuid")
        except ET.ParseError as exc:
            raise AssertionError(f"{dump} is not XML: {exc}") from None
        assert uuid == domain(kvm01, vm).UUIDString(), f"{dump} is not {vm}'s configuration (UUID {uuid})"
