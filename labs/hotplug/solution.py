"""The course's steps for KVM-11..14, as the harness performs them in validate mode.

Precondition (KVM-02..10): br0 on kvm01 and centos7 running on it with the static address
10.0.1.51 (here: the top of br0's subnet), its disk /data/centos7.qcow2 and the data disk vdb
attached --live. Then as the notes (replay.py types their literal lines): KVM-11 hot-adds vdc
(--live), KVM-12 a second NIC on br0 (made persistent with `virsh edit`, checked after a
restart, then given 10.0.1.52 in the guest), KVM-13 deletes centos7 (keeping its disk) and
builds web01 on it with maxvcpus=4 and hot-adds a vCPU, KVM-14 re-creates web01 with
`--memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2` and gives it 2G with setmem.

The one difference from the replay: the VMs get a guest-agent channel (virt_install), so this
solution and its checks in validate mode can see inside without a password.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution
from harness.core.wait import wait_until
from labs.common.kvm import iface_bridge
from labs.common.kvm import (data_path, default_gateway, domain, guest_address, guest_sh, shutdown, virt_install,
                             wait_agent, wait_guest)

solution = Solution()


def addresses(env: LabEnv) -> tuple[str, str]:
    p, h = env.params, env["kvm01"]
    return str(guest_address(h, p.bridge, p.guest_ip, 1)), str(guest_address(h, p.bridge, p.guest_ip1, 2))


def guest_args(env: LabEnv, name: str, eth1: bool = False) -> str:
    """A VM's kernel arguments: its ifcfg-eth0 (and, from KVM-12 on, ifcfg-eth1) on centos7's disk."""
    ip0, ip1 = addresses(env)
    args = f"console=ttyS0,115200n8 quiet no_timer_check guestname={name} guestip={ip0} guestgw={default_gateway(env['kvm01'])}"
    return f"{args} guestip1={ip1}" if eth1 else args


def second_mac(env: LabEnv) -> str:
    import xml.etree.ElementTree as ET

    dom = env["kvm01"].libvirt.lookupByName(env.params.vm)
    return ET.fromstring(dom.XMLDesc(0)).findall("devices/interface")[1].find("mac").get("address")


def create_web01(env: LabEnv, memory: str, vcpus: str) -> None:
    p, h = env.params, env["kvm01"]
    virt_install(env, h, p.vm2, memory=memory, vcpus=vcpus,
                 disks=[f"{data_path(p, p.disk)},format=qcow2,size={p.disk_size_gib}"],
                 network=f"bridge={p.bridge}", graphics="vnc,listen=0.0.0.0", kernel_args=guest_args(env, p.vm2))
    wait_agent(h, p.vm2)


@solution.step("KVM-10 (precondition): br0 on kvm01, centos7 on it (static 10.0.1.51), vdb chaoge-add01.qcow2 --live")
def precondition(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    iface_bridge(h, p.host_nic, p.bridge)
    for ip in addresses(env):  # nobody may answer there yet (busybox arping -D: duplicate address detection)
        h.check("busybox arping -D -q -c 2 -w 3 -I %s %s", p.bridge, ip.split("/")[0])
    vdb = data_path(p, p.data_disk)
    h.check("mkdir -p %s", p.data_dir)
    h.check("qemu-img create -q -f qcow2 %s %s", vdb, f"{p.data_disk_size_gib}G")
    virt_install(env, h, p.vm, memory=str(p.memory_mib), vcpus="1",
                 disks=[f"{data_path(p, p.disk)},format=qcow2,size={p.disk_size_gib}"],
                 network=f"bridge={p.bridge},model=virtio", graphics="vnc,listen=0.0.0.0,port=5900",
                 kernel_args=guest_args(env, p.vm))
    wait_agent(h, p.vm)
    h.check("virsh attach-disk %s %s vdb --live --cache=none --subdriver=qcow2", p.vm, vdb)


@solution.step("KVM-11: qemu-img create centos7-add01.qcow2 5G, attach-disk vdc --live --cache=none --subdriver=qcow2")
def hot_add_disk(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    f = data_path(p, p.add_disk)
    h.check("qemu-img create -f qcow2 %s %s", f, f"{p.add_disk_size_gib}G")
    h.check("qemu-img info %s", f)
    h.check("virsh attach-disk %s %s %s --live --cache=none --subdriver=qcow2", p.vm, f, p.add_target)
    sectors = p.add_disk_size_gib * 1024**3 // 512
    # what `fdisk -l` shows in the guest: a new 5 GiB disk, the third virtio disk (/dev/vdc)
    wait_guest(h, p.vm, f"[ \"$(cat /sys/block/{p.add_target}/size 2>/dev/null)\" = {sectors} ] && echo ok || true",
               what=f"/dev/{p.add_target} of {p.add_disk_size_gib} GiB in the guest")


@solution.step("KVM-12: attach-interface --type bridge --model virtio --source br0 (live)")
def hot_add_nic(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh attach-interface %s --type bridge --model virtio --source %s", p.vm, p.bridge)
    mac = second_mac(env)
    wait_guest(h, p.vm, f"ip -o link | grep -i {mac} || true", what=f"the guest's NIC {mac}")


@solution.step("KVM-12: virsh edit adds the second <interface type='bridge'> for good (and ifcfg-eth1); shutdown, start")
def persist_nic(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    # the notes add <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
    # with `virsh edit` (a new MAC is generated); the guest's ifcfg-eth1 is its kernel argument guestip1=
    h.check("virt-xml %s --add-device --network bridge=%s,model=virtio", p.vm, p.bridge)
    h.check("virt-xml %s --edit --boot %s", p.vm, f'kernel_args="{guest_args(env, p.vm, eth1=True)}"')
    shutdown(h, p.vm)
    h.check("virsh start %s", p.vm)
    wait_agent(h, p.vm)
    ip1 = addresses(env)[1]
    wait_guest(h, p.vm, f"ip -o -4 addr show dev eth1 | grep -F 'inet {ip1}' || true", what=f"eth1 with {ip1}")


@solution.step("KVM-13: delete centos7 (keep its disk), virt-install web01 --memory 1024 --vcpus 1,maxvcpus=4 on centos7.qcow2")
def create_web01_first(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh destroy %s", p.vm)
    h.check("virsh undefine %s", p.vm)
    create_web01(env, str(p.vm2_first_memory_mib), f"1,maxvcpus={p.vm2_first_max_vcpus}")


@solution.step("KVM-13: virsh setvcpus web01 --count=2 (live, up to the maximum)")
def hot_add_vcpu(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh setvcpus %s --count=%s", p.vm2, str(p.vm2_set_vcpus))
    want = str(p.vm2_set_vcpus)
    wait_guest(h, p.vm2, f"[ $(grep -c ^processor /proc/cpuinfo) = {want} ] && cat /sys/devices/system/cpu/online || true",
               what=f"{want} CPUs online in the guest")


@solution.step("KVM-14: destroy, undefine, virt-install web01 --memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2")
def recreate_web01(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh destroy %s", p.vm2)
    h.check("virsh undefine %s", p.vm2)
    create_web01(env, f"{p.vm2_memory_mib},maxmemory={p.vm2_max_memory_mib}", f"{p.vm2_vcpus},maxvcpus={p.vm2_max_vcpus}")
    guest_sh(h, p.vm2, "free -m")


def set_memory(env: LabEnv, mib: int) -> None:
    """`virsh setmem web01 <mib>M`; wait until the guest and `virsh dominfo` show it."""
    p, h = env.params, env["kvm01"]
    h.check("virsh setmem %s %s", p.vm2, f"{mib}M")
    # down to the boot size the balloon takes back what the guest saw at boot (2 GiB): MemTotal
    # ends below 512 MiB (the course's free -m: 302); up to 2 GiB it comes back close to it
    lo, hi = (int(mib * 1024 * 0.85) if mib > p.vm2_memory_mib else 0), mib * 1024
    wait_guest(h, p.vm2, f"awk '/^MemTotal/ && $2 >= {lo} && $2 <= {hi} {{print $2}}' /proc/meminfo",
               what=f"the guest's MemTotal between {lo} and {hi} KiB")
    # `virsh dominfo` (virDomainGetInfo) reports the balloon from QEMU's BALLOON_CHANGE events, which
    # QEMU throttles to one a second: wait until it has caught up with the guest, as a student would.
    want = mib * 1024
    wait_until(lambda: domain(h, p.vm2).info()[2] == want, timeout=30, what=f"dominfo of {p.vm2} at {want} KiB",
               state=lambda: f"dominfo used memory {domain(h, p.vm2).info()[2]} KiB")


@solution.step("KVM-14: virsh setmem web01 2G (the balloon, up to the maximum)")
def hot_add_memory(env: LabEnv) -> None:
    set_memory(env, env.params.vm2_set_memory_mib)
