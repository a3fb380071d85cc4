"""The course replay of the migration lab (catalog KVM-15 and KVM-16, seed 000 L1244-L1494).

One VM, web01, as the notes have it: made on kvm01 by KVM-14's virt-install line (L1223), on br0,
its disk /data/centos7.qcow2. KVM-15 (cold): kvm02 prepared like kvm01 (br0, /data), `virsh
dumpxml web01 > web01.xml` and `scp -rp web01.xml centos7.qcow2 kvm02:/data/` on kvm01, `virsh
define web01.xml` and `virsh start web01` on kvm02; the notes leave web01 running on kvm01.
KVM-16 (live): kvm01's /data is shared (the notes export it over NFS), kvm02 mounts it on /data
(hiding its own cold copy) and at boot (rc.local), destroys and undefines its cold copy, and web01
moves from kvm01 to kvm02 in virt-manager (here its CLI equivalent).

Shared storage: this machine's kernel has no NFS (client or server), so the storage host (the
notes' nfs01, L1327) serves a GlusterFS volume ``data``. kvm01's /data is that volume from the
start, mounted before web01 is made: in the transcript kvm01's /data is what it exports, so its
disk never moves; kvm02 mounts it on /data exactly where the notes run ``mount.nfs``.
"""

from __future__ import annotations

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait

#: web01's address as in the notes (10.0.1.51 next to kvm01's 10.0.1.50): host number 51 of kvm01's
#: network; and kvm01's gateway (10.0.1.2)
GUEST_IP = ("ip=$(ip -4 -o addr show dev br0 | awk '{split($4,a,\"/\"); split(a[1],o,\".\"); "
            "print o[1]\".\"o[2]\".\"o[3]\".51/\"a[2]; exit}')")
GATEWAY = "gw=$(ip -4 route show default | awk '{print $3; exit}')"
IFACE_BRIDGE = "iface-bridge.sh"  # a link to labs/common/files/iface-bridge.sh
KERNEL = ("mkdir -p /var/lib/libvirt/boot && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz "
          "/var/lib/libvirt/boot/")
KERNEL_SEED = "adaptation: the lab guest's kernel in place of the CentOS 7 install"


def virt_install_web01(extra: str = "") -> str:
    """KVM-14's line (seed 000 L1223), with the lab guest booted in place of `--boot hd`."""
    return (f"{GUEST_IP}; {GATEWAY}; virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name web01 "
            "--memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2 --disk /data/centos7.qcow2,format=qcow2,size=10 "
            "--import --boot kernel=/var/lib/libvirt/boot/vmlinuz,initrd=/var/lib/libvirt/boot/initrd.gz,"
            "kernel_args=\"console=ttyS0,115200n8 no_timer_check guestname=web01 guestip=$ip guestgw=$gw\" "
            f"--network bridge=br0 --graphics vnc,listen=0.0.0.0 --noautoconsole{extra}")


RUNNING = '[ "$(virsh domstate web01)" = running ]'
#: web01 answers at its address (its web server, port 80)
ANSWERS = f"{GUEST_IP}; curl -s -m 2 -o /dev/null http://${{ip%/*}}/"
#: L921: "the network restarts": br0 runs STP, its port forwards after listening and learning (2 x 2 s)
FORWARDING = "bridge link show dev eth0 | grep -q 'state forwarding'"

