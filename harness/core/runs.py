"""Run ids, ownership labels and the liveness lock that lets the reaper tell dead runs apart.

Everything a run creates carries its run id (a Docker label, a libvirt <metadata> element, a
name prefix). A live run holds an exclusive ``flock`` on ``<lock dir>/<run id>.lock`` for its
whole life; the lock vanishes with the process, even on SIGKILL, so "is this run dead?" is
answered without trusting pids.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import secrets
from pathlib import Path

LABEL_RUN = "org.labharness.run"
LABEL_LAB = "org.labharness.lab"
LABEL_HOST = "org.labharness.host"
LABEL_TARGET = "org.labharness.target"
LABEL_WORKER = "org.labharness.worker"  # the xdist worker (gw0, ...) or empty
NAME_PREFIX = "lh-"
RUN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,40}$")


def lock_dir() -> Path:
    return Path(os.environ.get("LABHARNESS_LOCK_DIR", "/run/labharness"))


def cache_dir() -> Path:
    """Where built artefacts, keys and locks live: ``$LABHARNESS_CACHE`` (unset or empty:
    /var/cache/labharness, as the shell scripts read it), read at call time."""
    return Path(os.environ.get("LABHARNESS_CACHE") or "/var/cache/labharness")


def new_run_id() -> str:
    """Sortable and short enough for container and interface names: ``1122-1305-a1b2``."""
    now = dt.datetime.now(dt.timezone.utc)
    return f"{now:%m%d-%H%M}-{secrets.token_hex(2)}"


def valid_run_id(run_id: str) -> bool:
    return bool(RUN_ID_RE.match(run_id))


def unit_run_id(run_id: str, index: int, attempt: int) -> str:
    """The run id a worker gives one unit (target x lab) of a distributed run: ``<run>-u<index>a<attempt>``."""
    return f"{run_id}-u{index}a{attempt}"


def of_run(candidate: str, run_id: str) -> bool:
    """True for ``run_id`` itself and for the run ids of its units on workers."""
    return candidate == run_id or re.fullmatch(re.escape(run_id) + r"-u\d+a\d+", candidate) is not None


def runs_to_reap(found: set[str], run_id: str | None) -> list[str]:
    """Which runs ``labctl reap`` removes: with ``run_id``, that run and its units, alive or not
    (the trainer named it); without, every run in ``found`` that is dead."""
    if run_id:
        return sorted({run_id} | {r for r in found if of_run(r, run_id)})
    return sorted(r for r in found if not run_is_alive(r))


class RunLock:
    """Held by the controller process of a run; released when it exits, however it exits."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.path = lock_dir() / f"{run_id}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RuntimeError(f"run {self.run_id} is already running (lock {self.path})") from None
            if _same_file(fd, self.path):
                break
            os.close(fd)  # a reaper removed the file between our open and our lock: lock the new one
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def fileno(self) -> int:
        """The locked file's descriptor, for a process that inherits the lock (``pass_fds``)."""
        if self._fd is None:
            raise RuntimeError(f"run {self.run_id}: the lock is not held")
        return self._fd

    def hand_over(self) -> None:
        """Close this process's copy and keep the file: a child that inherited the descriptor
        (the demo class's keeper) holds the lock from now on."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def _try_lock(path: Path) -> int | None:
    """Open ``path`` and take its lock without waiting: the descriptor, locked by us; ``None``
    when there is no such file or a live process holds the lock."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def run_is_alive(run_id: str) -> bool:
    """True while some process holds the run's lock."""
    path = lock_dir() / f"{run_id}.lock"
    fd = _try_lock(path)
    if fd is None:
        return path.exists()  # held (alive), or no lock file at all (never ran, or reaped)
    os.close(fd)
    return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


def stale_locks() -> list[tuple[str, Path]]:
    """(run id, path) of the lock files of dead runs."""
    d = lock_dir()
    paths = sorted(d.glob("*.lock")) if d.is_dir() else []
    return [(p.stem, p) for p in paths if p.is_file() and valid_run_id(p.stem) and not run_is_alive(p.stem)]


def remove_stale_lock(run_id: str) -> bool:
    """Remove a dead run's lock file, holding its lock while doing so (a live run is never touched)."""
    path = lock_dir() / f"{run_id}.lock"
    fd = _try_lock(path)
    if fd is None:
        return False
    try:
        if _same_file(fd, path):
            path.unlink()
            return True
        return False
    except OSError:
        return False
    finally:
        os.close(fd)
