"""Checks of the VM basics lab (catalog KVM-02, KVM-03, KVM-04). Read-only: the VM through libvirt
and virsh, its files and libvirt's per-domain QEMU log on kvm01, the guest's own view with plain
shell reads (through its agent if it runs one, else SSH through kvm01, as the notes log in);
VNC and the serial console are opened from the grader's side (the console like `virsh console`,
never forced, so a student's open session is left alone).

The lifecycle drill of KVM-03 (rename, start, shutdown, destroy, undefine) is transient; what it
leaves behind is graded: libvirt's QEMU log of the renamed domain (/var/log/libvirt/qemu/cckvm7.log
records every start with the domain's UUID, and every stop with its reason), the backup file,
and the domain restored from it.
"""

import ipaddress
import json
import re
import socket
import xml.etree.ElementTree as ET

import pytest

from harness.core import evidence
from labs.common.kvm import CONSOLE_PROMPT, console_reply, data_path, disk, domain, guest, guest_run, xml


def _expected_domain_type(kvm01):
    """kvm where the host offers KVM (the course's --virt-type kvm), qemu (TCG) where it cannot."""
    caps = kvm01.run("virsh capabilities").stdout
    return "kvm" if "<domain type='kvm'" in caps else "qemu"


def _backup(kvm01, params):
    res = kvm01.run("cat %s", data_path(params, params.backup))
    assert res.rc == 0, f"{data_path(params, params.backup)} does not exist (virsh dumpxml {params.vm} > {params.backup})"
    try:
        return ET.fromstring(res.stdout)
    except ET.ParseError as exc:
        raise AssertionError(f"{params.backup} is not XML: {exc}") from None


def _renamed_log(kvm01, params):
    """libvirt's QEMU log of the renamed domain, or a FAIL saying it never ran."""
    res = kvm01.run("cat /var/log/libvirt/qemu/%s.log", params.renamed)
    assert res.rc == 0 and "starting up" in res.stdout, \
        f"{params.renamed} never ran: no /var/log/libvirt/qemu/{params.renamed}.log (virsh domrename {params.vm} {params.renamed}; virsh start {params.renamed})"
    return res.stdout


# --------------------------------------------------------------------------- KVM-02


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 virt-install --name centos7 ... 创建虚拟机；virsh list --all 应能看到 centos7",
                  en="Create the VM with virt-install --name centos7 ...; virsh list --all must show centos7")
def test_kvm02_vm_defined(kvm01, params):
    """centos7 exists and is persistent (defined, not a transient domain)."""
    dom = domain(kvm01, params.vm)
    assert dom.isPersistent(), f"{params.vm} is transient: it disappears when it stops (use virt-install/virsh define)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virt-install --virt-type kvm --memory 1024 --vcpus 1",
                  en="virt-install --virt-type kvm --memory 1024 --vcpus 1")
def test_kvm02_vm_resources(kvm01, params):
    """centos7's persistent XML: domain type kvm (qemu where the host has no KVM), 1024 MiB, 1 vCPU."""
    root = xml(domain(kvm01, params.vm), inactive=True)
    want = _expected_domain_type(kvm01)
    assert root.get("type") == want, f"domain type is {root.get('type')}, expected {want} (--virt-type)"
    mem_kib = int(root.findtext("memory") or 0)
    assert mem_kib == params.memory_mib * 1024, f"memory is {mem_kib} KiB, expected {params.memory_mib * 1024} (--memory {params.memory_mib})"
    assert int(root.findtext("vcpu") or 0) == params.vcpus, f"{root.findtext('vcpu')} vCPUs, expected {params.vcpus}"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="--disk /data/centos2.raw,format=raw,size=10：vda 是 10G 的 raw 文件，virtio 总线",
                  en="--disk /data/centos2.raw,format=raw,size=10: vda is a 10G raw file on the virtio bus")
