"""Hosts as nested VMs ("L1" hosts): qcow2 overlays on a host image, on one or more libvirt URIs.

Each topology host is a transient libvirt domain booted from a host image
(``labctl image build``, :mod:`harness.hostimage`) through a qcow2 overlay of its own, on an
isolated libvirt network made for the environment (no ``<forward>``: nothing leaves the
hypervisor; the hypervisor reaches the hosts, the hosts reach each other by their course names).
Under TCG the L1s get ``<cpu mode='maximum'>`` — QEMU emulates AMD SVM, so ``kvm_amd`` loads in
the L1 and lab guests (L2) run with ``type='kvm'`` there; where the hypervisor has KVM, the L1s
get KVM with ``host-passthrough`` and nested virtualisation if the hypervisor allows it.

Per host, the kernel command line carries its name, address, peers and roles; the image's
initrd writes them into the overlay before systemd starts (``images/hostimage/init``), so no
per-host set-up runs after boot and there is no DHCP wait. The harness key is baked into the
image. A host is ready when SSH answers (paramiko, the harness key) and its role's daemon
answers; docker hosts then get the stand-in images loaded, exactly as container hosts do.

Checks reach a host's daemons through its SSH connection, as ``qemu+ssh://`` and
``docker -H ssh://`` would (``harness.ssh`` tunnels: one connection, the harness key, deadlines),
so a check never knows which provisioner made its host.

Everything made carries the run id: each domain's ``<metadata>`` (``<lh:run run_id=...
kind="l1-host">``), and the names of networks and overlays (``lh_<run id>_...``), so
``labctl reap`` removes what a dead run left on every hypervisor it is given.

An environment (a lab's hosts for one target) lives on one hypervisor, because its network
does; environments are spread over the pool (``--hypervisor URI``, repeatable), each going to the
hypervisor with the fewest running L1 hosts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import ipaddress
import logging
import os
import random
import secrets
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from harness import images
from harness.backends import TimedParamikoBackend
from harness.errors import HarnessError, ProvisioningError, UsageError
from harness.guest import METADATA_NS, METADATA_PREFIX, read_metadata
from harness.host import Access, Host, LibvirtOpenTimeout, Role, open_libvirt
from harness.hostimage import HostImage
from harness.lab import Lab
from harness.provisioners.base import Provisioner
from harness.runs import NAME_PREFIX, run_is_alive
from harness.ssh import HostKeyPolicy
from harness.wait import wait_until

log = logging.getLogger(__name__)

DEFAULT_URI = "qemu:///system"
VALIDATE_TARGET = "validate"
KIND = "l1-host"  # <lh:run kind=...>: the only domains this module ever removes (and templates being made)
TEMPLATE_KIND = "l1-template"
TEMPLATE_FORMAT = 1  # bump when what a saved template holds changes
TEMPLATE_VCPUS = int(os.environ.get("LABHARNESS_L1_TEMPLATE_VCPUS", "2"))
POOL = "labharness"
POOL_DIR = "/var/lib/libvirt/images/labharness"
OBJ_PREFIX = "lh_"  # networks and volumes: lh_<run id>_<rest> (run ids have no "_")
SUBNETS = ipaddress.ip_network("10.211.0.0/16")  # one /24 per environment, the first free one
READY_TIMEOUT = float(os.environ.get("LABHARNESS_L1_READY_TIMEOUT", "420"))
DAEMON_TIMEOUT = float(os.environ.get("LABHARNESS_L1_DAEMON_TIMEOUT", "240"))
MEMORY_MIB = int(os.environ.get("LABHARNESS_L1_MEMORY", "1536"))
TB_CACHE_MIB = 256  # TCG translation cache cap (notes/nested.md: default 1 GiB becomes resident)

# What a role's daemon is, and the read-only command that says it answers (as the static provisioner asks).
ROLE_PROBES = {
    Role.KVM_HOST: ("libvirtd", "virsh -c qemu:///system version"),
    Role.DOCKER_HOST: ("dockerd", "curl -sf --max-time 20 --unix-socket /run/docker.sock http://docker/_ping"),
    Role.STORAGE_HOST: ("glusterd", "gluster --mode=script pool list"),
}


def _silence_libvirt() -> None:
    import libvirt

    libvirt.registerErrorHandler(lambda *_: None, None)  # errors are raised; never printed to stderr


OPEN_TIMEOUT = float(os.environ.get("LABHARNESS_LIBVIRT_OPEN_TIMEOUT", "30"))


def _open(uri: str):
    """Connect to a hypervisor, within ``OPEN_TIMEOUT`` (a remote URI's handshake has no deadline of its own)."""
    import libvirt

    _silence_libvirt()
    try:
        return open_libvirt(uri, timeout=OPEN_TIMEOUT)
    except libvirt.libvirtError as exc:
        raise UsageError(f"hypervisor {uri}: cannot connect: {exc.get_error_message()}") from None
    except LibvirtOpenTimeout:
        raise UsageError(f"hypervisor {uri}: no answer within {OPEN_TIMEOUT:g}s") from None


def check_hypervisors(uris: list[str] | None) -> None:
    """Raise UsageError (one line) unless every hypervisor answers."""
    for uri in uris or [DEFAULT_URI]:
        _open(uri).close()


def is_local(uri: str) -> bool:
    """True for URIs of this machine's own libvirtd (files can be shared by path)."""
    host = urlparse(uri).hostname
    return host in (None, "", "localhost", "127.0.0.1", "::1")


def _et(tag: str, attrib: dict[str, str] | None = None, text: str | None = None, parent: ET.Element | None = None) -> ET.Element:
    el = ET.Element(tag, attrib or {}) if parent is None else ET.SubElement(parent, tag, attrib or {})
    if text is not None:
        el.text = text
    return el


# --------------------------------------------------------------------------- a hypervisor


class Hypervisor:
    """One libvirt URI: its connection, its storage pool for overlays, its copy of the image."""

    def __init__(self, uri: str, local_accel: tuple[str, str] | None = None):
        self.uri = uri
        self.local = is_local(uri)
        self.local_accel = local_accel  # the KVM boot probe's verdict for this machine, if made already
        self.lock = threading.RLock()
        self._conn = None

    @property
    def conn(self):

        with self.lock:
            if self._conn is None or not self._conn.isAlive():
                self._conn = _open(self.uri)
            return self._conn

    def close(self) -> None:
        with self.lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None

    # ---------------------------------------------------------------- capabilities

    @functools.cached_property
    def l1_type(self) -> tuple[str, str]:
        """("kvm" | "qemu", why): the domain type the L1 hosts get here."""
        forced = os.environ.get("LABHARNESS_L1_ACCEL", "").lower()
        if forced in ("kvm", "tcg", "qemu"):
            return ("kvm" if forced == "kvm" else "qemu"), f"LABHARNESS_L1_ACCEL={forced}"
        if self.local:
            from harness import capabilities

            # a real boot probe: /dev/kvm may exist and still hang every guest (PVM)
            kind, why = self.local_accel or capabilities.guest_accel()
            return ("kvm" if kind == "kvm" else "qemu"), why
        try:
            self.conn.getDomainCapabilities(None, "x86_64", None, "kvm", 0)
            return "kvm", f"{self.uri} offers KVM domains"
        except Exception as exc:
            return "qemu", f"{self.uri} offers no KVM domains ({exc})"

    @functools.cached_property
    def nested(self) -> tuple[bool, str]:
        """Can L1 hosts here run their own guests (L2) under KVM?"""
        dtype, _ = self.l1_type
        if dtype == "qemu":
            # QEMU's "max" CPU under TCG is an AMD CPU with SVM: kvm_amd loads in the L1
            return True, "L1 under TCG with cpu mode='maximum': QEMU emulates AMD SVM, kvm_amd runs in the L1"
        if self.local:
            for mod in ("kvm_amd", "kvm_intel"):
                p = Path(f"/sys/module/{mod}/parameters/nested")
                if p.exists():
                    ok = p.read_text().strip() in ("1", "Y", "y")
                    return ok, f"{mod} nested={p.read_text().strip()} on {self.uri}"
            return False, f"no nested KVM on {self.uri}"
        try:
            caps = self.conn.getDomainCapabilities(None, "x86_64", None, "kvm", 0)
            ok = "name='svm'" in caps or "name='vmx'" in caps or 'name="svm"' in caps or 'name="vmx"' in caps
            return ok, f"{self.uri} host-model CPU {'has' if ok else 'lacks'} svm/vmx"
        except Exception as exc:
            return False, f"{self.uri}: {exc}"

    # ---------------------------------------------------------------- storage

    def pool(self):
        """The ``labharness`` dir pool (made transient if missing)."""
        import libvirt

        with self.lock:
            try:
                pool = self.conn.storagePoolLookupByName(POOL)
            except libvirt.libvirtError:
                xml = (f"<pool type='dir'><name>{POOL}</name><target><path>{POOL_DIR}</path>"
                       "<permissions><mode>0711</mode></permissions></target></pool>")
                try:
                    pool = self.conn.storagePoolCreateXML(xml, libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
                except libvirt.libvirtError:
                    pool = self.conn.storagePoolLookupByName(POOL)  # another worker made it meanwhile
            if not pool.isActive():
                pool.create(0)
            return pool

    def refresh(self) -> None:
        try:
            self.pool().refresh(0)
        except Exception:
            pass

    def upload(self, local: Path, name: str) -> str:
        """A file of this machine as a volume of the pool (once per name); returns its path there.

        The name carries the content's identity (recipe hash, size); a ``<name>.ok`` marker volume
        is made after a complete upload, so a half-uploaded volume is never taken for a whole one.
        """
        import libvirt

        pool = self.pool()
        size = local.stat().st_size
        with self.lock:
            pool.refresh(0)
            try:
                pool.storageVolLookupByName(f"{name}.ok")
                return pool.storageVolLookupByName(name).path()
            except libvirt.libvirtError:
                pass
            try:
                pool.storageVolLookupByName(name).delete(0)
            except libvirt.libvirtError:
                pass
            t0 = time.monotonic()
            xml = (f"<volume><name>{name}</name><capacity unit='bytes'>{size}</capacity>"
                   "<target><format type='raw'/></target></volume>")
            vol = pool.createXML(xml, 0)
            stream = self.conn.newStream(0)
            vol.upload(stream, 0, size, 0)
            with open(local, "rb") as f:
                stream.sendAll(lambda _s, n, fh: fh.read(n), f)
            stream.finish()
            pool.createXML(f"<volume><name>{name}.ok</name><capacity unit='bytes'>0</capacity></volume>", 0)
            log.info("%s: uploaded %s (%d MiB) in %.1fs", self.uri, name, size >> 20, time.monotonic() - t0)
            return vol.path()

    def image_paths(self, image: HostImage) -> tuple[str, str | None, str | None]:
        """(disk, kernel, initrd) of the image as paths on this hypervisor."""
        if self.local:
            return (str(image.disk), str(image.kernel) if image.direct_boot else None,
                    str(image.initrd) if image.direct_boot else None)
        tag = image.recipe[:16] or f"{image.disk.stat().st_size:x}"
        disk = self.upload(image.disk, f"hostimage-{tag}.qcow2")
        if not image.direct_boot:
            return disk, None, None
        return (disk, self.upload(image.kernel, f"hostimage-{tag}.vmlinuz"),
                self.upload(image.initrd, f"hostimage-{tag}.initrd"))

    def file_path(self, local: Path, name: str) -> str:
        """A read-only file for the L1 (e.g. standins.tar): by path when local, uploaded otherwise."""
        if self.local:
            return str(local)
        return self.upload(local, name)

    def overlay(self, name: str, backing: str, size: int | None = None) -> str:
        """A qcow2 volume backed by ``backing`` (the image); returns its path."""
        import libvirt

        pool = self.pool()
        vsize = size or _qcow2_virtual_size(backing, self)
        xml = (f"<volume><name>{name}</name><capacity unit='bytes'>{vsize}</capacity>"
               "<target><format type='qcow2'/><permissions><mode>0600</mode></permissions></target>"
               f"<backingStore><path>{backing}</path><format type='qcow2'/></backingStore></volume>")
        try:
            return pool.createXML(xml, 0).path()
        except libvirt.libvirtError as exc:
            raise ProvisioningError(f"{self.uri}: cannot create overlay {name} on {backing}: {exc.get_error_message()}") from None

    def delete_volume(self, name: str) -> bool:
        import libvirt

        try:
            pool = self.pool()
            pool.refresh(0)
            pool.storageVolLookupByName(name).delete(0)
            return True
        except libvirt.libvirtError:
            return False

    # ---------------------------------------------------------------- networks

    def create_network(self, name: str) -> ipaddress.IPv4Network:
        """An isolated network (no <forward>) on the first free /24 of SUBNETS."""
        import libvirt

        used = set()
        for net in self.conn.listAllNetworks(0):
            try:
                root = ET.fromstring(net.XMLDesc(0))
            except Exception:
                continue
            for ip in root.iter("ip"):
                if ip.get("address") and (ip.get("netmask") or ip.get("prefix")):
                    used.add(ipaddress.ip_network(f"{ip.get('address')}/{ip.get('netmask') or ip.get('prefix')}", strict=False))
        candidates = [n for n in SUBNETS.subnets(new_prefix=24) if not any(n.overlaps(u) for u in used)]
        random.shuffle(candidates)  # concurrent workers rarely pick the same one; if they do, libvirt says so
        last = None
        for subnet in candidates[:20]:
            gw = subnet.network_address + 1
            root = _et("network")
            _et("name", text=name, parent=root)
            _et("bridge", {"stp": "off", "delay": "0"}, parent=root)
            _et("dns", {"enable": "no"}, parent=root)
            _et("ip", {"address": str(gw), "prefix": "24"}, parent=root)
            try:
                self.conn.networkCreateXML(ET.tostring(root, encoding="unicode"))
                return subnet
            except libvirt.libvirtError as exc:
                last = exc.get_error_message()
                if "already exists" in last and "network" in last.lower() and name in last:
                    raise ProvisioningError(f"{self.uri}: network {name} already exists") from None
        raise ProvisioningError(f"{self.uri}: no free /24 in {SUBNETS} for network {name}: {last}")

    def delete_network(self, name: str) -> bool:
        import libvirt

        try:
            net = self.conn.networkLookupByName(name)
        except libvirt.libvirtError:
            return False
        try:
            persistent = net.isPersistent()  # a transient network is gone once destroyed
            if net.isActive():
                net.destroy()
            if persistent:
                net.undefine()
        except libvirt.libvirtError as exc:
            log.warning("%s: removing network %s: %s", self.uri, name, exc.get_error_message())
        return True

    # ---------------------------------------------------------------- domains

    def l1_domains(self) -> list[tuple[object, dict[str, str]]]:
        """(domain, metadata) of every L1 host made by this module on this hypervisor."""
        import libvirt

        out = []
        for dom in self.conn.listAllDomains(0):
            try:
                md = read_metadata(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
            except libvirt.libvirtError:
                continue
            if md.get("kind") in (KIND, TEMPLATE_KIND):
                out.append((dom, md))
        return out

    def running_hosts(self) -> int:
        try:
            return sum(1 for d, _ in self.l1_domains() if d.isActive())
        except Exception:
            return 1 << 20


def _check_readable_by_qemu(image: HostImage) -> None:
    """libvirt runs QEMU as its own user: the image's files and every directory above them must be
    readable (files) and traversable (directories) by others, or the first host fails late with
    "Cannot access backing file ... Permission denied"."""
    import stat

    files = [image.disk] + ([image.kernel, image.initrd] if image.direct_boot else [])
    for f in files:
        if not f.stat().st_mode & stat.S_IROTH:
            raise UsageError(f"host image {f}: not readable by libvirt's qemu user (chmod o+r {f})")
        for d in f.resolve().parents:
            if not d.stat().st_mode & stat.S_IXOTH:
                raise UsageError(f"host image {f}: directory {d} is not traversable by libvirt's qemu user "
                                 f"(chmod o+x {d}, or keep images under /var/cache or /var/lib)")


def _qcow2_virtual_size(path: str, hv: Hypervisor) -> int:
    """The virtual size of the image (read here for local files, from the pool otherwise)."""
    if hv.local:
        import json
        import subprocess

        out = subprocess.run(["qemu-img", "info", "-U", "--output=json", path], capture_output=True, text=True, timeout=60)
        if out.returncode == 0:
            return int(json.loads(out.stdout)["virtual-size"])
    try:
        return int(hv.conn.storageVolLookupByPath(path).info()[1])
    except Exception:
        return 8 << 30


# --------------------------------------------------------------------------- reaping


def run_of(name: str) -> str | None:
    """The run id in a network or volume name ``lh_<run id>_...`` (None for other names)."""
    if name.startswith(OBJ_PREFIX) or name.startswith("." + OBJ_PREFIX):
        parts = name.lstrip(".").split("_")
        return parts[1] if len(parts) >= 3 and parts[1] else None
    return None


def remove_run(hv: Hypervisor, run_id: str | None = None, dry_run: bool = False,
               match: dict[str, str] | None = None) -> list[str]:
    """Remove the L1 domains, overlays and networks of ``run_id`` (of every dead run when None).

    ``match`` narrows domains to those whose metadata has these values (one environment);
    networks and volumes are then the ones those domains name in their metadata.
    """
    import libvirt

    removed: list[str] = []

    def wanted(rid: str | None) -> bool:
        if not rid:
            return False
        return rid == run_id if run_id else not run_is_alive(rid)

    nets: set[str] = set()
    vols: set[str] = set()
    for dom, md in hv.l1_domains():
        if not wanted(md.get("run_id")) or any(md.get(k) != v for k, v in (match or {}).items()):
            continue
        removed.append(f"{hv.uri}: domain {dom.name()}")
        nets.add(md.get("network", ""))
        vols.add(md.get("overlay", ""))
        vols.add(md.get("console", ""))
        vols.add(md.get("data", ""))
        if not dry_run:
            try:
                if dom.isActive():
                    dom.destroy()
                if dom.isPersistent():
                    dom.undefine()
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                    log.warning("%s: removing %s: %s", hv.uri, dom.name(), exc.get_error_message())
    if match is None:  # whole runs: also what no domain names any more (a crash between steps)
        for net in hv.conn.listAllNetworks(0):
            if wanted(run_of(net.name())):
                nets.add(net.name())
        try:
            pool = hv.conn.storagePoolLookupByName(POOL)
            pool.refresh(0)
            for vol in pool.listAllVolumes(0):
                if wanted(run_of(vol.name())):
                    vols.add(vol.name())
        except libvirt.libvirtError:
            pass
    for name in sorted(n for n in nets if n):
        if dry_run:
            try:
                hv.conn.networkLookupByName(name)
                removed.append(f"{hv.uri}: network {name}")
            except libvirt.libvirtError:
                pass
        elif hv.delete_network(name):
            removed.append(f"{hv.uri}: network {name}")
    for name in sorted(v for v in vols if v):
        if dry_run:
            removed.append(f"{hv.uri}: volume {name}")
        elif hv.delete_volume(name):
            removed.append(f"{hv.uri}: volume {name}")
    return removed


def leftover_runs(hv: Hypervisor) -> set[str]:
    import libvirt

    runs = {md.get("run_id", "") for _, md in hv.l1_domains()}
    runs |= {run_of(n.name()) or "" for n in hv.conn.listAllNetworks(0)}
    try:
        pool = hv.conn.storagePoolLookupByName(POOL)
        pool.refresh(0)
        runs |= {run_of(v.name()) or "" for v in pool.listAllVolumes(0)}
    except libvirt.libvirtError:
        pass
    runs.discard("")
    return runs


def reap(uris: list[str] | None = None, run_id: str | None = None, dry_run: bool = False) -> list[str]:
    """``labctl reap``'s libvirt half: what dead runs (or ``run_id``) left on these hypervisors.

    Hypervisors that do not answer (or a machine without libvirt-python) are skipped quietly:
    a run on the container provisioner must not fail because libvirtd is down.
    """
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return []
    lines: list[str] = []
    for uri in uris or default_uris():
        try:
            hv = Hypervisor(uri)
            hv.conn  # noqa: B018 - connect now
        except Exception as exc:
            log.debug("reap: %s not reachable: %s", uri, exc)
            continue
        try:
            runs = [run_id] if run_id else sorted(r for r in leftover_runs(hv) if not run_is_alive(r))
            for rid in runs:
                lines += [f"run {rid}: {what}" for what in remove_run(hv, rid, dry_run=dry_run)]
        finally:
            hv.close()
    return lines


def default_uris() -> list[str]:
    """Hypervisors to reap when none are named: $LABHARNESS_HYPERVISORS (space/comma separated) or this machine's."""
    raw = os.environ.get("LABHARNESS_HYPERVISORS", "")
    uris = [u for u in raw.replace(",", " ").split() if u]
    return uris or [DEFAULT_URI]


# --------------------------------------------------------------------------- the provisioner


@dataclass
class _Env:
    hv: Hypervisor
    network: str
    subnet: ipaddress.IPv4Network
    domains: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    hosts: dict[str, Host] = field(default_factory=dict)


@dataclass(frozen=True)
class L1Spec:
    """What one L1 host is made of (the domain XML is rendered from it)."""

    name: str  # the domain's name
    hostname: str  # the course's host name (kvm01, docker01)
    roles: tuple[Role, ...]
    domain_type: str  # "qemu" (TCG) or "kvm"
    disk: str
    kernel: str | None
    initrd: str | None
    mac: str
    ip: str  # A.B.C.D/NN
    gateway: str
    peers: tuple[tuple[str, str], ...]  # (hostname, address) of the topology's hosts
    network: str
    memory_mib: int
    vcpus: int
    console: str | None
    data_disk: str | None = None  # docker hosts: an overlay of the docker-data disk (/var/lib/docker), vdb
    unique: bool = False  # restored clones: other hosts of its role in the topology (own libvirt/gluster UUIDs)
    metadata: tuple[tuple[str, str], ...] = ()


def domain_xml(spec: L1Spec) -> str:
    """The L1 host's domain XML (ElementTree: names and paths are escaped, never pasted)."""
    dom = _et("domain", {"type": spec.domain_type})
    _et("name", text=spec.name, parent=dom)
    md = _et("metadata", parent=dom)
    run = ET.SubElement(md, f"{METADATA_PREFIX}:run", {f"xmlns:{METADATA_PREFIX}": METADATA_NS})
    for k, v in spec.metadata:
        run.set(k, v)
    _et("memory", {"unit": "MiB"}, str(spec.memory_mib), dom)
    _et("vcpu", {"placement": "static"}, str(spec.vcpus), dom)
    os_el = _et("os", parent=dom)
    _et("type", {"arch": "x86_64", "machine": "pc"}, "hvm", os_el)
    if spec.kernel:
        _et("kernel", text=spec.kernel, parent=os_el)
        _et("initrd", text=spec.initrd, parent=os_el)
        peers = ",".join(f"{n}={a}" for n, a in spec.peers)
        roles = ",".join(r.value for r in spec.roles)
        cmdline = (f"root=/dev/vda rw console=ttyS0 quiet net.ifnames=0 apparmor=0 mitigations=off "
                   f"systemd.hostname={spec.hostname} lh.ip={spec.ip} lh.gw={spec.gateway} "
                   f"lh.hosts={peers} lh.role={roles}" + (" lh.docker=/dev/vdb" if spec.data_disk else ""))
        _et("cmdline", text=cmdline, parent=os_el)
    else:
        _et("boot", {"dev": "hd"}, parent=os_el)
    features = _et("features", parent=dom)
    _et("acpi", parent=features)  # without it a 6.1 kernel hangs after "A valid RSDP was not found"
    _et("apic", parent=features)
    if spec.domain_type == "qemu":
        tcg = _et("tcg", parent=features)
        _et("tb-cache", {"unit": "MiB"}, str(TB_CACHE_MIB), tcg)
        _et("cpu", {"mode": "maximum", "check": "none"}, parent=dom)  # AMD SVM emulated: L2 under KVM
    else:
        _et("cpu", {"mode": "host-passthrough", "check": "none", "migratable": "off"}, parent=dom)
    _et("clock", {"offset": "utc"}, parent=dom)
    _et("on_poweroff", text="destroy", parent=dom)
    _et("on_reboot", text="restart", parent=dom)
    _et("on_crash", text="destroy", parent=dom)
    dev = _et("devices", parent=dom)
    disk = _et("disk", {"type": "file", "device": "disk"}, parent=dev)
    _et("driver", {"name": "qemu", "type": "qcow2", "cache": "unsafe", "discard": "unmap"}, parent=disk)
    _et("source", {"file": spec.disk}, parent=disk)
    _et("target", {"dev": "vda", "bus": "virtio"}, parent=disk)
    if spec.data_disk:
        d = _et("disk", {"type": "file", "device": "disk"}, parent=dev)
        _et("driver", {"name": "qemu", "type": "qcow2", "cache": "unsafe", "discard": "unmap"}, parent=d)
        _et("source", {"file": spec.data_disk}, parent=d)
        _et("target", {"dev": "vdb", "bus": "virtio"}, parent=d)
    nic = _et("interface", {"type": "network"}, parent=dev)
    _et("source", {"network": spec.network}, parent=nic)
    _et("mac", {"address": spec.mac}, parent=nic)
    _et("model", {"type": "virtio"}, parent=nic)
    serial = _et("serial", {"type": "pty"}, parent=dev)
    if spec.console:
        _et("log", {"file": spec.console, "append": "off"}, parent=serial)
    _et("target", {"port": "0"}, parent=serial)
    console = _et("console", {"type": "pty"}, parent=dev)
    _et("target", {"type": "serial", "port": "0"}, parent=console)
    chan = _et("channel", {"type": "unix"}, parent=dev)
    _et("target", {"type": "virtio", "name": "org.qemu.guest_agent.0"}, parent=chan)
    rng = _et("rng", {"model": "virtio"}, parent=dev)
    _et("backend", {"model": "random"}, "/dev/urandom", rng)
    _et("memballoon", {"model": "none"}, parent=dev)
    ET.indent(dom, "  ")
    return ET.tostring(dom, encoding="unicode")


@dataclass(frozen=True)
class Template:
    """A booted host of one role, saved: clones restore from ``save`` with overlays on ``disk``/``data``."""

    key: str
    role: Role
    save: str
    disk: str
    data: str | None
    xml: str


SAVE_MAGIC = b"LibvirtQemudSave"
SAVE_HEADER = struct.Struct("<16sIIIII56x")  # libvirt's virQEMUSaveHeader (qemu_saveimage.h): 92 bytes


def _clone_save(src: str, dst: str, xml: str) -> None:
    """Copy a libvirt save image with another domain XML in its header.

    libvirt refuses to restore a saved state under another UUID ("Target domain uuid ... does not
    match source"), and two domains cannot share one, so each clone gets a copy whose embedded XML
    carries its own UUID, name, disks and NIC. The XML area is padded by libvirt; the new XML must
    fit in it (it is written without indentation). The QEMU migration stream is copied as is
    (copy_file_range: from the page cache, in the kernel).
    """
    with open(src, "rb") as f:
        head = f.read(SAVE_HEADER.size)
        magic, version, data_len, running, compressed, cookie_off = SAVE_HEADER.unpack(head)
        if magic != SAVE_MAGIC or version != 2:
            raise ValueError(f"{src}: not a libvirt QEMU save image (version 2): {magic!r} v{version}")
        if compressed:
            raise ValueError(f"{src}: compressed save images are not supported")
        data = f.read(data_len)
    cookie = data[cookie_off:].split(b"\0", 1)[0] if cookie_off else b""
    new_xml = xml.encode() + b"\0"
    blob = new_xml + (cookie + b"\0" if cookie else b"")
    if len(blob) > data_len:
        raise ValueError(f"the clone's XML ({len(blob)} bytes) does not fit the save image's {data_len}")
    blob += b"\0" * (data_len - len(blob))
    header = SAVE_HEADER.pack(magic, version, data_len, running, compressed, len(new_xml) if cookie else 0)
    offset = SAVE_HEADER.size + data_len
    size = os.path.getsize(src) - offset
    fd_in = os.open(src, os.O_RDONLY)
    fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd_out, header + blob)
        done = 0
        while done < size:
            n = os.copy_file_range(fd_in, fd_out, min(size - done, 1 << 30), offset + done)
            if n == 0:
                raise OSError(f"{src}: short read while copying the saved state")
            done += n
    finally:
        os.close(fd_in)
        os.close(fd_out)


def _clone_xml(template_xml: str, spec: L1Spec, overlay: str, data: str | None) -> str:
    """The template's saved domain XML made into ``spec``'s: name, UUID, metadata, disks, NIC, log."""
    import uuid

    root = ET.fromstring(template_xml)
    root.find("name").text = spec.name
    root.find("uuid").text = str(uuid.uuid4())
    md = root.find("metadata")
    if md is None:
        md = ET.SubElement(root, "metadata")
    for child in list(md):
        md.remove(child)
    run = ET.SubElement(md, f"{METADATA_PREFIX}:run", {f"xmlns:{METADATA_PREFIX}": METADATA_NS})
    for k, v in spec.metadata:
        run.set(k, v)
    for disk in root.iter("disk"):
        target = disk.find("target").get("dev")
        src = disk.find("source")
        if target == "vda":
            src.set("file", overlay)
        elif target == "vdb" and data:
            src.set("file", data)
    for iface in root.iter("interface"):
        iface.find("source").set("network", spec.network)
        iface.find("mac").set("address", spec.mac)
        link = iface.find("link")
        if link is None:
            link = ET.SubElement(iface, "link")
        link.set("state", "down")  # until the guest has its own address and MAC
    for log_el in root.iter("log"):
        if spec.console:
            log_el.set("file", spec.console)
    for el in root.iter():  # compact: the XML must fit the save image's padded XML area
        if el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    return ET.tostring(root, encoding="unicode")


TEMPLATE_MAX_AGE = 3600.0  # an older template of the same role is removed when a new one is saved


def _prune_templates(hv: Hypervisor, keep: str, role: Role) -> None:
    """Remove saved templates that are no longer made: those of an image that is gone, and older
    ones of the same role (a clone running on one keeps its open files; a run that still wants
    it makes it again)."""
    from harness.hostimage import image_root

    now = time.time()
    for ok in Path(POOL_DIR).glob("warm-*.ok"):
        key = ok.name[len("warm-"):-len(".ok")]
        if key == keep:
            continue
        try:
            recipe, tpl_role = ok.read_text().split()[:2]
            age = now - ok.stat().st_mtime
        except (OSError, ValueError):
            continue
        gone = bool(recipe) and not (image_root() / recipe[:16]).is_dir()
        if gone or (tpl_role == role.value and age > TEMPLATE_MAX_AGE):
            for suffix in (".ok", ".save", ".qcow2", ".docker.qcow2", ".console.log"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{POOL_DIR}/warm-{key}{suffix}")
            log.info("%s: removed the saved %s template %s (%s)", hv.uri, tpl_role, key,
                     "its image is gone" if gone else "superseded")
    hv.refresh()


class _FileLock:
    """An flock on a file of this machine (templates on a local hypervisor: one maker at a time)."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None

    def __enter__(self) -> "_FileLock":
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def dt_now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _mac() -> str:
    b = secrets.token_bytes(3)
    return "52:54:00:%02x:%02x:%02x" % (b[0], b[1], b[2])


class LibvirtProvisioner(Provisioner):
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
            _check_readable_by_qemu(self.image)
        local_accel = (accel, "the KVM boot probe of this machine") if accel in ("kvm", "tcg") else None
        self.hvs = {uri: Hypervisor(uri, local_accel) for uri in self.uris}
        for hv in self.hvs.values():
            hv.conn  # noqa: B018 - a hypervisor that does not answer is a usage error, said once
        self.local_accel = accel
        self.worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        self.envs: dict[tuple[str, str], _Env] = {}
        self.timings: dict[str, object] = {}  # for the benchmark: last create's phases
        self.timings_template: dict[str, object] = {}
        self._tpl_locks: dict[str, threading.Lock] = {}
        self._tpl_broken: dict[str, ImageBroken] = {}
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
        from harness import capabilities

        accel, _ = capabilities.guest_accel()  # this machine's, for hypervisors that are local
        return cls(run_id=run_id, host_image=opt.lh_host_image, hypervisors=opt.lh_hypervisors or None, accel=accel)

    def targets(self) -> list[str]:
        return [VALIDATE_TARGET]

    def labs_for(self, target: str) -> list[str] | None:
        return None

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

    def _prefix(self, lab: Lab, target: str) -> str:
        suffix = "" if target == VALIDATE_TARGET else f"-{target}"
        worker = f"{self.worker}-" if self.worker else ""
        return f"{NAME_PREFIX}{self.run_id}-{worker}{lab.name.replace('_', '')}{suffix}"

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
        images.require(images.ssh_key(), "the harness's SSH key")
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
            from harness.hostimage import docker_data, standins

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
            md = (("run_id", self.run_id), ("kind", KIND), ("lab", lab.name), ("target", target),
                  ("worker", self.worker), ("host", spec.name), ("role", spec.role.value),
                  ("network", net_name), ("overlay", overlay_name), ("console", console_name),
                  ("data", data_name), ("image", self.image.recipe[:16]), ("start", mode),
                  ("address", addrs[spec.name]))
            specs.append(L1Spec(
                name=dname, hostname=spec.name, roles=(spec.role,), domain_type=dtype, disk=overlay_name,
                kernel=kernel, initrd=initrd, mac=_mac(), ip=f"{addrs[spec.name]}/24",
                gateway=str(subnet.network_address + 1), peers=peers, network=net_name,
                memory_mib=MEMORY_MIB, vcpus=vcpus, console=f"{POOL_DIR}/{console_name}",
                data_disk=data_name or None, metadata=md,
                unique=sum(1 for o in lab.topology if o.role is spec.role) > 1))
        t_prep = time.monotonic()
        templates: dict[Role, Template] = {}
        if mode == "restore":
            for role in dict.fromkeys(s.roles[0] for s in specs):
                templates[role] = self._template(hv, role, env, lab, target, dtype, disk, kernel, initrd,
                                                 docker_base if role is Role.DOCKER_HOST else None)
        t_tpl = time.monotonic()
        phases: dict[str, dict[str, float]] = {}

        def up(s: L1Spec) -> Host:  # each host in its own thread: start, ready, set up
            t = time.monotonic()
            if mode == "restore":
                phases[s.hostname] = self._restore(hv, s, templates[s.roles[0]])
            else:
                self._boot(hv, s, disk, docker_base, why)
                phases[s.hostname] = {}
            t1 = time.monotonic()
            host = self._ready(hv, s)
            t2 = time.monotonic()
            self._after_ready(host, standin_pairs)
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

    def _boot(self, hv: Hypervisor, spec: L1Spec, disk: str, docker_base: str | None, why: str) -> None:
        """A cold boot: overlays on the image (and on the docker-data disk), then the domain."""
        import libvirt

        overlay = hv.overlay(spec.disk, disk)
        data = hv.overlay(spec.data_disk, docker_base) if spec.data_disk and docker_base else None
        xml = domain_xml(dataclasses.replace(spec, disk=overlay, data_disk=data))
        try:
            hv.conn.createXML(xml, 0)
        except libvirt.libvirtError as exc:
            raise ProvisioningError(f"{hv.uri}: starting {spec.name} ({spec.domain_type}: {why}) failed: "
                                    f"{exc.get_error_message()}") from None

    # ---------------------------------------------------------------- starting a host: restore

    def _template_key(self, hv: Hypervisor, role: Role, dtype: str, disk: str, docker_base: str | None) -> str:
        h = hashlib.sha256()
        for part in (TEMPLATE_FORMAT, self.image.recipe or f"{disk}:{os.path.getsize(disk)}", docker_base or "",
                     role.value, dtype, MEMORY_MIB, TEMPLATE_VCPUS, TB_CACHE_MIB,
                     hv.conn.getVersion(), hv.conn.getLibVersion(), domain_xml.__doc__):
            h.update(f"{part}\n".encode())
        return h.hexdigest()[:16]

    def _template(self, hv: Hypervisor, role: Role, env: _Env, lab: Lab, target: str, dtype: str, disk: str,
                  kernel: str, initrd: str, docker_base: str | None) -> "Template":
        """A booted host of ``role``, saved (``virsh save``) once per image, role and hypervisor.

        Kept on the hypervisor (``warm-<key>.*`` in the pool) across runs: a clone is restored
        from it in seconds where a boot takes a minute or more under TCG. The first run that needs
        one pays a boot and the save.
        """
        key = self._template_key(hv, role, dtype, disk, docker_base)
        if key in self._tpl_broken:  # the plugin retries provisioning; a broken image stays broken
            raise self._tpl_broken[key]
        base = f"{POOL_DIR}/warm-{key}"
        tpl = Template(key=key, role=role, save=f"{base}.save", disk=f"{base}.qcow2",
                       data=f"{base}.docker.qcow2" if docker_base else None, xml="")
        with self._tpl_locks.setdefault(key, threading.Lock()), _FileLock(f"{POOL_DIR}/.warm-{key}.lock"):
            if os.path.exists(f"{base}.ok") and os.path.exists(tpl.save):
                return dataclasses.replace(tpl, xml=hv.conn.saveImageGetXMLDesc(tpl.save, 0))
            t0 = time.monotonic()
            for suffix in (".qcow2", ".docker.qcow2", ".save", ".console.log", ".ok"):
                hv.delete_volume(f"warm-{key}{suffix}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{base}{suffix}")
            ip = f"{env.subnet.network_address + 250}"
            name = f"{NAME_PREFIX}{self.run_id}-warm-{key[:8]}"
            spec = L1Spec(
                name=name, hostname="lh-template", roles=(role,), domain_type=dtype, disk=f"warm-{key}.qcow2",
                kernel=kernel, initrd=initrd, mac=_mac(), ip=f"{ip}/24", gateway=str(env.subnet.network_address + 1),
                peers=(("lh-template", ip),), network=env.network, memory_mib=MEMORY_MIB, vcpus=TEMPLATE_VCPUS,
                console=f"{base}.console.log", data_disk=f"warm-{key}.docker.qcow2" if docker_base else None,
                metadata=(("run_id", self.run_id), ("kind", TEMPLATE_KIND), ("lab", lab.name), ("target", target),
                          ("worker", self.worker), ("host", "lh-template"), ("role", role.value),
                          ("network", env.network), ("template", key)))
            host = None
            try:
                self._boot(hv, spec, disk, docker_base, "template")
                host = self._ready(hv, spec)
                t_ready = time.monotonic()
                # a small saved state restores faster: drop the page cache (it refills from the overlays)
                host.run("sync; echo 3 > /proc/sys/vm/drop_caches", timeout=120)
                host._backend.close()
                hv.conn.lookupByName(name).save(tpl.save)
                Path(f"{base}.ok").write_text(f"{self.image.recipe} {role.value} {dt_now()}\n")
                hv.refresh()
            except BaseException as exc:
                if host is not None:
                    host._backend.close()
                remove_run(hv, self.run_id, match={"template": key})
                for suffix in (".qcow2", ".docker.qcow2", ".save", ".console.log"):
                    hv.delete_volume(f"warm-{key}{suffix}")
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{base}{suffix}")
                if isinstance(exc, ImageBroken):
                    self._tpl_broken[key] = exc
                if isinstance(exc, Exception) and not isinstance(exc, ProvisioningError):
                    raise ProvisioningError(f"{hv.uri}: making the saved {role.value} template failed: {exc}") from exc
                raise
            _prune_templates(hv, keep=key, role=role)
            log.info("%s: saved %s template %s: booted in %.1fs, saved in %.1fs (%d MiB)", hv.uri, role.value, key,
                     t_ready - t0, time.monotonic() - t_ready, os.path.getsize(tpl.save) >> 20)
            self.timings_template = {"role": role.value, "boot": t_ready - t0, "save": time.monotonic() - t_ready}
            return dataclasses.replace(tpl, xml=hv.conn.saveImageGetXMLDesc(tpl.save, 0))

    def _restore(self, hv: Hypervisor, spec: L1Spec, tpl: "Template") -> dict[str, float]:
        """A clone of the template: overlays on its disks, its saved state restored under this host's
        name, disks and network (NIC link down), then made into this host by the guest agent."""
        import libvirt

        from harness.guest import GuestAgent, GuestError

        t0 = time.monotonic()
        overlay = hv.overlay(spec.disk, tpl.disk)
        data = hv.overlay(spec.data_disk, tpl.data) if spec.data_disk and tpl.data else None
        xml = _clone_xml(tpl.xml, spec, overlay, data)
        clone = f"{POOL_DIR}/{OBJ_PREFIX}{self.run_id}_{spec.name}.save"
        try:
            _clone_save(tpl.save, clone, xml)
            t1 = time.monotonic()
            hv.conn.restoreFlags(clone, xml, libvirt.VIR_DOMAIN_SAVE_RUNNING)
        except (libvirt.libvirtError, OSError, ValueError) as exc:
            msg = exc.get_error_message() if isinstance(exc, libvirt.libvirtError) else str(exc)
            raise ProvisioningError(f"{hv.uri}: restoring {spec.name} from template {tpl.key} failed: {msg}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(clone)
        t2 = time.monotonic()
        dom = hv.conn.lookupByName(spec.name)
        agent = GuestAgent(dom)
        try:
            agent.wait_ready(timeout=120)
            t3 = time.monotonic()
            agent.command("guest-set-time", {"time": time.time_ns()}, timeout=30)  # the saved clock is stale
            peers = ",".join(f"{n}={a}" for n, a in spec.peers)
            res = agent.exec(["/usr/local/sbin/labharness-personalize", spec.hostname, spec.ip, spec.gateway, peers,
                              ",".join(r.value for r in spec.roles), spec.mac], timeout=240,
                             env={"UNIQUE": "1" if spec.unique else "0",
                                  "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
        except GuestError as exc:
            raise ProvisioningError(f"{spec.hostname} ({spec.name}): restored, but its guest agent failed: {exc}") from None
        if res.rc != 0:
            raise ProvisioningError(f"{spec.hostname} ({spec.name}): labharness-personalize exited {res.rc}: "
                                    f"{(res.stderr or res.stdout).strip()[-500:]}")
        root = ET.fromstring(dom.XMLDesc(0))
        for iface in root.iter("interface"):
            link = iface.find("link")
            if link is not None:
                link.set("state", "up")
                dom.updateDeviceFlags(ET.tostring(iface, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE)
        return {"copy": t1 - t0, "restore": t2 - t1, "agent": t3 - t2, "personalize": time.monotonic() - t3}

    def destroy(self, lab: Lab, target: str) -> None:
        with self._lock:
            env = self.envs.pop((lab.name, target), None)
        if env is not None:
            for host in env.hosts.values():
                host.close()
                try:
                    host._backend.close()
                except Exception:
                    pass
        match = {"lab": lab.name, "target": target, "worker": self.worker}
        for hv in ([env.hv] if env else self.hvs.values()):
            remove_run(hv, self.run_id, match=match)
            if env is not None:  # what the domains name, and what was made before them
                hv.delete_network(env.network)
                for vol in env.volumes:
                    hv.delete_volume(vol)

    # ---------------------------------------------------------------- readiness

    def _console_tail(self, hv: Hypervisor, spec: L1Spec, lines: int = 15) -> str:
        if hv.local and spec.console and os.path.exists(spec.console):
            try:
                text = Path(spec.console).read_bytes().decode(errors="replace")
                tail = [ln.strip() for ln in text.splitlines() if ln.strip()][-lines:]
                return "console tail:\n  " + "\n  ".join(tail)
            except OSError:
                pass
        return f"(console log {spec.console} on {hv.uri})"

    def _domain_state(self, hv: Hypervisor, spec: L1Spec) -> str:
        import libvirt

        try:
            state, reason = hv.conn.lookupByName(spec.name).state(0)
        except libvirt.libvirtError as exc:
            return f"domain gone ({exc.get_error_message()})"
        return {1: "running", 3: "paused", 4: "shutting down", 5: "shut off", 6: "crashed"}.get(state, f"state {state}")

    def _ready(self, hv: Hypervisor, spec: L1Spec) -> Host:
        """Wait until SSH answers with the harness key, then until the role's daemon answers."""
        address = spec.ip.split("/")[0]
        what = f"{spec.hostname} ({spec.name}, {address})"

        def alive() -> None:
            st = self._domain_state(hv, spec)
            if st != "running":
                raise ProvisioningError(f"{what}: the VM is {st}; {self._console_tail(hv, spec)}")

        def port_open() -> bool:
            alive()
            if not hv.local:
                return True  # the hypervisor's network is not reachable from here: straight to SSH
            with socket.create_connection((address, 22), timeout=2):
                return True

        def state() -> str:
            return f"VM {self._domain_state(hv, spec)}; {self._console_tail(hv, spec)}"

        t0 = time.monotonic()
        wait_until(port_open, timeout=READY_TIMEOUT, what=f"{what}: SSH port open", state=state,
                   interval=0.5, max_interval=1.0, fatal=(ProvisioningError,))
        backend_box: list[TimedParamikoBackend] = []

        def ssh_ok() -> bool:
            alive()
            b = TimedParamikoBackend(address, key_file=str(images.ssh_key()), label=spec.hostname,
                                     connect_timeout=10, host_keys=HostKeyPolicy("ignore"))
            try:
                b.connect()
                if b.run("true", timeout=20).rc != 0:
                    raise HarnessError("`true` failed")
            except Exception:
                b.close()
                raise
            backend_box.append(b)
            return True

        remaining = max(30.0, READY_TIMEOUT - (time.monotonic() - t0))
        wait_until(ssh_ok, timeout=remaining, what=f"{what}: SSH login as root with the harness key", state=state,
                   interval=0.5, max_interval=2.0, fatal=(ProvisioningError,))
        backend = backend_box[0]
        access = Access(
            libvirt_uri=f"qemu+unix:///system?socket={backend.tunnel('libvirt')}",
            docker_url=f"unix://{backend.tunnel('docker')}",
            address=address,
        )
        host = Host(spec.hostname, spec.roles[0], backend, access)
        log.info("%s: SSH after %.1fs", what, time.monotonic() - t0)
        for role in spec.roles:
            daemon, command = ROLE_PROBES[role]

            def answers() -> bool:
                if host.run(command, timeout=30).rc == 0:
                    return True
                _daemon_broken(host, daemon)  # raises ImageBroken: no point waiting for a unit that cannot start
                return False

            wait_until(answers, timeout=DAEMON_TIMEOUT, what=f"{what}: {daemon} answers", interval=0.5,
                       max_interval=2.0, state=lambda: _last_words(host, daemon, command), fatal=(ImageBroken,))
        return host

    def _after_ready(self, host: Host, standin_pairs: list[tuple[str, str]] | None = None) -> None:
        """What the image cannot hold: the harness key (hosts reach each other with it, as container
        hosts do), stand-in images on docker hosts; and KVM for lab guests checked on kvm hosts."""
        import paramiko

        key = images.ssh_key()
        with paramiko.SFTPClient.from_transport(host._backend.transport()) as sftp:  # never on a command line
            try:
                sftp.mkdir("/opt/labharness/ssh", 0o700)
            except OSError:
                pass
            sftp.put(str(key), "/opt/labharness/ssh/id_ed25519")
            sftp.chmod("/opt/labharness/ssh/id_ed25519", 0o600)
        if host.role is Role.DOCKER_HOST:
            # the stand-ins come preloaded on the docker-data disk (/var/lib/docker): check they are there
            pairs = standin_pairs or []
            if pairs:
                import json

                # the engine API through curl, one call: the docker CLI costs seconds under TCG
                res = host.run("curl -sf --max-time 60 --unix-socket /run/docker.sock http://docker/images/json",
                               timeout=120)
                try:
                    tags = {t for img in json.loads(res.stdout) for t in (img.get("RepoTags") or [])}
                except ValueError:
                    tags = set()
                missing = sorted(dst for _, dst in pairs if dst not in tags and f"{dst}:latest" not in tags)
                if res.rc != 0 or missing:
                    mounted = host.run("findmnt -n /var/lib/docker").stdout.strip() or "not mounted"
                    raise ProvisioningError(f"{host.name}: stand-in images missing from /var/lib/docker: "
                                            f"{', '.join(missing[:8]) or res.stderr.strip()[-300:]} "
                                            f"(the docker-data disk: {mounted})")
        if host.role is Role.KVM_HOST:
            accel, why = self.guest_accel
            if accel == "kvm" and host.run("test -c /dev/kvm").rc != 0:
                raise ProvisioningError(f"{host.name}: no /dev/kvm in the L1 host although {why}; "
                                        f"lsmod: {host.run('lsmod | grep kvm').stdout.strip() or 'no kvm module'}")
            if host.run("test -s /opt/labharness/guest/vmlinuz && test -s /opt/labharness/guest/initrd.gz").rc != 0:
                raise ProvisioningError(f"{host.name}: the host image lacks the lab guest (/opt/labharness/guest)")


class ImageBroken(ProvisioningError):
    """The host image cannot give a role what it needs (a daemon missing or failing): no retry helps."""


UNITS = {"dockerd": "docker", "libvirtd": "libvirtd", "glusterd": "glusterd"}


def _daemon_broken(host: Host, daemon: str) -> None:
    """Raise ImageBroken when the role's unit is not installed, or failed for good."""
    unit = UNITS[daemon]
    res = host.run("systemctl show -p LoadState -p ActiveState -p Result -p ExecMainStatus %s.service", unit, timeout=30)
    props = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    if props.get("LoadState") == "not-found":
        raise ImageBroken(f"{host.name}: {daemon} is not installed in the host image ({unit}.service not found)")
    if props.get("ActiveState") == "failed":
        journal = host.run("journalctl -b -u %s.service --no-pager -n 6 -o cat", unit, timeout=30).stdout.strip()
        status = props.get("ExecMainStatus", "?")
        why = " (203/EXEC: its program is missing or not executable)" if status == "203" else ""
        raise ImageBroken(f"{host.name}: {daemon} cannot start in the host image ({unit}.service failed: "
                          f"{props.get('Result', '?')}, exit status {status}{why}): {journal[-600:]}")


def _last_words(host: Host, daemon: str, command: str) -> str:
    unit = UNITS[daemon]
    try:
        res = host.run(command, timeout=20)
        st = host.run("systemctl is-active %s; journalctl -b -u %s --no-pager -n 8 -o cat", unit, unit, timeout=20)
        return f"`{command}` exited {res.rc}: {(res.stderr or res.stdout).strip()[-300:]}; {unit}: {st.stdout.strip()[-800:]}"
    except Exception as exc:
        return f"cannot ask: {exc}"
