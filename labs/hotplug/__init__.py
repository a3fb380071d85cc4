"""Hot-plug lab (catalog KVM-11..14): add a disk, a NIC, vCPUs and memory to running VMs.

Course replay: replay.py (the notes' lines, KVM-13 deleting centos7 and KVM-14 re-creating
web01 as the notes do); README.md lists its adaptations and the expected outcome of every
check in every replay state."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The notes' names and values (catalog kvm.md KVM-11..14). Grading expects them as they are:
    web01 re-created with `--memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2`, then
    `virsh setmem web01 2G`."""

    data_dir: str = "/data"
    host_nic: str = "eth0"  # ens33 in the notes
    bridge: str = "br0"
    vm: str = "centos7"  # KVM-11, KVM-12
    disk: str = "centos7.qcow2"  # centos7's disk, then web01's (KVM-13)
    disk_size_gib: int = 10
    data_disk: str = "chaoge-add01.qcow2"  # vdb from KVM-07, so the new disk is vdc
    data_disk_size_gib: int = 5
    memory_mib: int = 1024  # centos7 (KVM-02)
    guest_ip: str = "auto"  # eth0, 10.0.1.51 in the notes; auto: the last address of br0's subnet
    guest_ip1: str = "auto"  # eth1, 10.0.1.52 in the notes; auto: the one below it
    add_disk: str = "centos7-add01.qcow2"  # KVM-11
    add_disk_size_gib: int = 5
    add_target: str = "vdc"
    vm2: str = "web01"  # KVM-13, KVM-14
    vm2_first_memory_mib: int = 1024  # KVM-13: --memory 1024 --vcpus 1,maxvcpus=4
    vm2_first_max_vcpus: int = 4
    vm2_memory_mib: int = 512  # KVM-14: --memory 512,maxmemory=2048 --vcpus=1,maxvcpus=2
    vm2_max_memory_mib: int = 2048
    vm2_vcpus: int = 1
    vm2_max_vcpus: int = 2
    vm2_set_vcpus: int = 2  # KVM-13: virsh setvcpus web01 --count=2
    vm2_set_memory_mib: int = 2048  # KVM-14: virsh setmem web01 2G


from labs.hotplug.solution import solution  # noqa: E402

LAB = Lab(
    name="hotplug",
    title="Hot-plug: attach-disk, attach-interface (made persistent), setvcpus and setmem within the maximum",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