def test_kvm02_disk(kvm01, params):
    """vda is /data/centos2.raw, driver raw, bus virtio, and the image is raw with 10 GiB."""
    d = disk(xml(domain(kvm01, params.vm), inactive=True), "vda")
    assert d is not None, f"{params.vm} has no vda"
    source, driver, target = d.find("source"), d.find("driver"), d.find("target")
    want = data_path(params, params.disk)
    assert source is not None and source.get("file") == want, f"vda is {source.attrib if source is not None else None}, expected {want}"
    assert driver is not None and driver.get("type") == "raw", f"vda driver {driver.attrib if driver is not None else None}"
    assert target.get("bus") == "virtio", f"vda bus is {target.get('bus')}"
    res = kvm01.run("qemu-img info -U --output=json %s", want)
    assert res.rc == 0, f"{want}: {res.stderr.strip()}"
    info = json.loads(res.stdout)
    assert info["format"] == "raw", f"{want} is {info['format']}"
    assert info["virtual-size"] == params.disk_size_gib * 1024**3, f"{want} has {info['virtual-size']} bytes"


@pytest.mark.points(1)
@pytest.mark.hint(zh="--network network=default：网卡接在 libvirt 的 default NAT 网络上，型号 virtio",
                  en="--network network=default: the NIC is on libvirt's default NAT network, model virtio")
def test_kvm02_network_default(kvm01, params):
    """centos7's NIC is on network default with model virtio."""
    nics = list(xml(domain(kvm01, params.vm), inactive=True).iter("interface"))
    assert nics, f"{params.vm} has no network interface"
    nic = nics[0]
    src, model = nic.find("source"), nic.find("model")
    assert nic.get("type") == "network" and src is not None and src.get("network") == params.network, \
        f"the NIC is type {nic.get('type')} {src.attrib if src is not None else ''}, expected network {params.network}"
    assert model is not None and model.get("type") == "virtio", f"NIC model {model.attrib if model is not None else None}"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="--graphics vnc,listen=0.0.0.0,port=5900：VNC 固定端口 5900，监听所有地址",
                  en="--graphics vnc,listen=0.0.0.0,port=5900: VNC on the fixed port 5900, listening on every address")
def test_kvm02_vnc_config(kvm01, params):
    """centos7's graphics: vnc, port 5900, autoport no, listen 0.0.0.0."""
    g = xml(domain(kvm01, params.vm), inactive=True).find("devices/graphics")
    assert g is not None and g.get("type") == "vnc", f"graphics: {g.attrib if g is not None else 'none'}"
    assert (g.get("port"), g.get("autoport")) == (str(params.vnc_port), "no"), f"VNC port {g.get('port')} autoport {g.get('autoport')}"
    listen = g.get("listen") or (g.find("listen").get("address") if g.find("listen") is not None else None)
    assert listen == params.vnc_listen, f"VNC listens on {listen}, expected {params.vnc_listen}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="装好后 virsh start centos7；virsh list 显示 running",
                  en="Once installed, virsh start centos7; virsh list shows it running")
def test_kvm02_running(kvm01, params):
    """centos7 is running."""
    state = kvm01.run("virsh domstate %s", params.vm).stdout.strip()
    assert state == "running", f"{params.vm} is {state or 'not defined (virsh list --all)'}, not running"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh vncdisplay centos7 显示 :0（即 5900 端口），从工作站用 VNC 客户端连接 10.0.1.50:5900",
                  en="virsh vncdisplay centos7 shows :0 (port 5900); connect a VNC viewer from the workstation to 10.0.1.50:5900")
def test_kvm02_vnc_display(kvm01, params):
    """`virsh vncdisplay centos7` is :0, 0.0.0.0:5900 listens and answers VNC (RFB): from the grader
    when the inventory gives kvm01's address, else on kvm01 itself."""
    display = kvm01.run("virsh vncdisplay %s", params.vm).stdout.strip()
    assert display == f":{params.vnc_port - 5900}", f"virsh vncdisplay {params.vm} is {display!r}, expected :{params.vnc_port - 5900}"
    assert kvm01.socket(f"tcp://{params.vnc_listen}:{params.vnc_port}").is_listening, \
        f"nothing listens on {params.vnc_listen}:{params.vnc_port} (ss -ltn)"
    if kvm01.address:
        where = f"{kvm01.address}:{params.vnc_port}"
        try:
            with socket.create_connection((kvm01.address, params.vnc_port), timeout=5) as s:
                s.settimeout(5)
                banner = s.recv(12)
        except OSError as exc:
            raise AssertionError(f"VNC at {where} is unreachable from outside kvm01: {exc}") from None
    else:  # an inventory without the host's address: the banner as kvm01 itself sees it
        where = f"127.0.0.1:{params.vnc_port} on kvm01"
        res = kvm01.run("timeout 5 bash -c %s", f"exec 3<>/dev/tcp/127.0.0.1/{params.vnc_port}; head -c 12 <&3")
        banner = res.stdout.encode()
    evidence.add(f"VNC {where}", repr(banner))
    assert banner.startswith(b"RFB "), f"{where} answered {banner!r}, not VNC"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="虚拟机在 default 网络上通过 DHCP 获得 192.168.122.x 地址（课程里是 192.168.122.60）",
                  en="On the default network the guest gets a 192.168.122.x address by DHCP (192.168.122.60 in the course)")
