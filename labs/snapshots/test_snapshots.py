"""Checks of the snapshots lab (catalog KVM-08). Read-only: the VM through libvirt, the image with
`qemu-img info -U`, the guest's own view with plain shell reads (its agent if it runs one, else SSH
through kvm01, as the notes log in).

The course creates a snapshot, reverts to it and deletes it: net zero for libvirt's snapshot
list. What a revert leaves is the domain's state reason: libvirt says "running (from snapshot)"
until the VM is next stopped or restarted, so the checks can see that the student reverted, and
grade the deletion (no snapshot left) against that evidence rather than against an empty host.
"""

import json

import pytest

from labs.common.kvm import domain, guest, guest_run, xml


def _reverted(kvm01, params):
    """FAIL unless centos7 runs from a snapshot it was reverted to (virsh domstate --reason)."""
    import libvirt

    dom = domain(kvm01, params.vm)
    state, reason = dom.state()
    assert (state, reason) == (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT), \
        f"{params.vm} is not running from a reverted snapshot (virsh domstate --reason: {kvm01.run('virsh domstate --reason %s', params.vm).stdout.strip()})"
    return dom


@pytest.mark.points(1)
@pytest.mark.hint(zh="raw 格式的磁盘不能做快照，虚拟机的所有磁盘都必须是 qcow2（先完成 KVM-06 的转换）",
                  en="Raw disks cannot be snapshotted: every disk of the VM must be qcow2 (do KVM-06's conversion first)")
def test_kvm08_disks_are_qcow2(kvm01, params):
    """Every disk of centos7, in its configuration and in the running VM (a disk hot-plugged with
    --live is only there), is qcow2: internal snapshots need it."""
    dom = domain(kvm01, params.vm)
    found, raw = set(), []
    for where, root in (("config", xml(dom, inactive=True)), ("running", xml(dom) if dom.isActive() else None)):
        if root is None:
            continue
        for d in root.iter("disk"):
            if d.get("device") != "disk":
                continue
            target, driver = d.find("target"), d.find("driver")
            dev = target.get("dev") if target is not None else "?"
            found.add(dev)
            kind = driver.get("type") if driver is not None else None
            if kind != "qcow2":
                raw.append(f"{dev} is {kind or 'of no type'} ({where})")
    assert found, f"{params.vm} has no disk"
    assert not raw, f"not qcow2: {', '.join(raw)}: virsh snapshot-create would fail (raw cannot be snapshotted)"


@pytest.mark.points(2)
@pytest.mark.hint(zh="virsh snapshot-create centos7 创建快照，改动虚拟机后 virsh snapshot-revert centos7 --snapshotname <快照名> 恢复",
                  en="virsh snapshot-create centos7 takes a snapshot; after changing the guest, virsh snapshot-revert centos7 --snapshotname <name> goes back")
def test_kvm08_reverted_to_snapshot(kvm01, params):
    """centos7 runs from a snapshot it was reverted to (virsh domstate --reason: running (from snapshot))."""
    _reverted(kvm01, params)


@pytest.mark.points(2.5)
@pytest.mark.hint(zh="先做快照，再在虚拟机 /opt 下创建 a.txt…z.txt，然后恢复快照：这些文件应该消失",
                  en="Snapshot first, then create a.txt ... z.txt in the guest's /opt, then revert: the files must be gone")
def test_kvm08_guest_changes_undone(kvm01, params):
    """After the revert the guest's /opt holds none of the a.txt ... z.txt made after the snapshot."""
    _reverted(kvm01, params)
    listing = guest_run(guest(kvm01, params.vm), f"ls {params.marker_dir} 2>/dev/null || true").stdout.split()
    left = [f for f in listing if f in {f"{c}.txt" for c in params.markers}]
    assert not left, f"{params.marker_dir} still has {', '.join(left)}: the guest is not back at the snapshot's state"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh snapshot-delete centos7 --snapshotname <快照名>；/var/lib/libvirt/qemu/snapshot/centos7/ 下的 xml 也随之删除",
                  en="virsh snapshot-delete centos7 --snapshotname <name>; its XML under /var/lib/libvirt/qemu/snapshot/centos7/ goes too")
def test_kvm08_snapshot_deleted(kvm01, params):
    """The snapshot was deleted: none in libvirt, no metadata file, none inside the VM's qcow2 images."""
    dom = _reverted(kvm01, params)
    names = dom.snapshotListNames()
    assert not names, f"{params.vm} still has snapshot(s) {', '.join(names)} (virsh snapshot-delete {params.vm} --snapshotname ...)"
    files = kvm01.run("ls /var/lib/libvirt/qemu/snapshot/%s/", params.vm).stdout.split()
    assert not [f for f in files if f.endswith(".xml")], f"snapshot metadata left in /var/lib/libvirt/qemu/snapshot/{params.vm}/: {files}"
    images = [d.find("source").get("file") for d in xml(dom).iter("disk")
              if d.get("device") == "disk" and d.find("source") is not None and d.find("source").get("file")]
    for image in images:
        info = kvm01.run("qemu-img info -U --output=json %s", image)
        assert info.rc == 0, f"qemu-img info {image}: {info.stderr.strip()}"
        inside = [s.get("name") for s in json.loads(info.stdout).get("snapshots", [])]
        assert not inside, f"{image} still holds internal snapshot(s) {inside}"
