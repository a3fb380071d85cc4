"""The course replay of the hot-plug lab: the notes' lines of KVM-11..14, typed on kvm01.

Seed: ``../shared/seeds/000_950b73a8593a2448.txt`` (cited "000:L1039"). The notes work in /data
(``[root@kvm01 data]#``); lines inside a VM (``ssh root@10.0.1.51 ...``, ``[root@localhost ~]#``)
are typed with ssh as the notes do, the password coming from SSH_ASKPASS (files/course-password). As in the notes, KVM-13 deletes centos7 (keeping its disk) and
builds web01 on /data/centos7.qcow2, and KVM-14 re-creates web01 with the maximum memory.
"""

import shlex

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait
from labs.common.kvm import shut_off

H = "kvm01"
D = "/data"
BOOT = "/var/lib/libvirt/boot"
GUEST = "/opt/labharness/guest"


def addr(k: int) -> str:
    """The k-th address from the top of br0's subnet, with its prefix, as the shell computes it on
    kvm01 (10.0.1.51, 10.0.1.52 in the notes: the course's segment is not this machine's)."""
    return ('$(python3 -c "import ipaddress,subprocess as s; '
            "a=s.run(['ip','-4','-o','addr','show','dev','br0'],capture_output=True,text=True).stdout.split()[3]; "
            f"n=ipaddress.IPv4Interface(a).network; print('%s/%d' % (n.broadcast_address-{k}, n.prefixlen))\")")


def on(text: str, seed: str, **kw) -> Line:
    """A line typed in /data on kvm01."""
    return Line(H, text, seed=seed, cwd=D, **kw)


def ip(k: int) -> str:
    """The address alone (10.0.1.51 for k=1)."""
    return addr(k).replace("print('%s/%d' % (n.broadcast_address-" + str(k) + ", n.prefixlen))",
                           f"print(n.broadcast_address-{k})")


SSH = ("SSH_ASKPASS=/usr/local/bin/course-password SSH_ASKPASS_REQUIRE=force "
       "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5")


def ssh(text: str, seed: str, **kw) -> Line:
    """``ssh root@10.0.1.51 TEXT``: a line typed in the VM at eth0's address (centos7, later web01)."""
    return Line(H, f"{SSH} root@{ip(1)} {shlex.quote(text)}", seed=seed, **kw)


def wait_up(name: str) -> Wait:
    return Wait(H, f"{SSH} root@{ip(1)} true", f"{name} answers ssh at its address (booted)", timeout=300)


def virt_install(memory: str, vcpus: str, seed: str) -> Line:
    """L1187 / L1223: web01 on centos7's disk, adapted like the precondition's virt-install."""
    return on("virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name web01 "
              f"--memory {memory} --vcpus {vcpus} --disk /data/centos7.qcow2,format=qcow2,size=10 "
              f"--import --boot {BOOT_OPTION.format(ip=addr(1))} "
              "--network bridge=br0 --graphics vnc,listen=0.0.0.0  --noautoconsole --channel none", seed=seed, timeout=180)


BOOT_OPTION = f'kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,kernel_args="console=ttyS0,115200n8 guestip={{ip}}"'
SETMEM_DONE = Wait(H, "virsh dominfo web01 | grep -Eq '^Used memory: +2097152 KiB'",
                   "virsh dominfo web01 shows the 2 GiB (QEMU reports the balloon at most once a second)", timeout=120)
WEB01_AGAIN = (  # L1216-L1236: web01 re-created with the maximum memory, setmem 2G
    on("virsh destroy web01", seed="000:L1216"),
    on("virsh undefine web01", seed="000:L1220"),
    virt_install("512,maxmemory=2048", "1,maxvcpus=2", seed="000:L1223"),
    wait_up("web01"),
    ssh("free -m", seed="000:L1227"),
    on("virsh setmem web01 2G", seed="000:L1236"),
    SETMEM_DONE,
)

