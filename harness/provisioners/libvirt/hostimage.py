"""Host images: the nested KVM/Docker hosts (L1 VMs) the ``libvirt`` provisioner boots.

``labctl image build`` builds a Debian 12 host image offline (Debian mirror only) with
``images/hostimage/build.sh``: debootstrap, the packages of ``images/hostimage/packages.txt``
(libvirt, QEMU, virt-install, docker.io, GlusterFS, NFS, sshd, ...), the Debian cloud kernel
(``apt-get download`` + ``dpkg-deb -x``, never installed here) with its modules in the image,
a busybox initrd, the harness's SSH key for root and the lab guest under
``/opt/labharness/guest``. The result is ``disk.qcow2`` + ``vmlinuz`` + ``initrd.img`` +
``manifest.json`` in ``$LABHARNESS_CACHE/hostimage/<recipe hash>/``, where the hash covers
everything that goes into the image (the builder's files, the package list, the kernel package,
the lab guest's version, the public key, the mirror). A directory with a manifest is never
rebuilt; overlays may sit on it while it exists, so it is never changed in place either.

``labctl validate --image IMAGE`` runs the labs on hosts booted from IMAGE (``validate_pytest_args``).
IMAGE is a built image's directory (or its manifest or disk), or ``latest``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError, UsageError
from harness.core.runs import cache_dir

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[3]
SOURCE_DIR = REPO / "images" / "hostimage"
BUILD_SCRIPT = SOURCE_DIR / "build.sh"
KERNEL_META = "linux-image-cloud-amd64"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SIZE = "8G"
MANIFEST = "manifest.json"
FORMAT = 1  # of the image directory and its manifest (what the provisioner expects to find)


def image_root() -> Path:
    """Where images are built and cached ($LABHARNESS_HOSTIMAGE_DIR, default $LABHARNESS_CACHE/hostimage)."""
    return Path(os.environ.get("LABHARNESS_HOSTIMAGE_DIR") or cache_dir() / "hostimage")


def _ssh_pubkey() -> Path:
    from harness.core.artefacts import ssh_key

    return Path(f"{ssh_key()}.pub")


@dataclass(frozen=True)
class HostImage:
    """A built host image: its disk (qcow2), the kernel and initrd it boots with, what it holds."""

    dir: Path
    disk: Path
    kernel: Path
    initrd: Path
    recipe: str = ""
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        """How reports name the image: its recipe hash and what it was built with."""
        m = self.manifest
        omit = f", without {', '.join(m['omit'])}" if m.get("omit") else ""
        kernel = f", kernel {m['kernel_release']}" if m.get("kernel_release") else ""
        return f"{self.disk} (recipe {self.recipe[:16] or '?'}{kernel}{omit})"

    @property
    def direct_boot(self) -> bool:
        return self.kernel.is_file() and self.initrd.is_file()

    @classmethod
    def load(cls, ref: str | os.PathLike[str]) -> "HostImage":
        """An image by its directory, manifest, disk, or ``latest`` (the newest built one)."""
        if str(ref) == "latest":
            built = sorted(image_root().glob(f"*/{MANIFEST}"), key=lambda p: p.stat().st_mtime)
            if not built:
                raise UsageError(f"no host image has been built under {image_root()}: run `labctl image build`")
            ref = built[-1].parent
        p = Path(ref).expanduser().resolve()
        if p.is_file() and p.name == MANIFEST:
            p = p.parent
        if p.is_dir():
            d = p
            disk = d / "disk.qcow2"
        elif p.is_file():
            d, disk = p.parent, p
        else:
            raise UsageError(f"host image {ref}: no such file or directory")
        manifest: dict[str, Any] = {}
        if (d / MANIFEST).is_file():
            try:
                manifest = json.loads((d / MANIFEST).read_text())
            except (OSError, ValueError) as exc:
                raise UsageError(f"host image {ref}: unreadable {d / MANIFEST}: {exc}") from None
        if not disk.is_file():
            raise UsageError(f"host image {ref}: no disk at {disk}")
        return cls(dir=d, disk=disk, kernel=d / "vmlinuz", initrd=d / "initrd.img",
                   recipe=manifest.get("recipe", ""), manifest=manifest)

    def describe(self) -> dict[str, str]:
        """For RunResult.environment and logs."""
        out = {"host_image": self.name}
        if not self.direct_boot:
            out["host_image_boot"] = "its own boot loader (no kernel/initrd next to the disk)"
        return out


# --------------------------------------------------------------------------- the recipe


def _apt_cache_show(*pkgs: str) -> str:
    res = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs], capture_output=True, text=True, timeout=60)
    return res.stdout


def resolve_kernel() -> tuple[str, str]:
    """(package, version) of the kernel the cloud metapackage's candidate depends on."""
    def parse() -> tuple[str, str] | None:
        m = re.search(r"^Depends:.*?(linux-image-[0-9][^ ,]*-cloud-amd64) \(= ([^)]+)\)", _apt_cache_show(KERNEL_META), re.M)
        return (m.group(1), m.group(2)) if m else None

    found = parse()
    if found is None:
        log.info("apt lists know no %s: apt-get update", KERNEL_META)
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
        found = parse()
    if found is None:
        raise HarnessError(f"cannot resolve the kernel package of {KERNEL_META} with apt-cache (no Debian apt lists?)")
    return found


