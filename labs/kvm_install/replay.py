"""The course replay of the KVM install lab (catalog KVM-00, KVM-01; seed 000 L189-L257, L466-L469).

What a student types on kvm01: the local DVD repository and the base packages (L193-L207), the
KVM stack (`yum install libvirt virt-install qemu-kvm -y`, L209), `systemctl start` and `status
libvirtd.service` (L229-L231), and, in the lifecycle drill, `systemctl enable libvirtd` and
`is-enabled` (L467-L468).

The host image here is Debian 12 with that stack already installed and libvirtd running (a KVM
host container, no systemd, no yum): most of what the lab grades holds on it before the student
types anything, and the README says which checks and why (``fresh_passes``). Each of them still
FAILs under a typical mistake below, typed the course's way.
"""

from __future__ import annotations

from harness.core.replay import Line, Replay, ReplayMistake

PACKAGES = "libvirt-daemon-system libvirt-clients virtinst qemu-system-x86 qemu-utils"
#: what anaconda's default ("automatic") partitioning of CentOS 7 writes to /etc/fstab: the root and
#: the swap as LVM volumes, the layout L129 warns against
ANACONDA_DEFAULT_FSTAB = ("/dev/mapper/centos-root /                       xfs     defaults        0 0\\n"
                          "/dev/mapper/centos-swap swap                    swap    defaults        0 0")

ACTIONS = (
    Line("kvm01", f"apt-get install -y -q --no-download {PACKAGES}",
         seed="000:L209 (yum install libvirt virt-install qemu-kvm -y)", timeout=300),
    Line("kvm01", "virsh net-autostart default",
         seed="000:L209 (what CentOS's libvirt-daemon-config-network does at install: the default network autostarts)"),
    Line("kvm01", "pgrep -x libvirtd || service libvirtd start", seed="000:L229 (systemctl start libvirtd.service)"),
    Line("kvm01", "pgrep -a libvirtd; pgrep -a dnsmasq", seed="000:L231 (systemctl status libvirtd.service)"),
    Line("kvm01", "systemctl enable libvirtd", seed="000:L467"),
    Line("kvm01", "systemctl is-enabled libvirtd", seed="000:L468"),
)

MISTAKES = (
    ReplayMistake(
        "libvirtd-not-enabled", "started libvirtd but never enabled it at boot (L467 skipped, or disabled later)",
        lines=(Line("kvm01", "systemctl disable libvirtd", seed="000:L467 undone"),),
        undo=(Line("kvm01", "systemctl enable libvirtd", seed="000:L467"),),
        fails=frozenset({"test_kvm01_libvirtd_enabled_at_boot"})),
    ReplayMistake(
        "network-not-autostarted", "the default network runs now but will not come back with libvirtd",
        lines=(Line("kvm01", "virsh net-autostart --disable default", seed="virsh net-autostart --disable default"),),
        undo=(Line("kvm01", "virsh net-autostart default", seed="virsh net-autostart default"),),
        fails=frozenset({"test_kvm01_default_network"})),
    ReplayMistake(
        "nat-rules-flushed", "flushed the host's iptables after libvirtd started (system initialisation, L135): "
        "the default network's NAT is gone",
        lines=(Line("kvm01", "iptables -t nat -F", seed="000:L135 (turning the firewall off with iptables -F)"),),
        undo=(Line("kvm01", "virsh net-destroy default && virsh net-start default", seed="restore libvirt's rules"),),
        fails=frozenset({"test_kvm01_default_network_nat"})),
    ReplayMistake(
        "default-partitioning", "installed kvm01 with anaconda's automatic partitioning: LVM and swap (L129 says no)",
        lines=(Line("kvm01", f"printf '{ANACONDA_DEFAULT_FSTAB}\\n' >> /etc/fstab", seed="000:L129 ignored"),),
        undo=(Line("kvm01", "sed -i '/^\\/dev\\/mapper\\/centos-/d' /etc/fstab", seed="000:L129"),),
        fails=frozenset({"test_kvm00_no_lvm_no_swap"})),
    ReplayMistake(
        "firewall-left-on", "skipped the system initialisation (L135): the firewall still rejects what it does not know",
        lines=(Line("kvm01", "iptables -A INPUT -j REJECT --reject-with icmp-host-prohibited",
                    seed="000:L135 skipped (CentOS 7's firewall: a final REJECT in INPUT)"),),
        undo=(Line("kvm01", "iptables -D INPUT -j REJECT --reject-with icmp-host-prohibited", seed="000:L135"),),
        fails=frozenset({"test_kvm00_firewall_and_selinux_off"})),
    ReplayMistake(
        "libvirtd-stopped", "libvirtd is not running (stopped, or never started after the install: L229)",
        lines=(Line("kvm01", "kill $(cat /run/libvirtd.pid); for i in $(seq 50); do pgrep -x libvirtd || break; sleep 0.2; done; "
                    "! pgrep -x libvirtd", seed="systemctl stop libvirtd (no systemd; the image's libvirtd was not "
                    "started by the init script, so `service libvirtd stop` does not see it)"),),
        undo=(Line("kvm01", "service libvirtd start", seed="000:L229 (systemctl start libvirtd.service)"),
              Line("kvm01", "for i in $(seq 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done; "
                   "virsh -c qemu:///system version", seed="000:L231 (systemctl status libvirtd.service)")),
        # a KVM host whose libvirtd is down when grading starts is the student's state: every check
        # FAILs with the hint to start and enable it (the harness's rule, harness/provisioners)
        fails=frozenset({"test_kvm00_kvm_acceleration", "test_kvm00_no_lvm_no_swap", "test_kvm00_firewall_and_selinux_off",
                         "test_kvm01_tools_installed", "test_kvm01_libvirtd_answers", "test_kvm01_libvirtd_enabled_at_boot",
                         "test_kvm01_hypervisor_runs_guests", "test_kvm01_default_network",
                         "test_kvm01_default_network_nat"})),
)

