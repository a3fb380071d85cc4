"""The course replay of the VM basics lab (catalog KVM-02..04, seed 000 L259-L525).

What a student types on kvm01: the virt-install line (L320), `virsh start` and `vncdisplay`
(L346-L348); the config file and `virsh edit` (L387-L394); the numbered drill 1-10 (L403-L477),
with its typo `virsh shutdown cckmv7` (L437, fails) and its trap: L442 undefines cckvm7 (centos7
renamed), then L445 suspends centos7, which only works once centos7 is defined again from the
backup (catalog §1.4 #3: the student repeats L414 and starts it, L346). The drill ends with
`virsh autostart --disable centos7` (L477), and so does the replay. KVM-04: console=ttyS0 on the
guest's kernel command line (`grubby`, L511), a restart (L512), `virsh console` (L520).
"""

from __future__ import annotations

from harness.core.replay import Line, Replay, ReplayMistake, Wait
from labs.common.kvm import console_up, shut_off

VM = "centos7"
BOOT = "/var/lib/libvirt/boot"
#: the kernel arguments of a freshly installed guest (CentOS 7's are "crashkernel=auto rhgb quiet":
#: no serial console), and after KVM-04 (guestshell=1: the lab guest's getty on ttyS0, which
#: CentOS starts by itself once console=ttyS0 is on its command line)
ARGS_INSTALLED = "quiet"
ARGS_CONSOLE = "quiet console=ttyS0,115200n8 guestshell=1"

VIRT_INSTALL = (
    "virt-install --virt-type qemu --os-type=linux --os-variant rhel7.0 --name centos7 --memory 1024 --vcpus 1 "
    "--disk /data/centos2.raw,format=raw,size=10 "
    f"--import --boot kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,kernel_args=\"{ARGS_INSTALLED}\" "
    "--network network=default --graphics vnc,listen=0.0.0.0,port=5900 --noautoconsole --channel none")

#: the guest is up: its web page answers at the address the default network leased to it (what a
#: student sees as "I can ssh in now")
GUEST_UP = (f"ip=$(virsh domifaddr {VM} | awk '/ipv4/{{split($4,a,\"/\"); print a[1]; exit}}'); "
            "[ -n \"$ip\" ] && curl -sf -m 3 -o /dev/null http://$ip/")
#: the serial console answers: a shell runs on ttyS0 (after KVM-04)
CONSOLE_UP = console_up(VM)
SHUT_OFF = shut_off(VM)


def _set_args(args: str, seed: str) -> Line:
    return Line("kvm01", f'virt-xml {VM} --edit --boot kernel_args="{args}"', seed=seed)


