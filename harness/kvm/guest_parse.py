"""Reading a guest's state from what its shell prints: its interfaces, its online CPUs, its mount points."""

from __future__ import annotations

from harness.kvm.results import Interface

#: MACs from sysfs (always there) and addresses from `ip -o addr` (CentOS 7 and busybox alike)
INTERFACES_SCRIPT = (
    'for d in /sys/class/net/*; do [ -e "$d/address" ] && echo "LINK ${d##*/} $(cat "$d/address")"; done; '
    "ip -o addr show"
)


def parse_interfaces(text: str) -> list[Interface]:
    """:data:`INTERFACES_SCRIPT`'s output as :class:`Interface` objects, in link order."""
    macs: dict[str, str] = {}
    addrs: dict[str, list[str]] = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "LINK":
            macs[f[1]] = f[2].lower()
            addrs.setdefault(f[1], [])
        elif len(f) >= 4 and f[0].rstrip(":").isdigit() and f[2] in ("inet", "inet6"):
            name = f[1].split("@")[0]
            addrs.setdefault(name, []).append(f[3])
    return [Interface(n, macs.get(n, ""), a) for n, a in addrs.items()]


def count_cpu_list(text: str) -> int:
    """Size of a kernel CPU list such as ``0-1,3``."""
    n = 0
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def unoctal(s: str) -> str:
    """A /proc/mounts field with its octal escapes (``\\040`` for a space) undone."""
    return s.encode().decode("unicode_escape") if "\\" in s else s
