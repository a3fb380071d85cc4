"""Where the artefacts built by ``scripts/setup.sh`` live, and how to tell when one is missing.

Images are built once per machine (``images/build.sh``, ``images/guest/build.sh``) and
reused by every run; a run never builds, it only checks they are there and says which
command builds them.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.errors import HarnessError
from harness.core.runs import cache_dir

REPO = Path(__file__).resolve().parents[2]
KVM_HOST_IMAGE = "labharness/kvm-host:latest"
DOCKER_HOST_IMAGE = "labharness/docker-host:latest"


def ssh_key() -> Path:
    """The private key of the harness, trusted by root on every host container it makes."""
    return cache_dir() / "ssh" / "id_ed25519"


def guest_dir() -> Path:
    return cache_dir() / "guest"


def standin_tags() -> list[tuple[str, str]]:
    """(built image, name the course uses) pairs, e.g. ('labharness/standin-nginx:latest', 'nginx:latest')."""
    pairs = []
    for line in (REPO / "images" / "standins" / "map.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            src, dst = line.split()
            pairs.append((src, dst))
    return pairs


BASE_IMAGE = "labharness/debian:bookworm"


def standins_for(course_names: tuple[str, ...] | None) -> list[tuple[str, str]]:
    """(stand-in, course name) pairs for the course images asked for (all when None)."""
    pairs = standin_tags()
    if course_names is None:
        return pairs
    known = {dst for _, dst in pairs}
    unknown = sorted(set(course_names) - known)
    if unknown:
        raise HarnessError(f"no stand-in for {', '.join(unknown)}: add it to images/standins/map.txt")
    return [(src, dst) for src, dst in pairs if dst in course_names]


def standins_tar(pairs: list[tuple[str, str]]) -> Path:
    """A ``docker save`` of the base image and these stand-ins, made once per set of image ids.

    Docker hosts load only what their lab uses: loading every stand-in costs tens of seconds
    per host. Written atomically under a lock, so parallel workers share one file.
    """
    import fcntl
    import hashlib
    import subprocess

    sources = sorted({BASE_IMAGE, *(src for src, _ in pairs)})
    ids = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", *sources],
                         capture_output=True, text=True, timeout=60)
    if ids.returncode != 0:
        raise HarnessError(f"stand-in images missing ({ids.stderr.strip()}): run scripts/setup.sh")
    key = hashlib.sha256(ids.stdout.encode()).hexdigest()[:16]
    out = cache_dir() / "standins" / f"{key}.tar"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            tmp = out.with_suffix(f".tmp{os.getpid()}")
            res = subprocess.run(["docker", "save", "-o", str(tmp), *sources], capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                tmp.unlink(missing_ok=True)
                raise HarnessError(f"docker save of the stand-ins failed: {res.stderr.strip()}")
            tmp.chmod(0o644)
            tmp.rename(out)
    return out


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise HarnessError(f"{what} is missing at {path}: run scripts/setup.sh first")
    return path