ACTIONS = (
    # ---- KVM-02: the first VM
    Line("kvm01", "mkdir -p /data", seed="000:L263"),
    Line("kvm01", f"mkdir -p {BOOT} && cp /opt/labharness/guest/vmlinuz /opt/labharness/guest/initrd.gz {BOOT}/",
         seed="000:L271 (adaptation: the lab guest's kernel in place of the CentOS 7 DVD)"),
    Line("kvm01", VIRT_INSTALL, seed="000:L320", cwd="/data", timeout=180),
    Wait("kvm01", GUEST_UP, "the installed system is up (L343)", timeout=300),
    Line("kvm01", "virsh  start centos7", seed="000:L346", cwd="/data", fails=True),  # --import already started it
    Line("kvm01", "virsh vncdisplay centos7", seed="000:L348", cwd="/data"),
    # ---- KVM-03: configuration, backup and restore
    Line("kvm01", "ls -l /etc/libvirt/qemu/centos7.xml", seed="000:L387", cwd="/data"),
    Line("kvm01", "EDITOR=true virsh edit centos7", seed="000:L394", cwd="/data"),
    Line("kvm01", "virsh shutdown centos7", seed="000:L403 (注意关机时备份)", cwd="/data"),
    Wait("kvm01", SHUT_OFF, "centos7 shut off before the backup (L403, L409)", timeout=180, every=5),
    Line("kvm01", "virsh dumpxml centos7 > bak_centos7.xml", seed="000:L404", cwd="/data"),
    Line("kvm01", "virsh list --all", seed="000:L406", cwd="/data"),
    Line("kvm01", "virsh undefine centos7", seed="000:L411", cwd="/data"),
    Line("kvm01", "virsh define bak_centos7.xml", seed="000:L414", cwd="/data"),
    Line("kvm01", "virsh list --all", seed="000:L417", cwd="/data"),
    Line("kvm01", "virsh domrename centos7 cckvm7", seed="000:L422", cwd="/data"),
    Line("kvm01", "virsh list --all", seed="000:L424", cwd="/data"),
    Line("kvm01", "virsh start cckvm7", seed="000:L429", cwd="/data"),
    Line("kvm01", "virsh list", seed="000:L431", cwd="/data"),
    Line("kvm01", "virsh shutdown cckmv7", seed="000:L437", cwd="/data", fails=True),  # the notes' typo
    Line("kvm01", "virsh destroy cckvm7", seed="000:L439", cwd="/data"),
    Line("kvm01", "virsh undefine cckvm7", seed="000:L442", cwd="/data"),
    Line("kvm01", "virsh define bak_centos7.xml", seed="000:L414 again (catalog §1.4 #3)", cwd="/data"),
    Line("kvm01", "virsh  start centos7", seed="000:L346 again (catalog §1.4 #3)", cwd="/data"),
    Line("kvm01", "virsh suspend centos7", seed="000:L445", cwd="/data"),
    Line("kvm01", "virsh list", seed="000:L447", cwd="/data"),
    Line("kvm01", "virsh resume centos7", seed="000:L452", cwd="/data"),
    Line("kvm01", "virsh list", seed="000:L454", cwd="/data"),
    Line("kvm01", "virsh vncdisplay centos7", seed="000:L459", cwd="/data"),
    Line("kvm01", "ss -tunlp", seed="000:L462 (netstat -tunlp: net-tools is not installed here)", cwd="/data"),
    Line("kvm01", "systemctl enable libvirtd", seed="000:L467", cwd="/data"),
    Line("kvm01", "systemctl is-enabled libvirtd", seed="000:L468", cwd="/data"),
    Line("kvm01", "virsh autostart centos7", seed="000:L471", cwd="/data"),
    Line("kvm01", "ls -l /etc/libvirt/qemu/autostart/centos7.xml", seed="000:L474", cwd="/data"),
    Line("kvm01", "virsh  autostart --disable centos7", seed="000:L477", cwd="/data"),
    # ---- KVM-04: the serial console
    Wait("kvm01", GUEST_UP, "centos7 is up: `ssh root@192.168.122.60` (L501)", timeout=300),
    _set_args(ARGS_CONSOLE, "000:L511 (grubby --update-kernel=ALL --args=\"console=ttyS0,115200n8\")"),
    Line("kvm01", "virsh shutdown centos7", seed="000:L512 (reboot: a new QEMU reads the new command line)", cwd="/data"),
    Wait("kvm01", SHUT_OFF, "centos7 shut off", timeout=180, every=5),
    Line("kvm01", "virsh start centos7", seed="000:L512 (reboot)", cwd="/data"),
    Wait("kvm01", CONSOLE_UP, "`virsh console centos7` then Enter: a prompt (L520)", timeout=300, every=5),
)

