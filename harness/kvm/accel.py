"""Does KVM really work here? Boot the lab guest under KVM once and see.

``/dev/kvm`` existing proves little: on this kind of CI machine it is backed by PVM and a
standard kernel hangs right after the BIOS (see ``probe_kvm``). So the probe boots the real
guest kernel with ``-accel kvm`` and waits for its init to print a line; only that counts as
"kvm". The answer is cached per host boot (kernel release + boot_id): KVM support cannot change
without a reboot, and the probe costs up to ``timeout`` seconds when KVM hangs.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import selectors
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from harness.core.runs import cache_dir as harness_cache_dir
from harness.kvm.console import UP_MARKER

PROBE_MARKER = b"LABGUEST probe ok"
_KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00)


@dataclass(frozen=True)
class Accel:
    """The accelerator to give lab domains, and why (the reason goes into reports)."""

    kind: Literal["kvm", "tcg"]
    reason: str

    @property
    def domain_type(self) -> Literal["kvm", "qemu"]:
        """The libvirt ``<domain type=...>`` for this accelerator."""
        return "kvm" if self.kind == "kvm" else "qemu"


def _cache_file(cache_dir: str | os.PathLike[str] | None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else harness_cache_dir()
    return root / "accel.json"


def _host_key() -> str:
    """Kernel release + boot id: what KVM support depends on, and nothing that changes sooner."""
    try:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot_id = "unknown-boot"
    return f"{os.uname().release}/{boot_id}"


def kvm_device_problem(path: str = "/dev/kvm") -> str | None:
    """Why ``path`` cannot be used, or None when it opens and answers KVM_GET_API_VERSION."""
    if not os.path.exists(path):
        return f"{path} does not exist (no KVM module, or not passed into this container/VM)"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"{path} cannot be opened read-write: {exc.strerror} (errno {exc.errno})"
    try:
        version = fcntl.ioctl(fd, _KVM_GET_API_VERSION)
    except OSError as exc:
        return f"{path} opens but KVM_GET_API_VERSION fails: {exc.strerror}"
    finally:
        os.close(fd)
    if version != 12:
        return f"{path} reports KVM API version {version}, expected 12"
    return None


def boot_probe(
    kernel: str | os.PathLike[str],
    initrd: str | os.PathLike[str],
    *,
    accel: str = "kvm",
    timeout: float = 20.0,
    qemu: str = "qemu-system-x86_64",
) -> tuple[bool, str]:
    """Boot the guest under ``-accel <accel>`` and wait for its init's line: (reached, detail).

    qemu is killed in every case. ``accel='tcg'`` exists so tests can prove the probe itself
    works on machines where KVM does not.
    """
    argv = [
        qemu, "-accel", accel, "-m", "128", "-smp", "1",
        "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none",
        "-net", "none", "-kernel", str(kernel), "-initrd", str(initrd),
        # /probe prints "LABGUEST probe ok" and powers off; /init's "LABGUEST up" counts too
        "-append", "console=ttyS0 rdinit=/probe quiet panic=-1",
    ]  # fmt: skip
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as exc:
        return False, f"cannot run {qemu}: {exc}"
    out = bytearray()
    sel = selectors.DefaultSelector()
    try:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = start + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, (
                    f"guest hung under -accel {accel}: no '{PROBE_MARKER.decode()}' from the guest "
                    f"kernel within {timeout:g}s; console: {_tail(out)}"
                )
            if sel.select(min(remaining, 0.5)):
                try:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                except BlockingIOError:
                    continue
                if chunk:
                    out += chunk
                    if PROBE_MARKER in out or UP_MARKER.encode() in out:
                        took = time.monotonic() - start
                        return True, f"guest kernel reached userspace under -accel {accel} in {took:.1f}s"
                    continue
                # EOF: qemu exited
                rc = proc.wait(timeout=5)
                return False, f"qemu -accel {accel} exited with {rc} before the guest reached userspace: {_tail(out)}"
    finally:
        sel.close()
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if proc.stdout is not None:
            proc.stdout.close()


def _tail(out: bytes | bytearray, n: int = 400) -> str:
    text = out.decode("utf-8", "replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r", "", text)
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return (text[-n:] if text else "(no output)")


def probe_kvm(
    kernel: str | os.PathLike[str],
    initrd: str | os.PathLike[str],
    timeout: float = 20.0,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    qemu: str = "qemu-system-x86_64",
    kvm_device: str = "/dev/kvm",
) -> Accel:
    """Decide between KVM and TCG for lab guests by trying KVM for real.

    No usable ``kvm_device`` → tcg with the reason. Otherwise boot ``kernel``/``initrd`` (the lab
    guest from images/guest/build.sh, whose ``/probe`` init prints ``LABGUEST probe ok``) under
    ``-accel kvm`` and wait up to ``timeout`` seconds; qemu is killed in every case. The
    result is stored in ``<cache_dir>/accel.json`` (cache_dir defaults to ``harness.core.runs.cache_dir()``)
    keyed by host kernel release + boot_id and reused while that key holds.
    """
    key = _host_key()
    cache = _cache_file(cache_dir)
    # parallel test workers probe once: the others wait on the lock, then read the cache
    lock_fd: int | None = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(cache.parent / ".accel.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
    except OSError:
        pass  # no lock: at worst two probes
    try:
        return _probe_locked(kernel, initrd, timeout, cache, key, use_cache, qemu, kvm_device)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def _probe_locked(
    kernel: str | os.PathLike[str],
    initrd: str | os.PathLike[str],
    timeout: float,
    cache: Path,
    key: str,
    use_cache: bool,
    qemu: str,
    kvm_device: str,
) -> Accel:
    if use_cache:
        try:
            data = json.loads(cache.read_text())
            if data.get("key") == key and data.get("kind") in ("kvm", "tcg"):
                return Accel(data["kind"], data["reason"])
        except (OSError, ValueError, KeyError, TypeError):
            pass

    problem = kvm_device_problem(kvm_device)
    if problem is not None:
        result = Accel("tcg", problem)
    else:
        ok, detail = boot_probe(kernel, initrd, accel="kvm", timeout=timeout, qemu=qemu)
        result = Accel("kvm" if ok else "tcg", detail)

    try:
        payload = {**asdict(result), "key": key, "probed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".accel.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1)
        os.replace(tmp, cache)
    except OSError:
        pass  # an unwritable cache only costs a re-probe next time
    return result


def guest_accel() -> tuple[str, str]:
    """("kvm" | "tcg", why) for guests on kvm-hosts: KVM only when a probe really booted one."""
    try:
        from harness.core.artefacts import guest_dir

        res = probe_kvm(guest_dir() / "vmlinuz", guest_dir() / "initrd.gz")
        return res.kind, res.reason
    except Exception as exc:  # no guest image yet, or the probe itself broke: TCG is always safe
        return "tcg", f"KVM probe not run: {exc}"
