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
from labs.common.kvm import console_up, shut_off

VM = "centos7"
BOOT = "/var/lib/libvirt/boot"

VIRT_INSTALL = (
    "virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 --vcpus 1 "
    "--disk /data/centos2.raw,format=raw,size=10 "
    f"--import --boot kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,"
    "kernel_args=\"quiet console=ttyS0,115200n8 guestshell=1\" "
    "--network network=default --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole --channel none")


ACTIONS = (
    # ---- KVM-02/04 (precondition): centos7 with its serial console
    Line("kvm01", "mkdir -p /data", seed="000:L263"),
    Line("kvm01", f"mkdir -p {BOOT} && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz {BOOT}/",
         seed="000:L271 (adaptation: the lab guest's kernel in place of the CentOS 7 DVD)"),
    Line("kvm01", VIRT_INSTALL, seed="000:L320 (+ KVM-04's console, L511)", cwd="/data", timeout=180),
    Wait("kvm01", console_up(VM), "centos7 is up", timeout=300, every=5),
    # ---- KVM-06 (precondition): the disk converted to qcow2
    Line("kvm01", "virsh shutdown centos7", seed="000:L627", cwd="/data"),
    Wait("kvm01", shut_off(VM), "centos7 shut off", timeout=180, every=5),
    Line("kvm01", "qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2", seed="000:L639", cwd="/data",
         timeout=180),
    Line("kvm01", "virt-xml centos7 --edit target=vda --disk driver.type=qcow2,path=/data/centos7.qcow2",
         seed="000:L644-L648 (virsh edit: driver type qcow2, source /data/centos7.qcow2)", cwd="/data"),
    Line("kvm01", "rm -rf centos2.raw", seed="000:L650", cwd="/data"),
    Line("kvm01", "virsh start centos7", seed="000:L651", cwd="/data"),
    Wait("kvm01", console_up(VM), "centos7 is up on centos7.qcow2", timeout=300, every=5),
    # ---- KVM-07 (precondition): the data disk vdb, hot-plugged
    Line("kvm01", "qemu-img create -f qcow2 chaoge-add01.qcow2 3G", seed="000:L669", cwd="/data"),
    Line("kvm01", "virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2",
         seed="000:L686", cwd="/data"),
    Line("kvm01", "virsh detach-disk centos7 vdb", seed="000:L703", cwd="/data"),
    Wait("kvm01", f"! virsh domblklist {VM} | grep -qw vdb", "vdb is gone from the VM (L705)", timeout=120),
    Line("kvm01", "qemu-img resize chaoge-add01.qcow2 +2G", seed="000:L707", cwd="/data"),
    Line("kvm01", "virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2",
         seed="000:L710", cwd="/data"),
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
    "CentOS 7 from the DVD → the lab guest: virt-install's `--cdrom /data/CentOS-7-x86_64-DVD-1804.iso` becomes "
    f"`--import --boot kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,kernel_args=\"quiet console=ttyS0,115200n8 "
    "guestshell=1\"` after copying the kernel from /opt/labharness/guest (console=ttyS0 and guestshell=1, the "
    "lab guest's login shell on ttyS0: the state KVM-04 leaves)",
    "`--virt-type kvm` → `--virt-type qemu` (no working /dev/kvm here), `--os-variant rhel7` → `rhel7.0` "
    "(today's osinfo-db has no `rhel7`), `--channel none` (today's virt-install adds a guest-agent channel by "
    "itself; the course's VMs have none)",
    "`virsh edit centos7` (vi) → `virt-xml centos7 --edit target=vda --disk driver.type=qcow2,path=/data/centos7.qcow2`: "
    "the two lines the notes change (L647-L648)",
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
