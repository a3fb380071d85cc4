"""The keeper: a detached process that holds a demo class's run lock while the class lives.

Other runs' start-up reaping leaves a run whose lock is held alone; the keeper inherits the
demo's lock (the same open file) and holds it for at most ``--hours``, until ``labctl demo-class
--down`` stops it, or until the class's containers and networks are gone (``labctl reap --run-id``).
Its entry point: ``python -m harness.demo.keeper keep RUN_ID FD HOURS``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.core.runs import LABEL_RUN, RunLock, lock_dir

MODULE = "harness.demo.keeper"


def start_keeper(lock: RunLock, run_id: str, hours: float) -> int:
    """A detached process that inherits the run's lock (same open file) and holds it while the class lives."""
    fd = lock.fileno()
    proc = subprocess.Popen(
        [sys.executable, "-m", MODULE, "keep", run_id, str(fd), str(hours)],
        pass_fds=(fd,), start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd="/",
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    return proc.pid


def keep(run_id: str, fd: int, hours: float) -> int:
    """The keeper: hold the lock (inherited ``fd``) until the hours pass, ``--down`` stops us, or the class is gone."""
    import docker

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    deadline = time.monotonic() + hours * 3600
    client = docker.from_env(timeout=60)
    last_check = 0.0
    while not stop["now"] and time.monotonic() < deadline:
        if time.monotonic() - last_check > 5:
            last_check = time.monotonic()
            try:
                flt = {"label": f"{LABEL_RUN}={run_id}"}
                if not client.containers.list(all=True, filters=flt) and not client.networks.list(filters=flt):
                    break  # reaped (labctl reap --run-id) or removed: nothing left to keep
            except Exception:
                pass
        time.sleep(1)
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        (lock_dir() / f"{run_id}.lock").unlink()
    return 0


def _is_keeper(pid: int, run_id: str) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MODULE.encode() in cmd and b"keep" in cmd and run_id.encode() in cmd


def stop_keepers(run_id: str, first: int | None = None) -> None:
    """Stop the keeper(s) of ``run_id`` (``first``: the pid the class recorded, looked at before the others)."""
    pids = [first] if first else []
    pids += [int(d) for d in os.listdir("/proc") if d.isdigit() and int(d) not in pids]
    for pid in pids:
        if _is_keeper(pid, run_id):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not _is_keeper(pid, run_id):
                    break
                time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keep")
    k.add_argument("run_id")
    k.add_argument("fd", type=int)
    k.add_argument("hours", type=float)
    ns = ap.parse_args(argv)
    return keep(ns.run_id, ns.fd, ns.hours)


if __name__ == "__main__":
    sys.exit(main())