MISTAKES = (
    ReplayMistake(
        "backup-while-running", "took bak_centos7.xml with centos7 running (L403 says: back up while shut off)",
        lines=(Line("kvm01", "virsh dumpxml centos7 > bak_centos7.xml", seed="000:L404, VM running", cwd="/data"),),
        undo=(Line("kvm01", "virsh dumpxml --inactive centos7 > bak_centos7.xml", seed="000:L404, as if shut off",
                   cwd="/data"),),
        fails=frozenset({"test_kvm03_backup_taken_shut_off"})),
    ReplayMistake(
        "console-not-rebooted", "ran grubby --args=console=ttyS0,115200n8 (L511) but never restarted the guest (L512)",
        lines=(_set_args(ARGS_INSTALLED, "the guest as it was before L511"),
               Line("kvm01", "virsh destroy centos7 && virsh start centos7", seed="the guest as it was before L511"),
               Wait("kvm01", GUEST_UP, "centos7 up without the console", timeout=300),
               _set_args(ARGS_CONSOLE, "000:L511")),
        undo=(Line("kvm01", "virsh shutdown centos7", seed="000:L512"),
              Wait("kvm01", SHUT_OFF, "centos7 shut off", timeout=180, every=5),
              Line("kvm01", "virsh start centos7", seed="000:L512"),
              Wait("kvm01", CONSOLE_UP, "the console answers", timeout=300, every=5)),
        fails=frozenset({"test_kvm04_guest_booted_with_console", "test_kvm04_console_answers"})),
    ReplayMistake(
        "not-restored", "stopped after L442 (`virsh undefine cckvm7`): centos7 was never defined again from the backup",
        lines=(Line("kvm01", "virsh destroy centos7 && virsh undefine centos7", seed="the state after 000:L442"),),
        undo=(Line("kvm01", "virsh define bak_centos7.xml", seed="000:L414", cwd="/data"),
              _set_args(ARGS_CONSOLE, "000:L511"),
              Line("kvm01", "virsh start centos7", seed="000:L346"),
              Wait("kvm01", CONSOLE_UP, "the console answers", timeout=300, every=5)),
        fails=frozenset({
            "test_kvm02_vm_defined", "test_kvm02_vm_resources", "test_kvm02_disk", "test_kvm02_network_default",
            "test_kvm02_vnc_config", "test_kvm02_running", "test_kvm02_vnc_display", "test_kvm02_guest_dhcp_address",
            "test_kvm03_config_file", "test_kvm03_backup_xml", "test_kvm03_undefined_and_restored",
            "test_kvm04_serial_console_device", "test_kvm04_boot_config_has_console",
            "test_kvm04_guest_booted_with_console", "test_kvm04_console_answers"})),
)

ADAPTATIONS = (
    "CentOS 7 from the DVD → the lab guest: `/data/CentOS-7-x86_64-DVD-1804.iso` is not uploaded (L271); the "
    f"guest's kernel and initrd are copied from /opt/labharness/guest to {BOOT}, and virt-install's `--cdrom "
    f"/data/CentOS-7-x86_64-DVD-1804.iso` becomes `--import --boot kernel={BOOT}/vmlinuz,initrd={BOOT}/initrd.gz,"
    f"kernel_args=\"{ARGS_INSTALLED}\"` (no installer, no 60 s VNC session); the rest of the line is the notes'",
    "`--virt-type kvm` → `--virt-type qemu` (no working /dev/kvm here) and `--os-variant rhel7` → `rhel7.0` "
    "(today's osinfo-db has no `rhel7`; `--os-type` only warns); `--channel none`: today's virt-install adds a "
    "guest-agent channel by itself, the course's virt-install 1.4 and its VMs have none",
    "`virsh start centos7` (L346) fails here (`--import` already started the VM; the course's VM stops at the "
    "end of its installation): harmless, the VM runs either way",
    "L403 says to back up while shut off but shows no command: `virsh shutdown centos7`, and waiting until "
    "`virsh list --all` says shut off (L409)",
    "`ll` (an alias of CentOS's interactive bash) → `ls -l`; `virsh edit centos7` with no change → "
    "`EDITOR=true virsh edit centos7`; `netstat -tunlp` → `ss -tunlp` (net-tools is not installed)",
    "catalog §1.4 #3: after L442 undefines cckvm7 (centos7 renamed) the notes go on with centos7; the student "
    "defines it again from the backup (L414) and starts it (L346) before L445's `virsh suspend centos7`",
    "KVM-04: the lab guest boots the kernel libvirt hands it, so its kernel command line is the domain's "
    "`<cmdline>`: `ssh root@192.168.122.60` + `grubby --update-kernel=ALL --args=\"console=ttyS0,115200n8\"` → "
    f"`virt-xml centos7 --edit --boot kernel_args=\"{ARGS_CONSOLE}\"` (guestshell=1: the lab guest's login shell on "
    "ttyS0, which CentOS's systemd starts by itself for console=ttyS0), and the guest's `reboot` → `virsh shutdown` "
    "+ `virsh start` (a reboot inside the guest keeps QEMU and its old command line)",
    "`virsh console centos7` (interactive) → the replay writes Enter to the console's pty and waits for the prompt",
)

REPLAY = Replay(actions=ACTIONS, mistakes=MISTAKES, adaptations=ADAPTATIONS)
