"""The lab guest's image: its kernel and initrd, found in the harness's cache.

The guest is a Debian 12 cloud kernel plus a busybox initramfs with qemu-guest-agent and an SSH
server (dropbear, root / ``123456`` like the course's VMs are assumed to have), built by
``images/guest/build.sh``. It boots to ``LABGUEST up`` on its serial console in a few seconds
under TCG with 128 MiB, which is what makes real libvirt labs affordable on a 2-core CI box
without KVM. Checks talk to it through the QEMU guest agent (``harness.kvm.agent``: a
virtio-serial channel that libvirt proxies), so they need no network path, no SSH keys and no
guest credentials. Checks that must also read VMs the course made (no agent) use
``harness.kvm.guest_view.GuestView``: the agent when it answers, else SSH through the KVM host.

Nothing in the kvm room keeps global state: every object carries what it needs, so parallel
tests can use several guests and connections at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.core.runs import cache_dir as harness_cache_dir
from harness.kvm.errors import GuestImageMissing

BUILD_SCRIPT = "images/guest/build.sh"


@dataclass(frozen=True)
class GuestImage:
    """Kernel + initrd of the lab guest, as built by ``images/guest/build.sh``.

    ``version`` is the recipe hash (``VERSION``), recorded so a report can say which guest
    a run used; ``kernel_release`` names the guest kernel (e.g. ``6.1.0-56-cloud-amd64``).
    """

    kernel: Path
    initrd: Path
    version: str = ""
    kernel_release: str = ""

    @classmethod
    def from_cache(cls, cache_dir: str | os.PathLike[str] | None = None) -> GuestImage:
        """Load the image from ``<cache_dir>/guest/`` (cache_dir defaults to the harness's cache,
        ``harness.core.runs.cache_dir()``: $LABHARNESS_CACHE, read at call time).

        A directory that itself holds ``vmlinuz`` is accepted too. Raises
        :class:`GuestImageMissing` naming the build script, because the only fix is to run it.
        """
        root = Path(cache_dir) if cache_dir is not None else harness_cache_dir()
        guest_dir = root if (root / "vmlinuz").exists() and not (root / "guest").is_dir() else root / "guest"
        kernel, initrd = guest_dir / "vmlinuz", guest_dir / "initrd.gz"
        missing = [str(p) for p in (kernel, initrd) if not p.is_file() or p.stat().st_size == 0]
        if missing:
            raise GuestImageMissing(
                f"lab guest image not built: missing {', '.join(missing)}; run "
                f"`LABHARNESS_CACHE={root} {BUILD_SCRIPT}` (downloads the Debian cloud kernel "
                f"and qemu-guest-agent .debs, ~30 MB, once)"
            )

        def read(name: str) -> str:
            p = guest_dir / name
            return p.read_text().strip() if p.is_file() else ""

        return cls(kernel, initrd, read("VERSION"), read("KERNEL_RELEASE"))
