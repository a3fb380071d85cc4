"""Bridging lab (catalog KVM-10): br0 with the host's NIC, the VM on br0 with a static address,
its web page reachable from another machine."""

from dataclasses import dataclass
from pathlib import Path

from harness.core.lab import Role
from harness.core.lab import HostSpec, Lab


@dataclass(frozen=True)
class Params:
    """The course's names and values (catalog kvm.md KVM-10, Appendix A.2). kvm01 is 10.0.1.50 and
    the guest 10.0.1.51 in the notes: ``guest_ip=auto`` is host number 51 of kvm01's own network
    (10.0.1.51 there), ``host_nic=auto`` the NIC a trainer would find (ens33 there); see addresses.py."""

    data_dir: str = "/data"
    vm: str = "centos7"
    disk: str = "centos7.qcow2"
    disk_size_gib: int = 10
    memory_mib: int = 128  # the reference solution's VM (validate mode; not graded); the course's has 1024 MiB
    host_nic: str = "auto"  # ens33 in the notes; auto = kvm01's Ethernet NIC that is no bridge or tap
    bridge: str = "br0"
    guest_ip: str = "auto"  # 10.0.1.51 in the notes; auto = host number 51 of kvm01's network
    page: str = "<meta charset=utf-8> 超哥教你学kvm"
    web_root: str = "/www"  # /usr/share/nginx/html in the notes; the lab guest's httpd serves /www


from labs.bridging.solution import solution  # noqa: E402

LAB = Lab(
    name="bridging",
    title="Bridged networking: br0 with the host's NIC, the VM on br0 with a static address, its page from outside",
    topology=(HostSpec("kvm01", Role.KVM_HOST), HostSpec("grader", Role.KVM_HOST)),
    params=Params,
    package_dir=Path(__file__).parent,
    solution=solution,
)