def test_kvm02_guest_dhcp_address(kvm01, params):
    """The guest's eth0 holds an address of 192.168.122.0/24 that the default network leased to its MAC."""
    view = guest(kvm01, params.vm)
    subnet = ipaddress.ip_network(params.network_subnet)
    res = guest_run(view, "cat /sys/class/net/eth0/address; ip -o -4 addr show dev eth0")
    lines = res.stdout.split("\n", 1)
    mac = lines[0].strip().lower()
    assert res.rc == 0 and mac, f"the guest has no eth0 (ip -o -4 addr show dev eth0: {res.stderr.strip() or res.stdout.strip()})"
    addrs = []
    for word in (lines[1] if len(lines) > 1 else "").split():
        try:
            addrs.append(ipaddress.ip_interface(word))
        except ValueError:
            continue
    mine = [str(a) for a in addrs if a.version == 4 and a.ip in subnet]
    assert mine, f"eth0 has {', '.join(map(str, addrs)) or 'no IPv4 address'}, none in {subnet} (DHCP from network {params.network})"
    leases = kvm01.run("virsh net-dhcp-leases %s", params.network).stdout
    assert mac in leases.lower(), f"the {params.network} network has no lease for eth0's MAC {mac}"


# --------------------------------------------------------------------------- KVM-03


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="虚拟机配置文件是 /etc/libvirt/qemu/centos7.xml（root 600）；用 virsh edit 修改，不要直接改文件",
                  en="The VM's config is /etc/libvirt/qemu/centos7.xml (root, 600); change it with virsh edit, not by hand")
def test_kvm03_config_file(kvm01, params):
    """/etc/libvirt/qemu/centos7.xml exists, owned by root with mode 600."""
    f = kvm01.file(f"/etc/libvirt/qemu/{params.vm}.xml")
    assert f.exists, f"/etc/libvirt/qemu/{params.vm}.xml does not exist: {params.vm} is not defined"
    assert (f.user, f.mode) == ("root", 0o600), f"owner {f.user}, mode {oct(f.mode)}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh dumpxml centos7 > bak_centos7.xml（在 /data 下）备份虚拟机配置",
                  en="Back up the VM's config: virsh dumpxml centos7 > bak_centos7.xml (in /data)")
def test_kvm03_backup_xml(kvm01, params):
    """/data/bak_centos7.xml is centos7's domain XML: same name and UUID as the VM defined now."""
    bak = _backup(kvm01, params)
    assert bak.tag == "domain" and bak.findtext("name") == params.vm, f"the backup is <{bak.tag}> named {bak.findtext('name')!r}"
    uuid = domain(kvm01, params.vm).UUIDString()
    assert bak.findtext("uuid") == uuid, f"the backup's UUID {bak.findtext('uuid')} is not {params.vm}'s ({uuid})"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="注意关机时备份：运行中 dumpxml 会带上运行时信息（id、alias、vnet 设备名）",
                  en="Back up while the VM is shut off: a running VM's dumpxml carries runtime data (id, aliases, vnet names)")
