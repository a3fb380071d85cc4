"""The course replay of the clone lab (catalog KVM-09, seed 000 L818-L877).

Precondition, as the notes left centos7 before KVM-09: made by the virt-install line of KVM-02
(L320) with KVM-04's serial console, converted to qcow2 in KVM-06 (L627-L651), given the data
disk vdb of KVM-07 (L669-L710, hot-plugged with --live only, as the notes type it: it is not in
the persistent configuration, so the clone copies vda alone; catalog §1.4 #5). KVM-08's snapshot
is made and deleted again (net zero) and is left out. Then KVM-09: virt-clone of the running VM
is refused (L832); the VM is shut off (L831) and cloned (L835); the clone is started (L850); its
rename is refused while it runs (L857, catalog §1.4 #7), so it is shut off and renamed (L856); the
two configurations are dumped and compared (L868-L870).
"""

from __future__ import annotations

from harness.core.replay import Line, Replay, ReplayMistake, Wait
from labs.common.centos7 import ADAPTATIONS as CENTOS7_ADAPTATIONS, BEFORE_KVM08, VM
from labs.common.kvm import console_up, shut_off


ACTIONS = (
    *BEFORE_KVM08,  # KVM-02/04, KVM-06, KVM-07: labs/common/centos7.py
    # ---- KVM-09
    Line("kvm01", "virt-clone --auto-clone -o centos7", seed="000:L832", cwd="/data", fails=True),  # VM running
    Line("kvm01", "virsh shutdown centos7", seed="000:L831 (克隆时，虚拟机必须关闭)", cwd="/data"),
    Wait("kvm01", shut_off(VM), "centos7 shut off", timeout=180, every=5),
    Line("kvm01", "virt-clone --auto-clone -o centos7", seed="000:L835", cwd="/data", timeout=600),
    Line("kvm01", "ls -l", seed="000:L845", cwd="/data"),
    Line("kvm01", "virsh start centos7-clone", seed="000:L850", cwd="/data"),
    Line("kvm01", "virsh list", seed="000:L852", cwd="/data"),
    Line("kvm01", "virsh domrename centos7-clone cc-centos7", seed="000:L857", cwd="/data", fails=True),  # running
    Wait("kvm01", console_up("centos7-clone"), "the clone is up", timeout=300, every=5),
    Line("kvm01", "virsh shutdown centos7-clone", seed="000:L856 (注意得关机后改名)", cwd="/data"),
    Wait("kvm01", shut_off("centos7-clone"), "the clone shut off", timeout=180, every=5),
    Line("kvm01", "virsh domrename centos7-clone cc-centos7", seed="000:L857", cwd="/data"),
    Line("kvm01", "ls -l /etc/libvirt/qemu/", seed="000:L861", cwd="/data"),
    Line("kvm01", "virsh dumpxml centos7 > centos7.xml.dump", seed="000:L868", cwd="/data"),
    Line("kvm01", "virsh dumpxml cc-centos7 > cc.xml.dump", seed="000:L869", cwd="/data"),
    Line("kvm01", "diff centos7.xml.dump cc.xml.dump", seed="000:L870 (vimdiff)", cwd="/data", fails=True),
)

MISTAKES = (
    ReplayMistake(
        "shares-source-disk", "pointed the clone's vda back at centos7.qcow2 (virsh edit cc-centos7)",
        lines=(Line("kvm01", "virt-xml cc-centos7 --edit target=vda --disk path=/data/centos7.qcow2",
                    seed="virsh edit cc-centos7"),),
        undo=(Line("kvm01", "virt-xml cc-centos7 --edit target=vda --disk path=/data/centos7-clone.qcow2",
                   seed="virsh edit cc-centos7"),),
        fails=frozenset({"test_kvm09_clone_disks"})),
    ReplayMistake(
        "dump-of-wrong-vm", "wrote centos7's XML into cc.xml.dump too (L869 typed with centos7)",
        lines=(Line("kvm01", "virsh dumpxml centos7 > cc.xml.dump", seed="000:L869, mistyped", cwd="/data"),),
        undo=(Line("kvm01", "virsh dumpxml cc-centos7 > cc.xml.dump", seed="000:L869", cwd="/data"),),
        fails=frozenset({"test_kvm09_xml_dumps"})),
    ReplayMistake(
        "not-renamed", "kept the automatic name centos7-clone (L857's rename was refused while the clone ran)",
        lines=(Line("kvm01", "virsh domrename cc-centos7 centos7-clone", seed="000:L857 not done"),),
        undo=(Line("kvm01", "virsh domrename centos7-clone cc-centos7", seed="000:L857"),),
        fails=frozenset({"test_kvm09_clone_renamed"})),
)

ADAPTATIONS = (
    *CENTOS7_ADAPTATIONS,
    "KVM-07: the VM stays running for the `--live` attach (catalog §1.4 #4); the replay waits until the detached "
    "vdb is gone before `qemu-img resize` (QEMU's image lock); the guest's mkfs/mount lines and KVM-08 (a "
    "snapshot made and deleted again) are left out: nothing here depends on them",
    "L831 says the VM must be shut off to clone but shows no command: `virsh shutdown centos7` after the refused "
    "first virt-clone",
    "L856 says to rename only after shutting the clone off, but L857 renames the running clone, which today's "
    "libvirt refuses (catalog §1.4 #7): the replay types L857, sees it refused, shuts the clone off and types "
    "it again; the notes do not start either VM again",
    "`ll` → `ls -l`; `vimdiff centos7.xml.dump cc.xml.dump` (interactive) → `diff` (exits 1: the files differ)",
)

REPLAY = Replay(actions=ACTIONS, mistakes=MISTAKES, adaptations=ADAPTATIONS)
