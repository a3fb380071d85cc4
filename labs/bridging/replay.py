"""The course replay of the bridging lab (catalog KVM-10, seed 000 L881-L1019).

What a student types: centos7 as KVM-02 made it (the one line that creates it), started
(L890); `virsh iface-bridge ens33 br0` (L920); `virsh edit centos7` to type='bridge', source br0
(L950-L965); a full power cycle (catalog §1.4 #9); inside the guest the static ifcfg-eth0 and
`systemctl restart network` (L984-L1005) and the page (L1014). Lines typed inside the guest go
to its serial console (the course's VNC/console session), i.e. written to the pty that
`virsh ttyconsole centos7` names.
"""

from __future__ import annotations

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait
from labs.common.kvm import console_up, shut_off

VM = "centos7"
#: the guest's address as the notes give it (10.0.1.51 next to kvm01's 10.0.1.50): host number 51
#: of kvm01's network, and kvm01's gateway (10.0.1.2 in the notes)
GUEST_IP = ("ip=$(ip -4 -o addr show dev br0 | awk '{split($4,a,\"/\"); split(a[1],o,\".\"); "
            "print o[1]\".\"o[2]\".\"o[3]\".51/\"a[2]; exit}')")
GATEWAY = "gw=$(ip -4 route show default | awk '{print $3; exit}')"
HOST_IP = "here=$(ip -4 -o addr show dev br0 | awk '{print $4; exit}')"


