"""The libvirt provisioner: a lab's hosts for one target as L1 VMs on an isolated network of their own.

An environment (a lab's hosts for one target) lives on one hypervisor, because its network
does; environments are spread over the pool (``--hypervisor URI``, repeatable), each going to the
hypervisor with the fewest running L1 hosts. Hosts start by restoring a saved template where
that works (``templates``), else by a cold boot (``domain.boot``); each is handed out when it is
ready (``ready``). Docker hosts get the lab's stand-in images on a docker-data disk built once
per set of stand-ins, exactly the images container hosts would load.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from harness.core import artefacts
from harness.core.errors import ProvisioningError, UsageError
from harness.hosts.host import Host, Role
from harness.provisioners.libvirt.hostimage import HostImage
from harness.core.lab import Lab
from harness.provisioners.base import Provisioner
from harness.provisioners.libvirt.domain import MEMORY_MIB, L1Spec, boot, new_mac
from harness.provisioners.libvirt.hypervisor import (DEFAULT_URI, KIND, OBJ_PREFIX, POOL_DIR, Hypervisor,
                                                     check_readable_by_qemu, is_local)
from harness.provisioners.libvirt.ready import after_ready, wait_ready
from harness.provisioners.libvirt.reaping import remove_run
from harness.provisioners.libvirt.templates import TEMPLATE_VCPUS, Template, Templates
from harness.provisioners.naming import MadeEnvironments, xdist_worker
from harness.core.runs import NAME_PREFIX

log = logging.getLogger(__name__)


def _guest_accel() -> tuple[str, str]:
    """This machine's KVM boot probe (cached), for local hypervisors given no verdict."""
    from harness.kvm import accel

    return accel.guest_accel()


@dataclass
class _Env:
    hv: Hypervisor
    network: str
    subnet: ipaddress.IPv4Network
    domains: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    hosts: dict[str, Host] = field(default_factory=dict)


