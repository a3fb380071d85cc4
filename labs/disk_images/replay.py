"""The course replay of the disk images lab: the notes' lines of KVM-05..07, typed on kvm01.

Seed: ``../shared/seeds/000_950b73a8593a2448.txt`` (cited "000:L590"). The notes work in /data
(``[root@kvm01 data]#``); lines inside the VM (``[root@localhost ~]#``, reached by ssh or the
serial console of KVM-04) are typed on centos7's serial console with ``vm-console`` (files/), the
non-interactive equivalent of ``virsh console centos7`` and a keyboard.
"""

import shlex

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait
from labs.common.kvm import shut_off

H = "kvm01"
D = "/data"
BOOT = "/var/lib/libvirt/boot"
GUEST = "/opt/labharness/guest"


def on(text: str, seed: str, **kw) -> Line:
    """A line typed in /data on kvm01."""
    return Line(H, text, seed=seed, cwd=D, **kw)


def vm(text: str, seed: str, **kw) -> Line:
    """A line typed inside centos7 (its serial console)."""
    return Line(H, f"vm-console centos7 {shlex.quote(text)}", seed=seed, **kw)


def edit(sed: str, seed: str) -> Line:
    """`virsh edit centos7`, the editor being sed: the same change, made the way virsh edit makes it
    (a copy of the persistent XML, edited, validated and defined again)."""
    return on(f"EDITOR={shlex.quote('sed -i ' + sed)} virsh edit centos7", seed)


WAIT_SHUT_OFF = Wait(H, shut_off("centos7", press_again=False), "centos7 shut off", timeout=180)


WAIT_UP = Wait(H, "VM_CONSOLE_TIMEOUT=50 vm-console centos7 true", "centos7 answers on its console (booted)", timeout=600)
WAIT_VDB_GONE = Wait(H, "! virsh domblklist centos7 | grep -qw vdb", "vdb detached (the guest released it)", timeout=60)


def wait_vdb(sectors: int) -> Wait:
    return Wait(H, f"VM_CONSOLE_TIMEOUT=50 vm-console centos7 'test \"$(cat /sys/block/vdb/size)\" = {sectors}'",
                f"the guest sees vdb of {sectors} sectors", timeout=120)


TO_QCOW2 = "-e \"s|<driver name='qemu' type='raw'|<driver name='qemu' type='qcow2'|\" -e \"s|/data/centos2.raw|/data/centos7.qcow2|\""
ATTACH = "virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2"
VIRT_INSTALL = (  # L312, adapted: see ADAPTATIONS
    "virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 --vcpus 1 "
    "--disk /data/centos2.raw,format=raw,size=10 "
    f"--import --boot kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,kernel_args=\"console=ttyS0,115200n8 guestshell=1\" "
    "--network network=default --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole --channel none")

ADAPTATIONS = (
    "KVM-02 (precondition): the course installs CentOS 7 from the DVD over VNC; here the 'installed' disk is "
    "/data/centos2.raw made with `qemu-img create -f raw` + `mkfs.ext4` (a filesystem the lab guest mounts), and "
    "virt-install boots the lab guest's kernel from /var/lib/libvirt/boot (copied from /opt/labharness/guest): "
    "`--cdrom CentOS-7-x86_64-DVD-1804.iso` becomes `--import --boot kernel=...,initrd=...,kernel_args=...`; with "
    "--import the VM runs at once, so the notes' `virsh start centos7` after the installation (L346) is not typed",
    "virt-install: `--virt-type qemu` (no /dev/kvm here: TCG) and `--os-variant rhel7.0` (today's osinfo name of "
    "`rhel7`; `--os-type=linux` is accepted and ignored); `--channel none`: today's virt-install adds a "
    "qemu-guest-agent channel by itself, CentOS 7's did not (the course's VMs run no agent)",
    "KVM-04 (precondition): the serial console login (grubby console=ttyS0) is the lab guest's kernel arguments "
    "`console=ttyS0,115200n8 guestshell=1` (a root shell on ttyS0); lines the notes type inside the VM (after "
    "`ssh root@192.168.122.60`) are typed there with files/vm-console (`virsh console` under a pty)",
    "`virsh edit centos7` (interactive vi) is `EDITOR='sed -i ...' virsh edit centos7`: the same two changes",
    "`virsh shutdown` is asynchronous: the replay waits for `shut off` before converting, as a student looks again",
    "L683 `virsh shutdown centos7` before attach-disk is not typed: the next line says the disk is hot-added "
    "without a shutdown and `--live` needs a running VM (catalog §1.4 #4)",
    "In the guest: `dd ... of=/tmp/test.raw` writes /mnt/vda/test.raw (the lab guest's /tmp is in RAM; its disk is "
    "mounted on /mnt/vda); `mkfs.xfs /dev/vdb` is `mke2fs /dev/vdb` (busybox has no mkfs.xfs); `xfs_growfs /mnt` "
    "(a no-op in the transcript, catalog §1.4 #6) is not typed; `fdisk -l` is `cat /proc/partitions`",
)