PRECONDITION = (
    # KVM-10 on kvm01: br0 with the host's NIC and address
    File("kvm01", "/usr/local/sbin/iface-bridge", IFACE_BRIDGE, mode=0o755,
         seed="adaptation: Debian's libvirt has no netcf for virsh iface-bridge"),
    Line("kvm01", "virsh iface-bridge eth0 br0 || iface-bridge eth0 br0", seed="000:L920", timeout=120),
    Wait("kvm01", FORWARDING, "kvm01's network back after the bridge (L921)"),
    # kvm01's /data, which the notes export (L1407): the storage host's volume, from the start
    Line("storage", "mkdir -p /bricks/data && gluster volume create data storage:/bricks/data force && "
         "gluster volume start data", seed="000:L1407-L1416 (NFS export of /data), as GlusterFS on nfs01 (L1327)"),
    Wait("storage", "gluster volume status data detail | grep -qE '^Online +: Y'", "the volume's brick is online"),
    Line("kvm01", "mkdir -p /data && mount -t glusterfs storage:/data /data",
         seed="000:L1334 (kvm01 mounts the share), at /data where the transcript exports it"),
    Line("kvm01", KERNEL, seed=KERNEL_SEED),
    # KVM-02/06: the VM's disk, converted from raw to /data/centos7.qcow2 (what KVM-13/14 boot web01 from)
    Line("kvm01", "qemu-img create -f raw /data/centos2.raw 10G", seed="000:L320 (virt-install's centos2.raw,size=10)"),
    Line("kvm01", "qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2", seed="000:L639", cwd="/data"),
    Line("kvm01", "rm -f centos2.raw", seed="catalog KVM-06: centos2.raw deleted", cwd="/data"),
    # KVM-14: web01 on /data/centos7.qcow2, on br0, running
    Line("kvm01", virt_install_web01(), seed="000:L1223", timeout=180),
    Wait("kvm01", ANSWERS, "web01 up (KVM-14 reaches it: ssh root@10.0.1.51)", timeout=300),
)

KVM15 = (
    File("kvm02", "/usr/local/sbin/iface-bridge", IFACE_BRIDGE, mode=0o755,
         seed="adaptation: Debian's libvirt has no netcf for virsh iface-bridge"),
    Line("kvm02", "virsh iface-bridge eth0 br0 || iface-bridge eth0 br0", seed="000:L1256", timeout=120),
    Wait("kvm02", FORWARDING, "kvm02's network back after the bridge (L921)"),
    Line("kvm02", "mkdir -p /data", seed="000:L1258"),
    Line("kvm02", KERNEL, seed=KERNEL_SEED),
    Line("kvm01", "virsh dumpxml web01 > web01.xml", seed="000:L1265", cwd="/data"),
    Line("kvm01", "scp -rp web01.xml  centos7.qcow2 kvm02:/data/", seed="000:L1271", cwd="/data", timeout=300),
    Line("kvm02", "virsh define web01.xml", seed="000:L1280", cwd="/data"),
    Line("kvm02", "virsh start web01", seed="000:L1301", cwd="/data"),
)

KVM16 = (
    Line("kvm02", "mount -t glusterfs storage:/data /data", seed="000:L1429"),
    Line("kvm02", "echo 'mount -t glusterfs storage:/data /data' >> /etc/rc.local", seed="000:L1434"),
    Line("kvm02", "chmod  +x /etc/rc.local", seed="000:L1435"),
    Line("kvm02", "virsh destroy web01", seed="000:L1471"),
    Line("kvm02", "virsh undefine web01", seed="000:L1473"),
    Wait("kvm01", RUNNING, "web01 still running on kvm01"),
    Line("kvm01", "virsh migrate --live --verbose --persistent --undefinesource web01 qemu+ssh://kvm02/system",
         seed="000:L1459-L1486 (virt-manager: Migrate to kvm02)", timeout=300),
    Wait("kvm02", ANSWERS, "web01 answers at its address from kvm02 (L1482: migrated)", timeout=300),
)

