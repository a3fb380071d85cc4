"""One libvirt URI as the provisioner sees it: its connection, storage pool, networks and L1 domains.

A ``Hypervisor`` connects on first use (within ``OPEN_TIMEOUT``: a remote URI's handshake has no
deadline of its own) and reconnects when the connection died. It knows what the L1 hosts get
there (KVM or TCG, nested or not), keeps the overlays in the ``labharness`` dir pool (uploading
the host image once per content where the hypervisor is remote), makes isolated networks, and
lists the L1 domains this package made, by their ``<metadata>`` kind. Everything above it in
``harness.provisioners.libvirt`` goes through it; it imports nothing of theirs.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import random
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from harness.core.errors import ProvisioningError, UsageError
from harness.kvm.metadata import METADATA_NS, read_metadata
from harness.hosts.libvirt_open import LibvirtOpenTimeout, open_libvirt

log = logging.getLogger(__name__)

DEFAULT_URI = "qemu:///system"
KIND = "l1-host"  # <lh:run kind=...>: the only domains this package ever removes (and templates being made)
TEMPLATE_KIND = "l1-template"
POOL = "labharness"
POOL_DIR = "/var/lib/libvirt/images/labharness"
OBJ_PREFIX = "lh_"  # networks and volumes: lh_<run id>_<rest> (run ids have no "_")
SUBNETS = ipaddress.ip_network("10.211.0.0/16")  # one /24 per environment, the first free one


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


# --------------------------------------------------------------------------- a hypervisor


class Hypervisor:
    """One libvirt URI: its connection, its storage pool for overlays, its copy of the image."""

    def __init__(self, uri: str, local_accel: tuple[str, str] | None = None,
                 accel_probe: Callable[[], tuple[str, str]] | None = None):
        self.uri = uri
        self.local = is_local(uri)
        self.local_accel = local_accel  # the KVM boot probe's verdict for this machine, if made already
        self.accel_probe = accel_probe  # the KVM boot probe itself, run on first need when no verdict was given
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
            # a real boot probe: /dev/kvm may exist and still hang every guest (PVM)
            kind, why = self.local_accel or (self.accel_probe() if self.accel_probe else
                                             ("tcg", "no KVM boot probe given for this machine"))
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

    def image_paths(self, image) -> tuple[str, str | None, str | None]:
        """(disk, kernel, initrd) of a host image (``harness.provisioners.libvirt.hostimage.HostImage``) as paths on this hypervisor."""
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
            root = ET.Element("network")
            ET.SubElement(root, "name").text = name
            ET.SubElement(root, "bridge", {"stp": "off", "delay": "0"})
            ET.SubElement(root, "dns", {"enable": "no"})
            ET.SubElement(root, "ip", {"address": str(gw), "prefix": "24"})
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


def check_readable_by_qemu(image) -> None:
    """libvirt runs QEMU as its own user: a host image's files and every directory above them must be
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
