"""Where the artefacts built by ``scripts/setup.sh`` live, and how to tell when one is missing.

Images are built once per machine (``images/build.sh``, ``images/guest/build.sh``) and
reused by every run; a run never builds, it only checks they are there and says which
command builds them.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.runs import cache_dir

REPO = Path(__file__).resolve().parents[1]
KVM_HOST_IMAGE = "labharness/kvm-host:latest"
DOCKER_HOST_IMAGE = "labharness/docker-host:latest"


def standins_tar() -> Path:
    return cache_dir() / "standins.tar"


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


def require(path: Path, what: str) -> Path:
    if not path.exists():
        raise HarnessError(f"{what} is missing at {path}: run scripts/setup.sh first")
    return path
