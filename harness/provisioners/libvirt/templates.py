"""Saved-state templates: a booted host of one role, saved once, restored as each clone in seconds.

Under TCG a cold boot of an L1 takes a minute or more; restoring a saved state takes seconds. So
where the hypervisor is this machine and the image boots directly (kernel and initrd), the first
run that needs a role boots one host of it, makes it ready and saves it (``virsh save``) as
``warm-<key>.*`` in the pool, kept across runs. Each clone then gets overlays on the template's
disks, its own copy of the saved state with its own domain XML in the header (libvirt refuses a
saved state under another UUID: ``clone_save`` rewrites libvirt's save-file header), is
restored with its NIC link down and made into its host (name, address, peers, roles, MAC) by
the guest agent running ``labharness-personalize``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import ipaddress
import logging
import os
import struct
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import ProvisioningError
from harness.kvm.metadata import METADATA_NS, METADATA_PREFIX
from harness.core.lab import Role
from harness.core.lab import Lab
from harness.provisioners.libvirt.domain import MEMORY_MIB, TB_CACHE_MIB, L1Spec, boot, domain_xml, new_mac
from harness.provisioners.libvirt.hypervisor import OBJ_PREFIX, POOL_DIR, TEMPLATE_KIND, Hypervisor
from harness.provisioners.libvirt.ready import ImageBroken, wait_ready
from harness.provisioners.libvirt.reaping import remove_run
from harness.provisioners.naming import marks
from harness.core.runs import NAME_PREFIX

log = logging.getLogger(__name__)

TEMPLATE_FORMAT = 1  # bump when what a saved template holds changes
TEMPLATE_VCPUS = int(os.environ.get("LABHARNESS_L1_TEMPLATE_VCPUS", "2"))


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


def clone_save(src: str, dst: str, xml: str) -> None:
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


def clone_xml(template_xml: str, spec: L1Spec, overlay: str, data: str | None) -> str:
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
    from harness.provisioners.libvirt.hostimage import image_root

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


class Templates:
    """The templates one provisioner restores its hosts from: each made at most once at a time
    (one thread of this process, one process of this machine: a lock in the pool), and an image
    found broken while making one stays broken for this run (the plugin retries provisioning)."""

    def __init__(self, image, run_id: str, worker: str):
        self.image = image  # the harness.provisioners.libvirt.hostimage.HostImage the hosts boot from
        self.run_id = run_id
        self.worker = worker
        self.timings: dict[str, object] = {}  # for the benchmark: the last template made (boot, save)
        self._locks: dict[str, threading.Lock] = {}
        self._broken: dict[str, ImageBroken] = {}

    def key(self, hv: Hypervisor, role: Role, dtype: str, disk: str, docker_base: str | None) -> str:
        """What a template depends on: the image, the docker-data disk, role, accelerator, size, libvirt's and
        QEMU's versions and how the domain XML is made (a template made otherwise is another one)."""
        h = hashlib.sha256()
        for part in (TEMPLATE_FORMAT, self.image.recipe or f"{disk}:{os.path.getsize(disk)}", docker_base or "",
                     role.value, dtype, MEMORY_MIB, TEMPLATE_VCPUS, TB_CACHE_MIB,
                     hv.conn.getVersion(), hv.conn.getLibVersion(), domain_xml.__doc__):
            h.update(f"{part}\n".encode())
        return h.hexdigest()[:16]

    def get(self, hv: Hypervisor, role: Role, network: str, subnet: ipaddress.IPv4Network, lab: Lab, target: str,
            dtype: str, disk: str, kernel: str, initrd: str, docker_base: str | None) -> Template:
        """A booted host of ``role``, saved (``virsh save``) once per image, role and hypervisor.

        Kept on the hypervisor (``warm-<key>.*`` in the pool) across runs: a clone is restored
        from it in seconds where a boot takes a minute or more under TCG. The first run that needs
        one pays a boot and the save.
        """
        key = self.key(hv, role, dtype, disk, docker_base)
        if key in self._broken:  # the plugin retries provisioning; a broken image stays broken
            raise self._broken[key]
        base = f"{POOL_DIR}/warm-{key}"
        tpl = Template(key=key, role=role, save=f"{base}.save", disk=f"{base}.qcow2",
                       data=f"{base}.docker.qcow2" if docker_base else None, xml="")
        with self._locks.setdefault(key, threading.Lock()), _FileLock(f"{POOL_DIR}/.warm-{key}.lock"):
            if os.path.exists(f"{base}.ok") and os.path.exists(tpl.save):
                return dataclasses.replace(tpl, xml=hv.conn.saveImageGetXMLDesc(tpl.save, 0))
            t0 = time.monotonic()
            for suffix in (".qcow2", ".docker.qcow2", ".save", ".console.log", ".ok"):
                hv.delete_volume(f"warm-{key}{suffix}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{base}{suffix}")
            ip = f"{subnet.network_address + 250}"
            name = f"{NAME_PREFIX}{self.run_id}-warm-{key[:8]}"
            spec = L1Spec(
                name=name, hostname="lh-template", roles=(role,), domain_type=dtype, disk=f"warm-{key}.qcow2",
                kernel=kernel, initrd=initrd, mac=new_mac(), ip=f"{ip}/24", gateway=str(subnet.network_address + 1),
                peers=(("lh-template", ip),), network=network, memory_mib=MEMORY_MIB, vcpus=TEMPLATE_VCPUS,
                console=f"{base}.console.log", data_disk=f"warm-{key}.docker.qcow2" if docker_base else None,
                metadata=(*marks(self.run_id, self.worker, lab.name, target, "lh-template").items(),
                          ("kind", TEMPLATE_KIND), ("role", role.value), ("network", network), ("template", key)))
            host = None
            try:
                boot(hv, spec, disk, docker_base, "template")
                host = wait_ready(hv, spec)
                t_ready = time.monotonic()
                # a small saved state restores faster: drop the page cache (it refills from the overlays)
                host.run("sync; echo 3 > /proc/sys/vm/drop_caches", timeout=120)
                host.disconnect()
                hv.conn.lookupByName(name).save(tpl.save)
                Path(f"{base}.ok").write_text(f"{self.image.recipe} {role.value} {dt_now()}\n")
                hv.refresh()
            except BaseException as exc:
                if host is not None:
                    host.disconnect()
                remove_run(hv, self.run_id, match={"template": key})
                for suffix in (".qcow2", ".docker.qcow2", ".save", ".console.log"):
                    hv.delete_volume(f"warm-{key}{suffix}")
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(f"{base}{suffix}")
                if isinstance(exc, ImageBroken):
                    self._broken[key] = exc
                if isinstance(exc, Exception) and not isinstance(exc, ProvisioningError):
                    raise ProvisioningError(f"{hv.uri}: making the saved {role.value} template failed: {exc}") from exc
                raise
            _prune_templates(hv, keep=key, role=role)
            log.info("%s: saved %s template %s: booted in %.1fs, saved in %.1fs (%d MiB)", hv.uri, role.value, key,
                     t_ready - t0, time.monotonic() - t_ready, os.path.getsize(tpl.save) >> 20)
            self.timings = {"role": role.value, "boot": t_ready - t0, "save": time.monotonic() - t_ready}
            return dataclasses.replace(tpl, xml=hv.conn.saveImageGetXMLDesc(tpl.save, 0))

    def restore(self, hv: Hypervisor, spec: L1Spec, tpl: Template) -> dict[str, float]:
        """A clone of the template: overlays on its disks, its saved state restored under this host's
        name, disks and network (NIC link down), then made into this host by the guest agent."""
        import libvirt

        from harness.kvm.agent import GuestAgent
        from harness.kvm.errors import GuestError

        t0 = time.monotonic()
        overlay = hv.overlay(spec.disk, tpl.disk)
        data = hv.overlay(spec.data_disk, tpl.data) if spec.data_disk and tpl.data else None
        xml = clone_xml(tpl.xml, spec, overlay, data)
        clone = f"{POOL_DIR}/{OBJ_PREFIX}{self.run_id}_{spec.name}.save"
        try:
            clone_save(tpl.save, clone, xml)
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
