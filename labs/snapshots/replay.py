"""The course replay of the snapshots lab (catalog KVM-08, seed 000 L749-L816).

Precondition, as the notes left centos7 before KVM-08: made by the virt-install line of KVM-02
(L320) with KVM-04's serial console, converted to qcow2 in KVM-06 (L627-L651) and given the
data disk vdb of KVM-07 (L669-L710, hot-plugged with --live as the notes do). Then KVM-08:
snapshot-create, -list, -info (L778-L786); inside the guest, files a.txt ... z.txt in /opt (L797-
L800: the notes show the result, not the command); snapshot-revert (L802); /opt is empty again
(L804-L806); the metadata file (L808); snapshot-delete (L812-L814).

Lines typed inside the VM go to its serial console (the course's `ssh root@192.168.122.60` or
console session), written to the pty `virsh ttyconsole centos7` names.
"""

from __future__ import annotations

from harness.core.replay import Line, Replay, ReplayMistake, Wait
from labs.common.centos7 import ADAPTATIONS as CENTOS7_ADAPTATIONS, BEFORE_KVM08, VM
from labs.common.kvm import console_up, shut_off

MARKERS = " ".join(f"{c}.txt" for c in "abcdefghijklmnopqrstuvwxyz")


def console(text: str) -> str:
    """Type ``text`` (a line of the notes typed inside the VM) on centos7's serial console."""
    quoted = "'" + text.replace("'", "'\\''") + "'"
    return f"printf '%s\\r' {quoted} > \"$(virsh ttyconsole {VM})\""


CONSOLE_UP = console_up(VM)
SHUT_OFF = shut_off(VM)
#: the snapshot's name: the Unix time snapshot-create ran at (1599034267 in the notes), which the
#: student reads off its output
SNAP = f"$(virsh snapshot-current {VM} --name)"

ACTIONS = (
    *BEFORE_KVM08,  # KVM-02/04, KVM-06, KVM-07: labs/common/centos7.py
    # ---- KVM-08
    Line("kvm01", "virsh snapshot-create centos7", seed="000:L778", cwd="/data", timeout=300),
    Line("kvm01", "virsh snapshot-list centos7", seed="000:L781", cwd="/data"),
    Line("kvm01", f"virsh snapshot-info centos7 --snapshotname  {SNAP}", seed="000:L786", cwd="/data"),
    Line("kvm01", console(f"mkdir -p /opt && cd /opt && touch {MARKERS} && ls"), seed="000:L797-L800"),
    Wait("kvm01", CONSOLE_UP, "the guest's shell ran it"),
    Line("kvm01", f"virsh snapshot-revert centos7 --snapshotname {SNAP}", seed="000:L802", cwd="/data", timeout=300),
    Line("kvm01", console("cd /opt/"), seed="000:L804"),
    Line("kvm01", console("ls"), seed="000:L805"),
    Wait("kvm01", CONSOLE_UP, "the guest's shell answers after the revert"),
    Line("kvm01", "ls -l /var/lib/libvirt/qemu/snapshot/centos7/", seed="000:L808", cwd="/data"),
    Line("kvm01", f"virsh snapshot-delete centos7 --snapshotname {SNAP}", seed="000:L812", cwd="/data", timeout=300),
    Line("kvm01", "ls -l /var/lib/libvirt/qemu/snapshot/centos7/", seed="000:L814", cwd="/data"),
)

MISTAKES = (
    ReplayMistake(
        "driver-left-raw", "KVM-06's virsh edit changed the source to centos7.qcow2 but left <driver type='raw'/>",
        lines=(Line("kvm01", "virt-xml centos7 --edit target=vda --disk driver.type=raw", seed="000:L647 left out"),),
        undo=(Line("kvm01", "virt-xml centos7 --edit target=vda --disk driver.type=qcow2", seed="000:L647"),),
        fails=frozenset({"test_kvm08_disks_are_qcow2"})),
    ReplayMistake(
        "snapshot-kept", "took another snapshot, reverted to it and never deleted it (L812)",
        lines=(Line("kvm01", "virsh snapshot-create centos7", seed="000:L778", timeout=300),
               Line("kvm01", f"virsh snapshot-revert centos7 --snapshotname {SNAP}", seed="000:L802", timeout=300),
               Wait("kvm01", CONSOLE_UP, "the guest's shell answers after the revert")),
        undo=(Line("kvm01", f"virsh snapshot-delete centos7 --snapshotname {SNAP}", seed="000:L812", timeout=300),),
        fails=frozenset({"test_kvm08_snapshot_deleted"})),
    ReplayMistake(
        "changed-after-revert", "created a.txt ... z.txt in /opt after the revert instead of before it",
        lines=(Line("kvm01", console(f"mkdir -p /opt && cd /opt && touch {MARKERS}"), seed="000:L797-L800, late"),
               Wait("kvm01", CONSOLE_UP, "the guest's shell ran it")),
        undo=(Line("kvm01", console(f"cd /opt && rm -f {MARKERS}"), seed="undo"),
              Wait("kvm01", CONSOLE_UP, "the guest's shell ran it")),
        fails=frozenset({"test_kvm08_guest_changes_undone"})),
)

ADAPTATIONS = (
    *CENTOS7_ADAPTATIONS,
    "KVM-07: the VM stays running for the `--live` attach (catalog §1.4 #4: the notes' `virsh shutdown` at L683 "
    "contradicts the hot-plug that follows); the replay waits until the detached vdb is gone before "
    "`qemu-img resize` (QEMU's image lock); the guest's `mkfs.xfs /dev/vdb` and `mount /dev/vdb /mnt` (L716-L731) "
    "are left out: the lab guest's busybox has no mkfs.xfs, and no check here depends on them",
    "the snapshot's name is the Unix time it was taken (1599034267 in the notes): later lines name it with "
    "`$(virsh snapshot-current centos7 --name)`, as a student reads it off snapshot-create's output",
    "lines typed inside the VM (`ssh root@192.168.122.60`, the notes' way in) go to its serial console, the pty "
    "`virsh ttyconsole centos7` names; the notes do not show how a.txt ... z.txt were made: "
    "`mkdir -p /opt && cd /opt && touch a.txt ... z.txt` (the lab guest has no /opt, its busybox sh no {a..z})",
)

REPLAY = Replay(actions=ACTIONS, mistakes=MISTAKES, adaptations=ADAPTATIONS)