def kernel_deb(pkg: str, version: str) -> Path:
    """The kernel .deb, from the cache or ``apt-get download`` (the lab guest's copy is reused)."""
    debs = image_root() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    ver = version.split(":", 1)[-1]
    name = f"{pkg}_{ver}_amd64.deb"
    for d in (debs, cache_dir() / "guest" / "debs"):
        if (d / name).is_file():
            if d != debs:
                shutil.copy2(d / name, debs / name)
            return debs / name
    res = subprocess.run(["apt-get", "download", "-qq", "-o", "APT::Sandbox::User=root", f"{pkg}={version}"],
                         cwd=debs, capture_output=True, text=True, timeout=600)
    if res.returncode != 0 or not (debs / name).is_file():
        raise HarnessError(f"apt-get download {pkg}={version} failed: {(res.stderr or res.stdout).strip()[-500:]}")
    return debs / name


def packages(omit: tuple[str, ...] = ()) -> list[str]:
    listed = []
    for line in (SOURCE_DIR / "packages.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            listed.append(line)
    unknown = sorted(set(omit) - set(listed))
    if unknown:
        raise UsageError(f"--omit {', '.join(unknown)}: not in images/hostimage/packages.txt")
    return [p for p in listed if p not in omit]


NOT_IN_IMAGE = ("README.md", "docker-data.sh")  # documentation; the docker-data disk has its own key


def _files_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(("~", ".pyc")) and p.relative_to(root).as_posix() not in NOT_IN_IMAGE:
            h.update(f"{p.relative_to(root).as_posix()} {p.stat().st_mode & 0o777:o}\n".encode())
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def _guest_version() -> str:
    v = cache_dir() / "guest" / "VERSION"
    if not v.is_file():
        raise HarnessError(f"the lab guest is not built ({v} missing): run images/guest/build.sh first")
    return v.read_text().strip()


def recipe(omit: tuple[str, ...] = (), size: str = DEFAULT_SIZE, mirror: str | None = None) -> dict[str, Any]:
    """Everything that goes into an image; its hash names the image's directory."""
    mirror = mirror or os.environ.get("LABHARNESS_MIRROR") or DEFAULT_MIRROR
    pkg, ver = resolve_kernel()
    pub = _ssh_pubkey()
    if not pub.is_file():
        raise HarnessError(f"the harness's SSH key is missing ({pub}): run scripts/setup.sh first")
    r = {
        "format": FORMAT,
        "builder": _files_digest(SOURCE_DIR),
        "packages": packages(tuple(omit)),
        "omit": sorted(omit),
        "kernel": f"{pkg}={ver}",
        "guest": _guest_version(),
        "pubkey": hashlib.sha256(pub.read_bytes()).hexdigest(),
        "mirror": mirror,
        "size": size,
    }
    r["recipe"] = hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()
    return r


def _stage1_key(mirror: str) -> str:
    """The debootstrap stage depends on build.sh's include list and the mirror only."""
    text = BUILD_SCRIPT.read_text()
    include = re.search(r"^STAGE1_INCLUDE=(.*)$", text, re.M)
    block = text[text.index("# ---------------------------------------------------------------- stage 1"):
                 text.index("# ---------------------------------------------------------------- stage 2")]
    return hashlib.sha256(f"{include.group(1) if include else ''}\n{mirror}\n{block}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- building


def build(omit: tuple[str, ...] = (), force: bool = False, size: str = DEFAULT_SIZE,
          mirror: str | None = None, say=lambda msg: log.info("%s", msg)) -> HostImage:
    """Build the image for this recipe unless it is in the cache; return it."""
    t0 = time.monotonic()
    r = recipe(tuple(omit), size, mirror)
    out = image_root() / r["recipe"][:16]
    root = image_root()
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # libvirt's qemu user must traverse to the disks
    with open(root / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another image build (lock {root / '.lock'})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and (out / MANIFEST).is_file():
            img = HostImage.load(out)
            say(f"cached: {out} ({time.monotonic() - t0:.1f} s)")
            return img
        pkg, ver = r["kernel"].split("=", 1)
        deb = kernel_deb(pkg, ver)
        env = dict(os.environ,
                   LH_CACHE=str(root), LH_MIRROR=r["mirror"], LH_PACKAGES=" ".join(r["packages"]),
                   LH_STAGE1=str(root / f"stage1-{_stage1_key(r['mirror'])}.tar"),
                   LH_KERNEL_DEB=str(deb), LH_GUEST_DIR=str(cache_dir() / "guest"),
                   LH_PUBKEY=str(_ssh_pubkey()), LH_SIZE=size)
        say(f"building {out} (recipe {r['recipe'][:16]}{', without ' + ', '.join(omit) if omit else ''})")
        proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout.splitlines():
            say(line)
        if proc.returncode != 0:
            raise HarnessError(f"building the host image failed (exit {proc.returncode}); log: {out}.tmp/build.log")
        manifest = dict(r, built=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                        build_seconds=round(time.monotonic() - t0, 1),
                        kernel_release=(out / "kernel-release").read_text().strip())
        tmp = out / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        tmp.rename(out / MANIFEST)
        say(f"built: {out} in {time.monotonic() - t0:.1f} s")
        return HostImage.load(out)


# --------------------------------------------------------------------------- docker hosts' data disk


@dataclass(frozen=True)
class DockerData:
    """/var/lib/docker with the stand-ins loaded (ext4 in a qcow2): docker hosts' second disk."""

    dir: Path
    disk: Path
    key: str


def standins(course_images: tuple[str, ...] | None = None) -> tuple[Path, list[tuple[str, str]]]:
    """(tar, [(stand-in, course name)]) for the course images a lab uses (every stand-in when None)."""
    from harness.core import artefacts

    pairs = artefacts.standins_for(course_images)  # a tar per set of stand-ins, saved from this machine's docker
    return artefacts.standins_tar(pairs), pairs


def docker_data(tar: Path | None = None, pairs: list[tuple[str, str]] | None = None, force: bool = False,
                say=lambda msg: log.info("%s", msg)) -> DockerData:
    """The docker-data disk holding these stand-ins (all when not given), built once (native ``docker load``)."""
    if tar is None or pairs is None:
        tar, pairs = standins(None)
    st = tar.stat()
    h = hashlib.sha256()
    h.update((SOURCE_DIR / "docker-data.sh").read_bytes())
    h.update(f"{tar.resolve()} {st.st_size} {st.st_mtime_ns}\n".encode())
    h.update("".join(f"{src} {dst}\n" for src, dst in sorted(pairs)).encode())
    key = h.hexdigest()[:16]
    root = image_root() / "docker-data"
    root.mkdir(parents=True, exist_ok=True)
    out = root / key
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and (out / "docker.qcow2").is_file():
            os.utime(out)  # recently used: kept by the pruning below
            return DockerData(out, out / "docker.qcow2", key)
        t0 = time.monotonic()
        say(f"docker-data: loading {tar} into a private dockerd for {out}")
        mapfile = root / f".map-{key}"
        mapfile.write_text("".join(f"{src} {dst}\n" for src, dst in pairs))
        try:
            proc = subprocess.run(["bash", str(SOURCE_DIR / "docker-data.sh"), str(out), str(tar), str(mapfile)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        finally:
            mapfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise HarnessError(f"building the docker-data disk failed: {proc.stdout.strip()[-1500:]}")
        week = time.time() - 7 * 86400  # sets of stand-ins unused for a week: running hosts keep their files open
        for old in root.iterdir():
            if old.is_dir() and old != out and not old.name.startswith(".") and old.stat().st_mtime < week:
                shutil.rmtree(old, ignore_errors=True)
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else str(out)
        say(f"docker-data: {last} in {time.monotonic() - t0:.1f} s")
        return DockerData(out, out / "docker.qcow2", key)


# --------------------------------------------------------------------------- validating on it


def validate_pytest_args(image: str, hypervisors: list[str] | None) -> list[str]:
    """The pytest options that make a validate run use hosts booted from ``image``."""
    img = HostImage.load(image)
    args = ["--mode=validate", "--provisioner=libvirt", f"--host-image={img.dir if img.manifest else img.disk}"]
    for uri in hypervisors or []:
        args.append(f"--hypervisor={uri}")
    return args