def test_kvm03_backup_taken_shut_off(kvm01, params):
    """bak_centos7.xml was taken with the VM shut off: no domain id, no device aliases, no tap names."""
    bak = _backup(kvm01, params)
    runtime = []
    if bak.get("id"):
        runtime.append(f"<domain id='{bak.get('id')}'>")
    runtime += [f"<alias name='{a.get('name')}'/>" for a in bak.iter("alias")][:3]
    runtime += [f"<target dev='{t.get('dev')}'/>" for i in bak.iter("interface") for t in i.findall("target")]
    assert not runtime, f"the backup holds runtime data: {', '.join(runtime)} (it was taken while running)"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="关机状态下 virsh domrename centos7 cckvm7，再 virsh start cckvm7",
                  en="With the VM shut off, virsh domrename centos7 cckvm7, then virsh start cckvm7")
def test_kvm03_renamed_and_started(kvm01, params):
    """centos7 was renamed cckvm7 and started: libvirt logged a start of cckvm7 with centos7's UUID."""
    log = _renamed_log(kvm01, params)
    uuids = set(re.findall(r"^-uuid (\S+)", log, re.M))
    want = _backup(kvm01, params).findtext("uuid")
    assert want in uuids, f"{params.renamed} ran with UUID {uuids or '?'}, not centos7's {want}: it was not centos7 renamed"


@pytest.mark.points(1.5)
@pytest.mark.hint(zh="virsh shutdown 正常关机（异步，等它真正 shut off），virsh destroy cckvm7 强制断电；注意笔记里 cckmv7 是笔误",
                  en="virsh shutdown is a clean, asynchronous power-off (wait for shut off); virsh destroy cckvm7 pulls the plug; the notes' cckmv7 is a typo")
def test_kvm03_power_states(kvm01, params):
    """The VM was shut down cleanly (as centos7 or cckvm7) and cckvm7 was destroyed (reasons in the QEMU logs)."""
    destroyed = re.findall(r"shutting down, reason=(\w+)", _renamed_log(kvm01, params))
    assert "destroyed" in destroyed, f"{params.renamed} was never destroyed (its stop reasons: {destroyed or 'none'})"
    clean = kvm01.run("cat /var/log/libvirt/qemu/%s.log /var/log/libvirt/qemu/%s.log", params.vm, params.renamed).stdout
    assert "shutting down, reason=shutdown" in clean, f"neither {params.vm} nor {params.renamed} was ever shut down with virsh shutdown"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh undefine cckvm7 删除配置（磁盘保留），再 virsh define bak_centos7.xml 恢复 centos7",
                  en="virsh undefine cckvm7 removes the config (the disk stays); virsh define bak_centos7.xml brings centos7 back")
def test_kvm03_undefined_and_restored(kvm01, params):
    """cckvm7 is undefined again, its disk kept, and centos7 is defined from the backup (same UUID)."""
    import libvirt

    _renamed_log(kvm01, params)
    names = kvm01.libvirt.listDefinedDomains() + [d.name() for d in kvm01.libvirt.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    assert params.renamed not in names, f"{params.renamed} is still defined (virsh undefine {params.renamed})"
    assert kvm01.file(data_path(params, params.disk)).exists, f"{data_path(params, params.disk)} is gone: undefine must keep the disk"
    uuid = domain(kvm01, params.vm).UUIDString()
    assert uuid == _backup(kvm01, params).findtext("uuid"), f"{params.vm} has UUID {uuid}, not the backup's: it was not restored from it"


@pytest.mark.points(2)
@pytest.mark.hint(zh="virsh autostart centos7 在 /etc/libvirt/qemu/autostart/ 下创建指向 centos7.xml 的软链接；virsh autostart --disable centos7 再删掉它",
                  en="virsh autostart centos7 creates the symlink /etc/libvirt/qemu/autostart/centos7.xml -> ../centos7.xml; virsh autostart --disable centos7 removes it again")
def test_kvm03_autostart(kvm01, params):
    """centos7 was marked autostart (libvirt made /etc/libvirt/qemu/autostart/, which no other step
    makes); the notes unmark it again (L477), so the link may be gone; if it is there, it points to
    centos7's config and dominfo says enable."""
    if kvm01.run("test -d /etc/libvirt/qemu/autostart").rc != 0:
        raise AssertionError("no VM was ever marked autostart: /etc/libvirt/qemu/autostart/ does not exist "
                             f"(virsh autostart {params.vm})")
    link = kvm01.run("readlink /etc/libvirt/qemu/autostart/%s.xml", params.vm).stdout.strip()
    evidence.add("autostart links", kvm01.run("ls -l /etc/libvirt/qemu/autostart/").stdout)
    if link:
        assert link == f"/etc/libvirt/qemu/{params.vm}.xml", f"/etc/libvirt/qemu/autostart/{params.vm}.xml points to {link}"
        assert domain(kvm01, params.vm).autostart() == 1, f"the autostart link exists but libvirt does not mark {params.vm} autostart"


# --------------------------------------------------------------------------- KVM-04


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="virt-install 默认会给虚拟机一个 pty 串口（<serial type='pty'>）和串口控制台（<console type='pty'>）",
                  en="virt-install gives the VM a pty serial port (<serial type='pty'>) and a serial console (<console type='pty'>)")