class LibvirtProvisioner(MadeEnvironments, Provisioner):
    name = "libvirt"

    def __init__(self, run_id: str, host_image: str | None = None, hypervisors: list[str] | None = None,
                 accel: str = "tcg", **_: object):
        try:
            import libvirt  # noqa: F401
        except ImportError:
            raise UsageError("the libvirt provisioner needs libvirt-python (pip install libvirt-python)") from None
        self.run_id = run_id
        self.image = HostImage.load(host_image or "latest")
        self.uris = list(dict.fromkeys(hypervisors or [DEFAULT_URI]))
        if any(is_local(u) for u in self.uris):
            check_readable_by_qemu(self.image)
        local_accel = (accel, "the KVM boot probe of this machine") if accel in ("kvm", "tcg") else None
        self.hvs = {uri: Hypervisor(uri, local_accel, accel_probe=_guest_accel) for uri in self.uris}
        for hv in self.hvs.values():
            hv.conn  # noqa: B018 - a hypervisor that does not answer is a usage error, said once
        self.local_accel = accel
        self.worker = xdist_worker()
        self.envs: dict[tuple[str, str], _Env] = {}
        self.timings: dict[str, object] = {}  # for the benchmark: last create's phases
        self.templates = Templates(self.image, run_id, self.worker)
        self._lock = threading.Lock()
        for hv in self.hvs.values():  # a run starts by removing what dead runs left on its hypervisors
            for line in remove_run(hv):
                log.warning("reaped leftover of a dead run: %s", line)

    # ---------------------------------------------------------------- the interface

    @classmethod
    def describe_options(cls, opt) -> dict[str, str]:
        return HostImage.load(opt.lh_host_image or "latest").describe()  # the report names the host image

    @classmethod
    def from_options(cls, opt, run_id: str) -> "LibvirtProvisioner":
        accel, _ = _guest_accel()  # this machine's, for hypervisors that are local
        return cls(run_id=run_id, host_image=opt.lh_host_image, hypervisors=opt.lh_hypervisors or None, accel=accel)

    @property
    def guest_accel(self) -> tuple[str, str]:
        """("kvm" | "tcg", why) for lab guests (L2) inside the L1 hosts, for LabEnv.accel."""
        verdicts = [hv.nested for hv in self.hvs.values()]
        if all(ok for ok, _ in verdicts):
            return "kvm", "; ".join(why for _, why in verdicts)
        return "tcg", "; ".join(why for ok, why in verdicts if not ok)

    @property
    def environment(self) -> dict[str, str]:
        """What the report should say about these hosts."""
        out = dict(self.image.describe())
        out["hypervisors"] = ", ".join(f"{hv.uri} (L1 {hv.l1_type[0]}: {hv.l1_type[1]})" for hv in self.hvs.values())
        return out

    @property
    def timings_template(self) -> dict[str, object]:
        """For the benchmark: the last template made (its boot and save), {} when none was."""
        return self.templates.timings

    @timings_template.setter
    def timings_template(self, value: dict[str, object]) -> None:
        self.templates.timings = value

    def _pick(self) -> Hypervisor:
        if len(self.hvs) == 1:
            return next(iter(self.hvs.values()))
        return min(self.hvs.values(), key=lambda hv: hv.running_hosts())

    def start_mode(self, hv: Hypervisor) -> str:
        """``restore`` (clones of a saved, booted host) where it works, else ``boot``."""
        wanted = os.environ.get("LABHARNESS_L1_START", "restore")
        if wanted == "restore" and hv.local and self.image.direct_boot:
            return "restore"
        return "boot"

    def create(self, lab: Lab, target: str) -> dict[str, Host]:
        artefacts.require(artefacts.ssh_key(), "the harness's SSH key")
        t0 = time.monotonic()
        prefix = self._prefix(lab, target)
        hv = self._pick()
        dtype, why = hv.l1_type
        net_name = f"{OBJ_PREFIX}{self.run_id}_{prefix[len(NAME_PREFIX) + len(self.run_id) + 1:]}"
        self.destroy(lab, target)  # a retry starts from nothing
        subnet = hv.create_network(net_name)
        env = _Env(hv=hv, network=net_name, subnet=subnet)
        with self._lock:
            self.envs[(lab.name, target)] = env
        disk, kernel, initrd = hv.image_paths(self.image)
        if kernel is None:
            raise ProvisioningError(f"{self.image.disk}: only images with a kernel and initrd (labctl image build) "
                                    "can be provisioned here; cloud-init images are not supported yet")
        docker_base = None
        standin_pairs: list[tuple[str, str]] = []
        if any(s.role is Role.DOCKER_HOST for s in lab.topology):
            from harness.provisioners.libvirt.hostimage import docker_data, standins

            # /var/lib/docker with the lab's stand-ins loaded: built once per set of stand-ins
            tar, standin_pairs = standins(getattr(lab, "images", None))
            dd = docker_data(tar, standin_pairs)
            docker_base = hv.file_path(dd.disk, f"docker-data-{dd.key}.qcow2")
        mode = self.start_mode(hv)
        addrs = {s.name: f"{subnet.network_address + 10 + i}" for i, s in enumerate(lab.topology)}
        peers = tuple(addrs.items())
        if mode == "restore":
            vcpus = TEMPLATE_VCPUS
        else:
            vcpus = int(os.environ.get("LABHARNESS_L1_VCPUS", "0")) or (2 if len(lab.topology) == 1 else 1)
        specs = []
        for spec in lab.topology:
            dname = f"{prefix}-{spec.name}"
            overlay_name = f"{OBJ_PREFIX}{self.run_id}_{dname}.qcow2"
            console_name = f"{OBJ_PREFIX}{self.run_id}_{dname}.console.log"
            data_name = f"{OBJ_PREFIX}{self.run_id}_{dname}.docker.qcow2" if docker_base and spec.role is Role.DOCKER_HOST else ""
            env.volumes += [v for v in (overlay_name, console_name, data_name, f"{OBJ_PREFIX}{self.run_id}_{dname}.save") if v]
            md = (*self.marks(lab, target, spec.name).items(), ("kind", KIND), ("role", spec.role.value),
                  ("network", net_name), ("overlay", overlay_name), ("console", console_name),
                  ("data", data_name), ("image", self.image.recipe[:16]), ("start", mode),
                  ("address", addrs[spec.name]))
            specs.append(L1Spec(
                name=dname, hostname=spec.name, roles=(spec.role,), domain_type=dtype, disk=overlay_name,
                kernel=kernel, initrd=initrd, mac=new_mac(), ip=f"{addrs[spec.name]}/24",
                gateway=str(subnet.network_address + 1), peers=peers, network=net_name,
                memory_mib=MEMORY_MIB, vcpus=vcpus, console=f"{POOL_DIR}/{console_name}",
                data_disk=data_name or None, metadata=md,
                unique=sum(1 for o in lab.topology if o.role is spec.role) > 1))
        t_prep = time.monotonic()
        templates: dict[Role, Template] = {}
        if mode == "restore":
            for role in dict.fromkeys(s.roles[0] for s in specs):
                templates[role] = self.templates.get(hv, role, env.network, env.subnet, lab, target, dtype, disk,
                                                     kernel, initrd, docker_base if role is Role.DOCKER_HOST else None)
        t_tpl = time.monotonic()
        phases: dict[str, dict[str, float]] = {}

        def up(s: L1Spec) -> Host:  # each host in its own thread: start, ready, set up
            t = time.monotonic()
            if mode == "restore":
                phases[s.hostname] = self.templates.restore(hv, s, templates[s.roles[0]])
            else:
                boot(hv, s, disk, docker_base, why)
                phases[s.hostname] = {}
            t1 = time.monotonic()
            host = wait_ready(hv, s)
            t2 = time.monotonic()
            after_ready(host, self.guest_accel, standin_pairs)
            phases[s.hostname].update(start=t1 - t, ready=t2 - t1, after_ready=time.monotonic() - t2)
            return host

        env.domains += [s.name for s in specs]
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            hosts = list(pool.map(up, specs))
        env.hosts = {h.name: h for h in hosts}
        self.timings = {"mode": mode, "prepare": t_prep - t0, "template": t_tpl - t_prep,
                        "hosts": time.monotonic() - t_tpl, "total": time.monotonic() - t0, "per_host": phases}
        log.info("%s/%s on %s (%s): %s; %s", lab.name, target, hv.uri, mode,
                 ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items() if isinstance(v, float)),
                 "; ".join(f"{h}: " + ", ".join(f"{k} {v:.1f}s" for k, v in ph.items()) for h, ph in phases.items()))
        return dict(env.hosts)

    # ---------------------------------------------------------------- starting a host: boot

    def destroy(self, lab: Lab, target: str) -> None:
        with self._lock:
            env = self.envs.pop((lab.name, target), None)
        if env is not None:
            for host in env.hosts.values():
                host.disconnect()
        match = {k: v for k, v in self.marks(lab, target).items() if k != "run_id"}
        for hv in ([env.hv] if env else self.hvs.values()):
            remove_run(hv, self.run_id, match=match)
            if env is not None:  # what the domains name, and what was made before them
                hv.delete_network(env.network)
                for vol in env.volumes:
                    hv.delete_volume(vol)
