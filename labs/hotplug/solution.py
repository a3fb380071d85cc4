"""The course's steps for KVM-11..14, as the harness performs them in validate mode.

Precondition (KVM-02..10): br0 on kvm01 and centos7 running on it with the static address
10.0.1.51 (here: the top of br0's subnet) and the data disk vdb. KVM-11 hot-adds vdc, KVM-12 a
second NIC on br0 (made persistent with `virsh edit`, checked after a restart, then given
10.0.1.52 in the guest), KVM-13/14 hot-add a vCPU and memory to web01.

Two departures, both so that every hot-plug can be graded at the lab's end (README.md):
web01 is created once, as KVM-14 re-creates it (`--memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2`,
scaled), and on a disk of its own, so centos7 keeps running with its hot-added disk and NIC;
vdc is attached `--live --config`, so KVM-12's restart keeps it (with `--live` alone, as in the
notes, the restart drops it: catalog §1.4 #5).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from harness.wait import wait_until
from labs.common.kvm import iface_bridge
from labs.common.kvm import (data_path, default_gateway, domain, guest_address, guest_sh, shutdown, virt_install,
                                   wait_agent, wait_guest)

solution = Solution()


def addresses(env: LabEnv) -> tuple[str, str]:
    p, h = env.params, env["kvm01"]
    return str(guest_address(h, p.bridge, p.guest_ip, 1)), str(guest_address(h, p.bridge, p.guest_ip1, 2))


def centos7_args(env: LabEnv, eth1: bool) -> str:
    """centos7's kernel arguments: its ifcfg-eth0 (and, from KVM-12 on, ifcfg-eth1)."""
    p, (ip0, ip1) = env.params, addresses(env)
    args = f"console=ttyS0,115200n8 quiet no_timer_check guestname={p.vm} guestip={ip0} guestgw={default_gateway(env['kvm01'])}"
    return f"{args} guestip1={ip1}" if eth1 else args


def second_mac(env: LabEnv, inactive: bool = False) -> str:
    import xml.etree.ElementTree as ET

    import libvirt

    dom = env["kvm01"].libvirt.lookupByName(env.params.vm)
    nics = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0)).findall("devices/interface")
    return nics[1].find("mac").get("address")


