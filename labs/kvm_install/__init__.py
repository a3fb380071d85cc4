"""KVM install lab (catalog KVM-00, KVM-01): a host ready for KVM, libvirtd, the default NAT network."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's values (catalog kvm.md KVM-00/01, Appendix A.2, A.6)."""

    service: str = "libvirtd"
    network: str = "default"  # libvirt's NAT network
    network_bridge: str = "virbr0"
    network_address: str = "192.168.122.1/24"
    dhcp_start: str = "192.168.122.2"
    dhcp_end: str = "192.168.122.254"
    # the course's `yum install libvirt virt-install qemu-kvm` gives these commands (qemu-img
    # comes with qemu-kvm, virt-clone with virt-install on CentOS 7)
    tools: str = "virsh virt-install virt-clone qemu-img"


from labs.kvm_install.solution import solution  # noqa: E402

LAB = Lab(
    name="kvm_install",
    title="KVM host: virtualisation extensions, libvirt/virt-install/QEMU installed, libvirtd, the default network",
    topology=(HostSpec("kvm01", Role.KVM_HOST),),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