ADAPTATIONS = (
    "Precondition (KVM-02..10): one virt-install makes the state the earlier labs leave: centos7 (--memory 1024 "
    "--vcpus 1) on /data/centos7.qcow2 (a 10G raw disk with a filesystem, converted as in KVM-06), on br0, with "
    "eth0's static address; vdb /data/chaoge-add01.qcow2 (5G) attached --live as in KVM-07 (L710)",
    "virt-install: the lab guest in place of CentOS 7: `--cdrom ...iso` / `--boot hd` become `--import --boot "
    "kernel=/var/lib/libvirt/boot/vmlinuz,initrd=...,kernel_args=...` (kernel and initrd copied from "
    "/opt/labharness/guest); `--virt-type qemu` (no /dev/kvm: TCG); `--os-variant rhel7.0` (today's name of rhel7); "
    "`--channel none`: today's virt-install adds a qemu-guest-agent channel by itself, CentOS 7's did not",
    "What CentOS keeps on its disk (ifcfg-eth0's static address) the lab guest takes from its kernel arguments "
    "(`console=ttyS0,115200n8 guestip=<10.0.1.51>/<prefix>`)",
    "Addresses: 10.0.1.51 and 10.0.1.52 in the notes are the last and second-to-last address of br0's subnet "
    "here (computed on kvm01 with python3); `virsh iface-bridge ens33 br0` is `iface-bridge eth0 br0` "
    "(labs/common/files/iface-bridge.sh: Debian's libvirt has no netcf backend)",
    "Lines typed inside a VM (`ssh root@10.0.1.51 ...`, `[root@localhost ~]#` after `ssh root@10.0.1.51`) are "
    "`ssh root@<address> '...'`, the root password typed at ssh's prompt given by SSH_ASKPASS (files/course-password: "
    "123456, the course VMs' password the harness assumes), host keys not remembered (centos7 and web01 answer at "
    "one address); `fdisk -l` is `cat /proc/partitions`, `lscpu` is `nproc`; ifcfg-eth1 + `systemctl restart "
    "network` is `ip addr add <10.0.1.52>/<prefix> dev eth1` (the lab guest has no network-scripts)",
    "`virsh edit centos7` (vi) is `EDITOR='sed -i ...' virsh edit centos7`, adding the same <interface>; "
    "`virsh shutdown` is asynchronous: the replay waits for `shut off` before `virsh start`",
    "KVM-13's 'delete the old VM completely, keep only its disk' (L1185, no command shown) is "
    "`virsh destroy centos7; virsh undefine centos7` (catalog §1.4 #10)",
)

ACTIONS = (
    # ---- precondition: br0, centos7 on it with vda centos7.qcow2 and vdb chaoge-add01.qcow2
    Line(H, f"mkdir -p {D} {BOOT} && cp {GUEST}/vmlinuz {GUEST}/initrd.gz {BOOT}/", seed="000:L263"),
    File(H, "/usr/local/bin/course-password", "course-password", seed="000:L1054", mode=0o755),
    File(H, "/usr/local/sbin/iface-bridge", "../../common/files/iface-bridge.sh", seed="000:L920", mode=0o755),
    Line(H, "iface-bridge eth0 br0", seed="000:L920"),
    on("qemu-img create -f raw centos2.raw 10G && mkfs.ext4 -q -F centos2.raw", seed="000:L335"),
    on("qemu-img convert -f raw -O qcow2 centos2.raw centos7.qcow2 && rm -rf centos2.raw", seed="000:L639"),
    on("qemu-img create -f qcow2 chaoge-add01.qcow2 3G && qemu-img resize chaoge-add01.qcow2 +2G", seed="000:L669"),
    on("virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 --vcpus 1 "
       f"--disk /data/centos7.qcow2,format=qcow2,size=10 --import --boot {BOOT_OPTION.format(ip=addr(1))} "
       "--network bridge=br0 --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole --channel none", seed="000:L312", timeout=180),
    wait_up("centos7"),
    on("virsh attach-disk centos7 /data/chaoge-add01.qcow2 vdb --live --cache=none --subdriver=qcow2", seed="000:L710"),
    # ---- KVM-11: hot-add a disk, vdc
    on("qemu-img create -f qcow2 centos7-add01.qcow2 5G", seed="000:L1039"),
    on("qemu-img info centos7-add01.qcow2", seed="000:L1042"),
    ssh("cat /proc/partitions", seed="000:L1057"),
    on("virsh attach-disk centos7 /data/centos7-add01.qcow2 vdc --live --cache=none --subdriver=qcow2", seed="000:L1072"),
    Wait(H, f"{SSH} root@{ip(1)} 'test \"$(cat /sys/block/vdc/size)\" = 10485760'", "the guest sees vdc", timeout=120),
    ssh("grep vd /proc/partitions", seed="000:L1075"),
    # ---- KVM-12: hot-add a NIC, make it permanent, restart, address it
    on("virsh attach-interface centos7 --type bridge --model virtio --source br0", seed="000:L1092"),
    ssh("ip addr show", seed="000:L1095"),
    on("EDITOR=" + shlex.quote("sed -i \"/<\\/interface>/a <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>\"")
       + " virsh edit centos7", seed="000:L1114"),
    on("virsh shutdown centos7", seed="000:L1128"),
    Wait(H, shut_off("centos7", press_again=False), "centos7 shut off", timeout=180),
    on("virsh start  centos7", seed="000:L1133"),
    wait_up("centos7"),
    ssh("ip a", seed="000:L1136"),
    Line(H, f'{SSH} root@{ip(1)} "ip addr add {addr(2)} dev eth1 && ip link set eth1 up"', seed="000:L1178"),
    # ---- KVM-13: centos7 deleted (its disk kept), web01 on that disk with maxvcpus=4, setvcpus
    on("virsh destroy centos7", seed="000:L1185"),
    on("virsh undefine centos7", seed="000:L1185"),
    virt_install("1024", "1,maxvcpus=4", seed="000:L1187"),
    wait_up("web01"),
    on("virsh setvcpus web01 --count=2", seed="000:L1190"),
    ssh("nproc", seed="000:L1200"),
    # ---- KVM-14: web01 re-created with maxmemory, setmem 2G
    ssh("free -m", seed="000:L1209"),
    *WEB01_AGAIN,
    ssh("free -m", seed="000:L1237"),
)