FRESH_PASSES = {
    "test_kvm00_kvm_acceleration": "the hardware's, not a step: where VT-x reaches the host and kvm is loaded, "
                                   "libvirt offers KVM as soon as it is installed",
    "test_kvm00_no_lvm_no_swap": "the host image has no LVM and no swap (the course's kvm01 too, if installed as L129 says)",
    "test_kvm00_firewall_and_selinux_off": "the Debian host image has no firewalld, no SELinux and no REJECT rule "
                                           "(a CentOS 7 install starts firewalld)",
    "test_kvm01_tools_installed": "the host image has libvirt, virt-install and QEMU installed (the course installs them, L209)",
    "test_kvm01_libvirtd_answers": "the host image starts libvirtd (the course starts it, L229)",
    "test_kvm01_libvirtd_enabled_at_boot": "Debian's libvirt-daemon-system enables libvirtd at install (CentOS's too)",
    "test_kvm01_hypervisor_runs_guests": "QEMU is installed: libvirt can run x86_64 guests, by KVM or TCG",
    "test_kvm01_default_network_nat": "the default network is active on the host image, with libvirt's NAT rules",
}

ADAPTATIONS = (
    "no DVD and no yum: the local repository (L193-L205) and the base packages (L207) are left out, and "
    f"`yum install libvirt virt-install qemu-kvm -y` is `apt-get install -y --no-download {PACKAGES}` "
    "(Debian's names for the same stack; the host image carries them, so the line installs nothing new)",
    "the host image is made with the stack installed and libvirtd running: the checks that hold there are "
    "listed as holding on a fresh host (fresh_passes), each with a mistake that makes it FAIL",
    "CentOS's libvirt-daemon-config-network marks the default network autostart when it is installed; the "
    "host image's is not marked: the replay types `virsh net-autostart default` in its place",
    "no systemd: `systemctl start libvirtd.service` is `pgrep -x libvirtd || service libvirtd start` (Debian's "
    "init script; libvirtd already runs), `systemctl status` is `pgrep -a libvirtd; pgrep -a dnsmasq` (the "
    "processes the status shows, L240-L242); `systemctl enable/is-enabled libvirtd` work as typed (they "
    "set and read the sysv runlevel links)",
    "the mistakes `default-partitioning` and `firewall-left-on` stand for an installation choice and a "
    "skipped initialisation: anaconda's LVM + swap lines in /etc/fstab, and the final `REJECT` rule of CentOS 7's "
    "firewall in INPUT (a container can neither repartition nor run firewalld)",
)

REPLAY = Replay(actions=ACTIONS, mistakes=MISTAKES, fresh_passes=FRESH_PASSES, adaptations=ADAPTATIONS)
