"""The course's steps for KVM-10, as the harness performs them in validate mode.

Precondition (KVM-02..09): centos7 on /data/centos7.qcow2, on libvirt's default network, shut
off. The notes then bridge the host's NIC into br0 (`virsh iface-bridge ens33 br0`), move the VM's
NIC to br0 with `virsh edit`, give the guest a static address in the host's subnet, and put a
page into the guest's web server, which a browser on another machine then shows.
"""

from __future__ import annotations


from harness.core.lab import LabEnv, Solution
from harness.core.wait import wait_until
from labs.bridging.addresses import course_guest_address
from labs.common.kvm import agent, data_path, default_gateway, iface_bridge, virt_install, wait_agent

solution = Solution()


def guest_kernel_args(env: LabEnv, ip: str | None) -> str:
    """The guest's boot arguments: its ifcfg-eth0 (static address and gateway) lives there."""
    args = f"console=ttyS0,115200n8 quiet no_timer_check guestname={env.params.vm}"
    if ip is None:
        return args
    return f"{args} guestip={ip} guestgw={default_gateway(env['kvm01'])}"


def write_page(env: LabEnv) -> None:
    """echo "<meta charset=utf-8> 超哥教你学kvm" > /usr/share/nginx/html/index.html, in the guest."""
    p = env.params
    res = agent(env["kvm01"], p.vm).exec(["/bin/sh", "-c", 'echo "$1" > "$2/index.html"', "sh", p.page, p.web_root])
    if res.rc != 0:
        raise RuntimeError(f"writing the page in the guest failed: {res.stderr}")


def wait_page_outside(env: LabEnv, ip: str) -> None:
    g = env["grader"]
    wait_until(lambda: env.params.page in g.run("curl -s -m 3 http://%s/", ip).stdout, timeout=90,
               what=f"the page at http://{ip}/ from grader",
               state=lambda: g.run("curl -sS -m 3 -o /dev/null -w %%{http_code} http://%s/", ip))


@solution.step("KVM-02..09 (precondition): centos7 on /data/centos7.qcow2 and the default network, shut off")
def create_vm(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    virt_install(env, h, p.vm, memory=str(p.memory_mib), vcpus="1",
                 disks=[f"{data_path(p, p.disk)},format=qcow2,size={p.disk_size_gib}"],
                 network="network=default", graphics="vnc,listen=0.0.0.0,port=5900",
                 kernel_args=guest_kernel_args(env, None), start=False)


@solution.step("KVM-10: virsh iface-bridge eth0 br0 (the host's NIC and address into the bridge)")
def bridge(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    iface_bridge(h, "eth0" if p.host_nic == "auto" else p.host_nic, p.bridge)  # a kvm-host container's NIC
    h.check("ip -d link show %s", p.bridge)
    h.check("bridge link show")


@solution.step("KVM-10: virsh edit centos7: <interface type='bridge'><source bridge='br0'/>, MAC kept")
def vm_on_bridge(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virt-xml %s --edit --network bridge=%s", p.vm, p.bridge)


@solution.step("KVM-10: the guest's static address in the host's subnet (ifcfg-eth0 IPADDR, GATEWAY)")
def guest_static(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    ip = course_guest_address(h, p)
    # nobody may answer on the address yet (busybox arping -D: duplicate address detection)
    h.check("busybox arping -D -q -c 2 -w 3 -I %s %s", p.bridge, str(ip.ip))
    h.check("virt-xml %s --edit --boot %s", p.vm, f'kernel_args="{guest_kernel_args(env, str(ip))}"')


@solution.step("KVM-10: virsh start centos7, the page in the guest, fetched from another machine")
def start_and_page(env: LabEnv) -> None:
    p, h = env.params, env["kvm01"]
    h.check("virsh start %s", p.vm)
    wait_agent(h, p.vm)
    write_page(env)
    wait_page_outside(env, str(course_guest_address(h, p).ip))