ACTIONS = (
    # ---- KVM-02/04, the precondition: centos7 on a 10G raw disk, running, console login
    Line(H, f"mkdir -p {D} {BOOT} && cp {GUEST}/vmlinuz {GUEST}/initrd.gz {BOOT}/", seed="000:L263"),
    File(H, "/usr/local/bin/vm-console", "vm-console", seed="000:L501", mode=0o755),
    on("qemu-img create -f raw centos2.raw 10G && mkfs.ext4 -q -F centos2.raw", seed="000:L335"),
    on(VIRT_INSTALL, seed="000:L312", timeout=180),
    WAIT_UP,
    # ---- KVM-05: qemu-img practice
    on("qemu-img create -f qcow2 chaoge.qcow2 2G", seed="000:L590"),
    on("qemu-img info centos2.raw", seed="000:L593"),
    on("qemu-img info chaoge.qcow2", seed="000:L599"),
    on("qemu-img resize chaoge.qcow2 +5G", seed="000:L609"),
    on("qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw", seed="000:L613"),
    # ---- KVM-06: the VM's disk from raw to qcow2
    on("ls -l", seed="000:L620"),
    on("virsh shutdown centos7", seed="000:L627"),
    WAIT_SHUT_OFF,
    on("virsh dumpxml --inactive centos7 | grep 'source file'", seed="000:L630"),
    on("qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2", seed="000:L639", timeout=600),
    on("ls -lh | grep centos7", seed="000:L641"),
    edit(TO_QCOW2, seed="000:L644"),
    on("rm -rf centos2.raw", seed="000:L650"),
    on("virsh start centos7", seed="000:L651"),
    WAIT_UP,
    vm("dd if=/dev/zero of=/mnt/vda/test.raw bs=500M count=1", seed="000:L657", timeout=300),
    vm("sync", seed="000:L659"),
    on("ls -lh | grep centos7", seed="000:L661"),
    # ---- KVM-07: a data disk, vdb
    on("qemu-img create -f qcow2 chaoge-add01.qcow2 3G", seed="000:L669"),
    on("qemu-img info chaoge-add01.qcow2", seed="000:L672"),
    on(ATTACH, seed="000:L686"),
    wait_vdb(3 * 2 * 1024 * 1024),
    vm("cat /proc/partitions", seed="000:L689"),
    on("virsh detach-disk centos7 vdb", seed="000:L703"),
    WAIT_VDB_GONE,
    on("qemu-img resize chaoge-add01.qcow2 +2G", seed="000:L707"),
    on(ATTACH, seed="000:L710"),
    wait_vdb(5 * 2 * 1024 * 1024),
    vm("grep vdb /proc/partitions", seed="000:L713"),
    vm("mke2fs /dev/vdb", seed="000:L716", timeout=300),
    vm("mount /dev/vdb  /mnt", seed="000:L727"),
    vm("df -h | grep vdb", seed="000:L728"),
)

# ---- typical mistakes, each typed after the complete replay and undone

REMOUNT_VDB = (on(ATTACH, seed="000:L710"), wait_vdb(5 * 2 * 1024 * 1024), vm("mount /dev/vdb  /mnt", seed="000:L727"))

TYPE_LEFT_RAW = ReplayMistake(
    "type-left-raw",
    "KVM-06: in `virsh edit centos7` changed only <source file> to centos7.qcow2 and left <driver type='raw'/>: "
    "the VM starts but reads the qcow2 file as a raw disk (no filesystem), and the restart drops the live vdb",
    lines=(on("virsh shutdown centos7", seed="000:L627"), WAIT_SHUT_OFF,
           edit("-e \"s|<driver name='qemu' type='qcow2'|<driver name='qemu' type='raw'|\"", seed="000:L644"),
           on("virsh start centos7", seed="000:L651"), WAIT_UP),
    undo=(on("virsh shutdown centos7", seed="000:L627"), WAIT_SHUT_OFF, edit(TO_QCOW2, seed="000:L644"),
          on("virsh start centos7", seed="000:L651"), WAIT_UP, *REMOUNT_VDB),
    fails=frozenset({"test_kvm06_driver_type_qcow2", "test_kvm06_guest_reads_converted_disk",
                     "test_kvm07_data_disk_attached", "test_kvm07_guest_sees_5g_disk",
                     "test_kvm07_disk_formatted_and_mounted"}),
)

NOT_RESIZED = ReplayMistake(
    "not-resized",
    "KVM-05: skipped `qemu-img resize chaoge.qcow2 +5G`, so chaoge.qcow2 and its raw copy stay 2G",
    lines=(on("rm -f chaoge.qcow2 chaoge.raw", seed="000:L590"),
           on("qemu-img create -f qcow2 chaoge.qcow2 2G", seed="000:L590"),
           on("qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw", seed="000:L613")),
    undo=(on("rm -f chaoge.qcow2 chaoge.raw", seed="000:L590"),
          on("qemu-img create -f qcow2 chaoge.qcow2 2G", seed="000:L590"),
          on("qemu-img resize chaoge.qcow2 +5G", seed="000:L609"),
          on("qemu-img convert -f qcow2 -O raw chaoge.qcow2 chaoge.raw", seed="000:L613")),
    fails=frozenset({"test_kvm05_qcow2_resized", "test_kvm05_converted_to_raw"}),
)

NO_SUBDRIVER = ReplayMistake(
    "no-subdriver",
    "KVM-07: re-attached the resized disk without --subdriver=qcow2: libvirt hands the qcow2 file to the guest "
    "as raw, so vdb is a few hundred KiB of qcow2 metadata, not the 5G disk (and cannot be mounted)",
    lines=(vm("umount /mnt", seed="000:L727"), on("virsh detach-disk centos7 vdb", seed="000:L703"), WAIT_VDB_GONE,
           on("virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none", seed="000:L710"),
           Wait(H, "VM_CONSOLE_TIMEOUT=50 vm-console centos7 'test -b /dev/vdb'", "the guest sees the new vdb", timeout=120)),
    undo=(on("virsh detach-disk centos7 vdb", seed="000:L703"), WAIT_VDB_GONE, *REMOUNT_VDB),
    fails=frozenset({"test_kvm07_data_disk_attached", "test_kvm07_guest_sees_5g_disk",
                     "test_kvm07_disk_formatted_and_mounted"}),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=(NOT_RESIZED, NO_SUBDRIVER, TYPE_LEFT_RAW),
    adaptations=ADAPTATIONS,
)