# ---- typical mistakes, each typed after the complete replay and undone

DISK_NOT_QCOW2 = ReplayMistake(
    "disk-not-qcow2",
    "KVM-11: `qemu-img create centos7-add01.qcow2 5G` without `-f qcow2`: a raw file, whatever its name",
    lines=(on("rm -f centos7-add01.qcow2", seed="000:L1039"), on("qemu-img create centos7-add01.qcow2 5G", seed="000:L1039")),
    undo=(on("rm -f centos7-add01.qcow2", seed="000:L1039"), on("qemu-img create -f qcow2 centos7-add01.qcow2 5G", seed="000:L1039")),
    fails=frozenset({"test_kvm11_disk_image"}),
)

SETMEM_SKIPPED = ReplayMistake(
    "setmem-skipped",
    "KVM-14: web01 re-created with maxmemory, but `virsh setmem web01 2G` never typed: it runs with its 512 MiB",
    lines=(on("virsh setmem web01 512M", seed="000:L1236"),
           Wait(H, "virsh dominfo web01 | grep -Eq '^Used memory: +524288 KiB'", "dominfo back at 512 MiB", timeout=120)),
    undo=(on("virsh setmem web01 2G", seed="000:L1236"), SETMEM_DONE),
    fails=frozenset({"test_kvm14_memory_live", "test_kvm14_guest_sees_memory"}),
)

NO_MAXMEMORY = ReplayMistake(
    "no-maxmemory",
    "KVM-14: web01 re-created with `--memory 512` but no `maxmemory=2048`: its maximum stays 512 MiB and "
    "`virsh setmem web01 2G` fails",
    lines=(on("virsh destroy web01", seed="000:L1216"), on("virsh undefine web01", seed="000:L1220"),
           virt_install("512", "1,maxvcpus=2", seed="000:L1223"), wait_up("web01"), ssh("free -m", seed="000:L1227"),
           on("virsh setmem web01 2G", seed="000:L1236", fails=True), ssh("free -m", seed="000:L1237")),
    undo=WEB01_AGAIN,
    fails=frozenset({"test_kvm14_memory_config", "test_kvm14_memory_live", "test_kvm14_guest_sees_memory"}),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=(DISK_NOT_QCOW2, SETMEM_SKIPPED, NO_MAXMEMORY),
    adaptations=ADAPTATIONS,
)