def console(text: str, prefix: str = "") -> str:
    """Type ``text`` (a line of the notes typed inside the VM) on centos7's serial console.

    ``text`` is put in double quotes so that ``$ip``/``$gw`` computed by ``prefix`` on kvm01 fill in."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    head = f"{prefix}; " if prefix else ""
    return f"{head}printf '%s\\r' {quoted} > \"$(virsh ttyconsole {VM})\""


SHELL_UP = console_up(VM)
SHUT_OFF = shut_off(VM, press_again=False)
PAGE_ANSWERS = f"{GUEST_IP}; curl -sf -m 2 -o /dev/null http://${{ip%/*}}/"

STATIC = "killall udhcpc; ip addr flush dev eth0; ip addr add $ip dev eth0; ip route add default via $gw; ping -c 2 -W 2 $gw"
PAGE = 'echo "<meta charset=utf-8> 超哥教你学kvm" > /www/index.html'

ACTIONS = (
    # ---- KVM-02..09 (precondition): centos7, on the default network, shut off
    Line("kvm01", "mkdir -p /data", seed="000:L1258"),
    Line("kvm01", "mkdir -p /var/lib/libvirt/boot && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz "
         "/var/lib/libvirt/boot/", seed="adaptation: the lab guest's kernel in place of the CentOS 7 DVD"),
    Line("kvm01", "virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 "
         "--vcpus 1 --disk /data/centos2.raw,format=raw,size=10 --import --boot kernel=/var/lib/libvirt/boot/vmlinuz,"
         "initrd=/var/lib/libvirt/boot/initrd.gz,kernel_args=\"console=ttyS0,115200n8 no_timer_check guestshell=1\" "
         "--network network=default --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole", seed="000:L320",
         timeout=180),
    Line("kvm01", "virsh destroy centos7", seed="000:L439 (KVM-03's power-off, for centos7)"),
    # ---- KVM-10
    Line("kvm01", "virsh start centos7", seed="000:L890"),
    File("kvm01", "/usr/local/sbin/iface-bridge", "iface-bridge.sh",
         seed="adaptation: Debian's libvirt has no netcf for virsh iface-bridge", mode=0o755),
    Line("kvm01", "virsh iface-bridge eth0 br0 || iface-bridge eth0 br0", seed="000:L920", timeout=120),
    Line("kvm01", "virt-xml centos7 --edit --network bridge=br0", seed="000:L950-L965"),
    Wait("kvm01", SHELL_UP, "centos7 up again (L899: inside the VM)", timeout=240),
    Line("kvm01", "virsh shutdown centos7", seed="catalog §1.4 #9: a full power cycle applies virsh edit"),
    Wait("kvm01", SHUT_OFF, "centos7 shut off", timeout=120),
    Line("kvm01", "virsh start centos7", seed="catalog §1.4 #9"),
    Wait("kvm01", SHELL_UP, "centos7 up on br0", timeout=240),
    Line("kvm01", console(STATIC, f"{GUEST_IP}; {GATEWAY}"), seed="000:L984-L1005"),
    Line("kvm01", console(PAGE), seed="000:L1014"),
    Wait("kvm01", SHELL_UP, "the guest's shell ran the lines above"),
    Wait("kvm01", PAGE_ANSWERS, "the page answers at the guest's address (L1019)", timeout=120),
)

MISTAKES = (
    ReplayMistake(
        "no-gateway", "ifcfg-eth0 without GATEWAY=10.0.1.2: the guest has its address but no default route",
        lines=(Line("kvm01", console("ip route del default"), seed="000:L1002 left out"),
               Wait("kvm01", SHELL_UP, "the guest's shell ran it")),
        undo=(Line("kvm01", console("ip route add default via $gw", GATEWAY), seed="000:L1002"),
              Wait("kvm01", SHELL_UP, "the guest's shell ran it")),
        fails=frozenset({"test_kvm10_guest_static_address"})),
    ReplayMistake(
        "address-left-on-nic", "ens33 put into br0 by hand but its address and default route left on ens33",
        lines=(Line("kvm01", f"{HOST_IP}; {GATEWAY}; ip addr del $here dev br0 && ip addr add $here dev eth0 && "
                    "ip route replace default via $gw dev eth0", seed="000:L920 done by hand, half"),),
        undo=(Line("kvm01", "here=$(ip -4 -o addr show dev eth0 | awk '{print $4; exit}'); " + GATEWAY
                   + "; ip addr del $here dev eth0 && ip addr add $here dev br0 && ip route replace default via $gw dev br0",
                   seed="000:L920"),),
        fails=frozenset({"test_kvm10_bridge_holds_host_address", "test_kvm10_nic_enslaved",
                         "test_kvm10_default_route_via_bridge"})),
    ReplayMistake(
        "page-not-changed", "skipped L1014: the guest serves its own default page, not the course's",
        lines=(Line("kvm01", console('echo "labharness guest labguest" > /www/index.html'), seed="000:L1014 left out"),
               Wait("kvm01", SHELL_UP, "the guest's shell ran it")),
        undo=(Line("kvm01", console(PAGE), seed="000:L1014"),
              Wait("kvm01", SHELL_UP, "the guest's shell ran it")),
        fails=frozenset({"test_kvm10_page_from_outside"})),
)

ADAPTATIONS = (
    "CentOS 7 from the DVD → the lab guest: virt-install's `--cdrom CentOS-7-x86_64-DVD-1804.iso` becomes "
    "`--import --boot kernel=/var/lib/libvirt/boot/vmlinuz,initrd=...,kernel_args=\"console=ttyS0,115200n8 no_timer_check guestshell=1\"` "
    "after copying the kernel from /opt/labharness/guest (guestshell=1: the console login KVM-04 gives the course's VM; no_timer_check: under TCG on a loaded machine the guest kernel's IO-APIC timer check can panic it)",
    "`--virt-type kvm` → `--virt-type qemu` (no working /dev/kvm here) and `--os-variant rhel7` → `rhel7.0` "
    "(today's osinfo-db has no `rhel7`); no guest agent channel, as the course's VMs have none",
    "the precondition ends with `virsh destroy centos7` right after virt-install (the course's centos7 is shut off "
    "after KVM-09's clone, so L890 starts it): no install to wait for",
    "`virsh iface-bridge ens33 br0` → `virsh iface-bridge eth0 br0 || iface-bridge eth0 br0`: the container's NIC is "
    "eth0, and Debian's libvirt has no netcf, so labs/common/files/iface-bridge.sh does the same with iproute2",
    "`virsh edit centos7` (vi) → `virt-xml centos7 --edit --network bridge=br0`: the same diff (type bridge, "
    "source br0, MAC, model and PCI address kept)",
    "the full power cycle after `virsh edit` (catalog §1.4 #9, not shown in the notes): `virsh shutdown` + `virsh start`",
    "lines typed inside the VM go to its serial console (the pty `virsh ttyconsole centos7` names)",
    "the guest's ifcfg-eth0 (BOOTPROTO=static, IPADDR=10.0.1.51, GATEWAY=10.0.1.2) + `systemctl restart network` → "
    "`killall udhcpc; ip addr flush dev eth0; ip addr add ADDR dev eth0; ip route add default via GW; ping -c 2 -W 2 GW` "
    "(the ping: what ifup's ARP announcement does on CentOS, and catalog C10.7's `ping -c1 10.0.1.2`; the lab "
    "guest is a busybox initramfs without ifcfg files); ADDR is host number 51 of kvm01's network (10.0.1.51 on "
    "the course's 10.0.1.0/24) with kvm01's prefix, GW kvm01's default gateway",
    "the guest's firewall lines (iptables -F, setenforce 0, systemctl stop/disable firewalld) are left out: the lab "
    "guest has no firewall and no SELinux",
    "nginx's /usr/share/nginx/html/index.html → /www/index.html, which the lab guest's busybox httpd serves on port 80",
)

REPLAY = Replay(actions=ACTIONS, mistakes=MISTAKES, adaptations=ADAPTATIONS)
