"""The course's steps for KVM-00 and KVM-01, as the harness performs them in validate mode.

The course installs with yum on CentOS 7 (`yum install libvirt virt-install qemu-kvm`) and
uses systemd (`systemctl start/enable libvirtd`). The kvm-host is Debian 12: the same stack is
`libvirt-daemon-system virtinst qemu-system-x86 qemu-utils`, and without systemd a service is
enabled at boot with `update-rc.d` (its runlevel links are what `systemctl is-enabled` reads
from the sysv world). Both are done the Debian way when the host is Debian, the CentOS way
otherwise.
"""

from __future__ import annotations

from harness.core.lab import LabEnv, Solution

solution = Solution()

DEBIAN_PACKAGES = ("libvirt-daemon-system", "libvirt-clients", "virtinst", "qemu-system-x86", "qemu-utils")
CENTOS_PACKAGES = ("libvirt", "virt-install", "qemu-kvm")


def has_systemd(env: LabEnv) -> bool:
    return env["kvm01"].run("test -d /run/systemd/system").rc == 0


@solution.step("KVM-00: the CPU's virtualisation extensions (vmx/svm) and what the host can run")
def host_preparation(env: LabEnv) -> None:
    h = env["kvm01"]
    # The course only looks; here TCG is the fallback when the flags are absent, and
    # virt-host-validate says so (it exits non-zero without hardware virtualisation).
    h.run("grep -cE '(vmx|svm)' /proc/cpuinfo")
    h.run("virt-host-validate qemu")


@solution.step("KVM-01: install libvirt, virt-install and QEMU (yum install libvirt virt-install qemu-kvm)")
def install(env: LabEnv) -> None:
    h = env["kvm01"]
    if h.run("command -v apt-get").rc == 0:
        # --no-download: the image carries the packages; a host missing one fails here, by name
        h.check("apt-get install -y -q --no-download " + " ".join(["%s"] * len(DEBIAN_PACKAGES)), *DEBIAN_PACKAGES, timeout=300)
    else:
        h.check("yum install -y " + " ".join(["%s"] * len(CENTOS_PACKAGES)), *CENTOS_PACKAGES, timeout=600)


@solution.step("KVM-01: start libvirtd and enable it at boot (systemctl start/enable libvirtd)")
def start_libvirtd(env: LabEnv) -> None:
    h, svc = env["kvm01"], env.params.service
    if has_systemd(env):
        h.check("systemctl enable --now %s", svc)
    else:
        if h.run("pgrep -x %s", svc).rc != 0:
            h.check("service %s start", svc)
        h.check("update-rc.d %s enable", svc)
    h.check("virsh -c qemu:///system version")


@solution.step("KVM-01: libvirt's default NAT network is active and starts with libvirtd")
def default_network(env: LabEnv) -> None:
    h, net = env["kvm01"], env.params.network
    if "yes" not in h.check("virsh net-info %s | grep '^Active:'", net):
        h.check("virsh net-start %s", net)
    h.check("virsh net-autostart %s", net)