MISTAKES = (
    ReplayMistake(
        "source-kept", "migrated without moving the definition (virsh migrate --live without --undefinesource): "
        "kvm01 still has web01, shut off",
        lines=(Line("kvm01", "virsh define web01.xml", seed="000:L1265's web01.xml, still in /data", cwd="/data"),),
        undo=(Line("kvm01", "virsh undefine web01", seed="undo"),),
        fails=frozenset({"test_kvm16_live_migration_left_source"})),
    ReplayMistake(
        "transient-target", "migrated without --persistent (virt-manager: 'Temporary move'): web01 runs on kvm02 "
        "but is not defined there",
        lines=(Line("kvm02", "virsh dumpxml --inactive web01 > /root/web01-kvm02.xml && virsh undefine web01",
                    seed="the state --persistent would have avoided"),),
        undo=(Line("kvm02", "virsh define /root/web01-kvm02.xml", seed="undo"),),
        fails=frozenset({"test_kvm16_live_migration_persistent_on_target"})),
    ReplayMistake(
        "rc-local-not-executable", "skipped L1435 (chmod +x rc.local): kvm02 does not mount /data at boot",
        lines=(Line("kvm02", "chmod -x /etc/rc.local", seed="000:L1435 left out"),),
        undo=(Line("kvm02", "chmod  +x /etc/rc.local", seed="000:L1435"),),
        fails=frozenset({"test_kvm16_live_migration_mounted_at_boot"})),
)

ADAPTATIONS = (
    "no kernel NFS here (no nfs/nfsd in /proc/filesystems, no modules): the share is a GlusterFS volume `data` on "
    "the storage host (the notes' nfs01, L1327), mounted with `mount -t glusterfs storage:/data /data` where the notes "
    "type `mount.nfs 10.0.1.50:/data /data` (L1429, L1434); the NFS server lines on kvm01 (yum install nfs-utils, "
    "/etc/exports, systemctl restart/enable rpcbind nfs, showmount) have no counterpart",
    "kvm01's /data is that volume from the start (mounted before KVM-14's web01 is made): in the transcript kvm01 "
    "exports its own /data, so web01's disk is already where kvm02 will see it",
    "CentOS 7 → the lab guest: virt-install's `--boot hd` becomes `--import --boot kernel=/var/lib/libvirt/boot/vmlinuz,"
    "initrd=...,kernel_args=\"console=ttyS0,115200n8 no_timer_check guestname=web01 guestip=ADDR guestgw=GW\"` after copying the "
    "kernel from /opt/labharness/guest on both hosts (no_timer_check: under TCG on a loaded machine the "
    "guest kernel's IO-APIC timer check can panic it); guestip/guestgw are web01's ifcfg-eth0 of KVM-10 "
    "(10.0.1.51, GATEWAY 10.0.1.2): host number 51 of kvm01's network and kvm01's gateway",
    "`--virt-type kvm` → `--virt-type qemu` (no working /dev/kvm) and `--os-variant rhel7` → `rhel7.0`; no guest "
    "agent channel, as the course's VMs have none",
    "`virsh iface-bridge ens33 br0` → `virsh iface-bridge eth0 br0 || iface-bridge eth0 br0` (the container's NIC is "
    "eth0; Debian's libvirt has no netcf: labs/common/files/iface-bridge.sh does the same with iproute2)",
    "KVM-15's `yum install libvirt virt-install qemu-kvm` and `systemctl start libvirtd` on kvm02: the kvm-host image "
    "has them installed and running (no systemd)",
    "`scp ... 10.0.1.63:/data/` → `kvm02:/data/` (hosts reach each other by course name); /etc/rc.d/rc.local → "
    "/etc/rc.local (Debian)",
    "the GUI path of KVM-16 (GNOME, tigervnc-server, vncpasswd, virt-manager, L1343-L1457) → virt-manager's Migrate "
    "as `virsh migrate --live --verbose --persistent --undefinesource web01 qemu+ssh://kvm02/system` (virt-manager "
    "moves the definition unless 'Temporary move' is ticked; the catalog's CLI equivalent)",
)

MISTAKES_BY_NAME = {m.name: m for m in MISTAKES}

REPLAY = Replay(actions=PRECONDITION + KVM15 + KVM16, mistakes=MISTAKES, adaptations=ADAPTATIONS)