def test_kvm04_serial_console_device(kvm01, params):
    """centos7 has <serial type='pty'> on port 0 and <console type='pty'> with target type serial."""
    devices = xml(domain(kvm01, params.vm), inactive=True).find("devices")
    serial = [s for s in devices.findall("serial") if s.get("type") == "pty"]
    assert serial and serial[0].find("target") is not None and serial[0].find("target").get("port") == "0", \
        "no pty serial port 0"
    console = [c for c in devices.findall("console") if c.get("type") == "pty"]
    target = console[0].find("target") if console else None
    assert target is not None and target.get("type") == "serial", "no pty console on the serial port"


@pytest.mark.points(0.5)
@pytest.mark.hint(zh="在虚拟机里 grubby --update-kernel=ALL --args=\"console=ttyS0,115200n8\"（实验虚拟机的内核参数在 virsh edit 的 <cmdline> 里）",
                  en="In the guest, grubby --update-kernel=ALL --args=\"console=ttyS0,115200n8\" (the lab guest's kernel arguments are the <cmdline> of virsh edit)")
def test_kvm04_boot_config_has_console(kvm01, params):
    """The guest's boot configuration passes console=ttyS0,115200n8 to its kernel: every boot entry
    in the guest (`grubby --info=ALL`), or the domain's <cmdline> when libvirt boots the kernel."""
    os_el = xml(domain(kvm01, params.vm), inactive=True).find("os")
    if os_el is not None and os_el.find("kernel") is not None:
        cmdline = os_el.findtext("cmdline") or ""
        assert params.console_arg in cmdline.split(), \
            f"the kernel arguments in {params.vm}'s <cmdline> are {cmdline!r}: no {params.console_arg}"
        return
    res = guest_run(guest(kvm01, params.vm), "grubby --info=ALL 2>/dev/null | grep '^args=' || grep -h '^GRUB_CMDLINE_LINUX=' /etc/default/grub")
    entries = [line for line in res.stdout.splitlines() if line.strip()]
    assert entries, f"no boot entry found in the guest (grubby --info=ALL): {res.stderr.strip()}"
    missing = [e for e in entries if params.console_arg not in e.split("=", 1)[1].strip('"').split()]
    assert not missing, f"boot entries without {params.console_arg}: {missing[:3]} (grubby --update-kernel=ALL --args=...)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="改完内核参数要重启虚拟机，cat /proc/cmdline 里才会有 console=ttyS0,115200n8",
                  en="Restart the VM after changing the kernel arguments: cat /proc/cmdline must show console=ttyS0,115200n8")
def test_kvm04_guest_booted_with_console(kvm01, params):
    """The running guest's /proc/cmdline has console=ttyS0,115200n8 (it was restarted)."""
    res = guest_run(guest(kvm01, params.vm), "cat /proc/cmdline")
    assert params.console_arg in res.stdout.split(), f"/proc/cmdline is {res.stdout.strip()!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="virsh console centos7 后按回车应出现登录提示；退出用 Ctrl+]",
                  en="virsh console centos7 then Enter must show a login prompt; leave with Ctrl+]")
def test_kvm04_console_answers(kvm01, params):
    """`virsh console centos7` then Enter: the guest answers on ttyS0 with a login or shell prompt."""
    assert kvm01.run("virsh domstate %s", params.vm).stdout.strip() == "running", f"{params.vm} is not running"
    reply = console_reply(kvm01, params.vm)
    assert CONSOLE_PROMPT.search(reply), f"the serial console answered {reply[-200:]!r} to Enter: no login or shell prompt"
