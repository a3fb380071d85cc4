"""The course's centos7 as the notes leave it before KVM-08, typed the course's way: the shared
precondition of the clone and snapshots replays.

KVM-02's virt-install line (L320) with KVM-04's serial console, KVM-06's conversion to qcow2
(L627-L651) and KVM-07's data disk vdb, hot-plugged with ``--live`` only as the notes type it
(L669-L710). One copy of these lines, so that both replays type exactly the same machine.
"""

from __future__ import annotations

from harness.core.replay import Line, Wait
from labs.common.kvm import BOOT_DIR, GUEST_IMAGE_DIR, console_up, shut_off

VM = "centos7"

VIRT_INSTALL = (
    "virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 --vcpus 1 "
    "--disk /data/centos2.raw,format=raw,size=10 "
    f"--import --boot kernel={BOOT_DIR}/vmlinuz,initrd={BOOT_DIR}/initrd.gz,"
    "kernel_args=\"quiet console=ttyS0,115200n8 guestshell=1\" "
    "--network network=default --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole --channel none")

BEFORE_KVM08 = (
    # ---- KVM-02/04 (precondition): centos7 with its serial console
    Line("kvm01", "mkdir -p /data", seed="000:L263"),
    Line("kvm01", f"mkdir -p {BOOT_DIR} && cp {GUEST_IMAGE_DIR}/vmlinuz {GUEST_IMAGE_DIR}/initrd.gz {BOOT_DIR}/",
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
)

#: the forced adaptations of BEFORE_KVM08, as both replays' READMEs state them
ADAPTATIONS = (
    "CentOS 7 from the DVD → the lab guest: virt-install's `--cdrom /data/CentOS-7-x86_64-DVD-1804.iso` becomes "
    f"`--import --boot kernel={BOOT_DIR}/vmlinuz,initrd={BOOT_DIR}/initrd.gz,kernel_args=\"quiet console=ttyS0,115200n8 "
    "guestshell=1\"` after copying the kernel from /opt/labharness/guest (console=ttyS0 and guestshell=1, the "
    "lab guest's login shell on ttyS0: the state KVM-04 leaves)",
    "`--virt-type kvm` → `--virt-type qemu` (no working /dev/kvm here), `--os-variant rhel7` → `rhel7.0` "
    "(today's osinfo-db has no `rhel7`), `--channel none` (today's virt-install adds a guest-agent channel by "
    "itself; the course's VMs have none)",
    "`virsh edit centos7` (vi) → `virt-xml centos7 --edit target=vda --disk driver.type=qcow2,path=/data/centos7.qcow2`: "
    "the two lines the notes change (L647-L648)",
)