@solution.step("KVM-10 (precondition): br0 on kvm01, centos7 on it (static 10.0.1.51), vdb chaoge-add01.qcow2")
def precondition(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    iface_bridge(h, p.host_nic, p.bridge)
    for ip in addresses(env):  # nobody may answer there yet (busybox arping -D: duplicate address detection)
        h.check("busybox arping -D -q -c 2 -w 3 -I %s %s", p.bridge, ip.split("/")[0])
    virt_install(env, h, p.vm, memory=str(p.memory_mib), vcpus="1",
                 disks=[f"{data_path(env, p.disk)},format=qcow2,size={p.disk_size_gib}",
                        f"{data_path(env, p.data_disk)},format=qcow2,size={p.data_disk_size_gib}"],
                 network=f"bridge={p.bridge},model=virtio", graphics="vnc,listen=0.0.0.0,port=5900",
                 kernel_args=centos7_args(env, eth1=False))
    wait_agent(h, p.vm)


@solution.step("KVM-11: qemu-img create centos7-add01.qcow2 5G, attach-disk vdc --live --config --cache=none --subdriver=qcow2")
def hot_add_disk(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    f = data_path(env, p.add_disk)
    h.check("qemu-img create -f qcow2 %s %s", f, f"{p.add_disk_size_gib}G")
    h.check("qemu-img info %s", f)
    h.check("virsh attach-disk %s %s %s --live --config --cache=none --subdriver=qcow2", p.vm, f, p.add_target)
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
    h.check("virt-xml %s --edit --boot %s", p.vm, f'kernel_args="{centos7_args(env, eth1=True)}"')
    shutdown(h, p.vm)
    h.check("virsh start %s", p.vm)
    wait_agent(h, p.vm)
    ip1 = addresses(env)[1]
    wait_guest(h, p.vm, f"ip -o -4 addr show dev eth1 | grep -F 'inet {ip1}' || true", what=f"eth1 with {ip1}")


@solution.step("KVM-13/14: virt-install web01 --memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2 (scaled) on br0")
def create_web01(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    virt_install(env, h, p.vm2, memory=f"{p.vm2_memory_mib},maxmemory={p.vm2_max_memory_mib}",
                 vcpus=f"{p.vm2_vcpus},maxvcpus={p.vm2_max_vcpus}",
                 disks=[f"{data_path(env, p.vm2_disk)},format=qcow2,size={p.disk_size_gib}"],
                 network=f"bridge={p.bridge}", graphics="vnc,listen=0.0.0.0",
                 kernel_args=f"console=ttyS0,115200n8 quiet no_timer_check guestname={p.vm2} guestip=none")
    wait_agent(h, p.vm2)
    guest_sh(h, p.vm2, "free -m; grep -c ^processor /proc/cpuinfo")  # the notes: free -m, lscpu


@solution.step("KVM-13: virsh setvcpus web01 --count=2 (live, up to the maximum)")
def hot_add_vcpu(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh setvcpus %s --count=%s", p.vm2, str(p.vm2_set_vcpus))
    want = str(p.vm2_set_vcpus)
    wait_guest(h, p.vm2, f"[ $(grep -c ^processor /proc/cpuinfo) = {want} ] && cat /sys/devices/system/cpu/online || true",
               what=f"{want} CPUs online in the guest")


@solution.step("KVM-14: virsh setmem web01 2G (scaled: 512M, the maximum; the balloon)")
def hot_add_memory(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh setmem %s %s", p.vm2, f"{p.vm2_set_memory_mib}M")
    floor = int(p.vm2_set_memory_mib * 1024 * 0.85)
    wait_guest(h, p.vm2, f"awk '/^MemTotal/ && $2 >= {floor} {{print $2}}' /proc/meminfo",
               what=f"the guest's MemTotal above {floor} KiB")
    # `virsh dominfo` (virDomainGetInfo) reports the balloon from QEMU's BALLOON_CHANGE events, which
    # QEMU throttles to one a second: wait until it has caught up with the guest, as a student would.
    want = p.vm2_set_memory_mib * 1024
    wait_until(lambda: domain(h, p.vm2).info()[2] == want, timeout=30, what=f"dominfo of {p.vm2} at {want} KiB",
               state=lambda: f"dominfo used memory {domain(h, p.vm2).info()[2]} KiB")


# --------------------------------------------------------------------------- typical mistakes


def _disk_live_only(env: LabEnv) -> None:
    """attach-disk --live only (as in the notes): gone from the config, lost at the next power-off."""
    env["kvm01"].check("virsh detach-disk %s %s --config", env.params.vm, env.params.add_target)


def _nic_not_persisted(env: LabEnv) -> None:
    """attach-interface without `virsh edit`/--config: "interfaces added by command are temporary"."""
    p, h = env.params, env["kvm01"]
    h.check("virsh detach-interface %s bridge --mac %s --config", p.vm, second_mac(env, inactive=True))


def _vcpu_offline_in_guest(env: LabEnv) -> None:
    """The vCPU was added but is offline in the guest (a guest without the udev rule that onlines it)."""
    guest_sh(env["kvm01"], env.params.vm2, "echo 0 > /sys/devices/system/cpu/cpu1/online")


def _setmem_config_only(env: LabEnv) -> None:
    """`virsh setmem web01 2G --config`: the next boot gets it, the running guest does not."""
    p, h = env.params, env["kvm01"]
    h.check("virsh setmem %s %s --live", p.vm2, f"{p.vm2_memory_mib}M")
    h.check("virsh setmem %s %s --config", p.vm2, f"{p.vm2_set_memory_mib}M")
    ceiling = int(p.vm2_memory_mib * 1024)
    wait_guest(env["kvm01"], p.vm2, f"awk '/^MemTotal/ && $2 <= {ceiling} {{print $2}}' /proc/meminfo",
               what="the balloon back at the boot size")


MISTAKES = (
    Mistake("disk_live_only", "attach-disk vdc --live only: the disk is not in centos7's configuration",
            _disk_live_only, frozenset({"test_kvm11_disk_persistent"})),
    Mistake("nic_not_persisted", "attach-interface, but never added the NIC to the configuration (virsh edit)",
            _nic_not_persisted, frozenset({"test_kvm12_nic_persistent"})),
    Mistake("vcpu_offline_in_guest", "the hot-added vCPU is offline inside the guest",
            _vcpu_offline_in_guest, frozenset({"test_kvm13_guest_sees_vcpus"})),
    Mistake("setmem_config_only", "virsh setmem web01 ... --config: the running guest keeps its memory",
            _setmem_config_only, frozenset({"test_kvm14_memory_live", "test_kvm14_guest_sees_memory"})),
)
