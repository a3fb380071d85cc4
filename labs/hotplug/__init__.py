"""Hot-plug lab (catalog KVM-11..14): add a disk, a NIC, vCPUs and memory to running VMs."""

from dataclasses import dataclass
from pathlib import Path

from harness.host import Role
from harness.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and sizes (catalog kvm.md KVM-11..14, Appendix A). Memory is the lab
    guest's 128 MiB (centos7 has 1024 MiB in the notes); web01's 512 MiB / maxmemory 2048 /
    setmem 2G are scaled by 1/4 to 128 / 512 / 512M."""

    data_dir: str = "/data"
    host_nic: str = "eth0"  # ens33 in the notes
    bridge: str = "br0"
    vm: str = "centos7"  # KVM-11, KVM-12
    disk: str = "centos7.qcow2"
    disk_size_gib: int = 10
    data_disk: str = "chaoge-add01.qcow2"  # vdb from KVM-07, so the new disk is vdc
    data_disk_size_gib: int = 5
    memory_mib: int = 128
    guest_ip: str = "auto"  # eth0, 10.0.1.51 in the notes; auto: the last address of br0's subnet
    guest_ip1: str = "auto"  # eth1, 10.0.1.52 in the notes; auto: the one below it
    add_disk: str = "centos7-add01.qcow2"  # KVM-11
    add_disk_size_gib: int = 5
    add_target: str = "vdc"
    vm2: str = "web01"  # KVM-13, KVM-14
    vm2_disk: str = "web01.qcow2"  # see README.md: the notes move centos7.qcow2 to web01
    vm2_memory_mib: int = 128  # --memory 512,maxmemory=2048 in the notes
    vm2_max_memory_mib: int = 512
    vm2_vcpus: int = 1  # --vcpus=1,maxvcpus=2 (web01 as KVM-14 re-creates it)
    vm2_max_vcpus: int = 2
    vm2_set_vcpus: int = 2  # virsh setvcpus web01 --count=2
    vm2_set_memory_mib: int = 512  # virsh setmem web01 2G: up to the maximum


from labs.hotplug.solution import MISTAKES, solution  # noqa: E402

LAB = Lab(
    name="hotplug",
    title="Hot-plug: attach-disk, attach-interface (made persistent), setvcpus and setmem within the maximum",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
    mistakes=MISTAKES,
)
