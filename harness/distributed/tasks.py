"""The worker's side: one unit (target x lab, or one lab in validate mode) as its own pytest session.

The task starts a subprocess ``python -m pytest labs/<lab>`` with the same plugin, restricted to
one target (a one-target inventory written beside it) and one lab, under the unit's run id
``<run id>-u<n>a<attempt>``, in ``<worker's cwd>/lh-units/``. It returns the unit's journal
records (``check``, ``env``), its JUnit test cases and Allure files, then removes the unit's
directory. While it runs, a heartbeat key tells the controller the worker is alive.
"""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded

from harness.core.runs import unit_run_id
from harness.distributed import HEARTBEAT_EVERY, HEARTBEAT_TTL, KEY_TTL, MAX_ATTEMPTS, app, key

REPO = Path(__file__).resolve().parents[2]
MAX_FILE = 4 << 20  # an Allure attachment larger than this is not shipped


def clean_stale(base: Path, min_age: float = 60.0) -> list[str]:
    """Remove what killed units left in ``base`` (``lh-units/``): their run lock is no longer held."""
    from harness.core.runs import run_is_alive, valid_run_id

    removed = []
    if not base.is_dir():
        return removed
    for entry in base.iterdir():
        unit_run = entry.name.removesuffix(".inventory.yaml")
        try:
            old = time.time() - entry.stat().st_mtime >= min_age
        except FileNotFoundError:
            continue
        if valid_run_id(unit_run) and old and not run_is_alive(unit_run):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def _die_with_parent() -> None:  # the unit's pytest must not outlive a killed worker
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _heartbeat(client, name: str, value: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            client.set(name, value, ex=HEARTBEAT_TTL)
        except Exception:  # the broker is gone for a while: the controller decides
            pass
        stop.wait(HEARTBEAT_EVERY)


@app.task(bind=True, name="labharness.unit", acks_late=True, reject_on_worker_lost=True)
def run_unit(self, spec: dict[str, Any]) -> dict[str, Any]:
    task_started = time.time()
    client = self.backend.client
    run_id = spec["run_id"]
    me = self.request.hostname or "?"
    if client.exists(key(run_id, "done")) or client.sismember(key(run_id, "superseded"), self.request.id):
        return {"skipped": "superseded or the run is over", "worker": me}
    attempts_key = key(run_id, "attempts", spec["unit"])
    attempt = int(client.incr(attempts_key))
    client.expire(attempts_key, KEY_TTL)
    client.rpush(key(run_id, "workers", spec["unit"]), me)
    client.expire(key(run_id, "workers", spec["unit"]), KEY_TTL)
    if attempt > MAX_ATTEMPTS:  # Celery redelivered it after its worker died again
        return {"lost": attempt - 1, "worker": me, "workers": _workers(client, run_id, spec["unit"])}
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(client, key(run_id, "hb", self.request.id), me, stop), daemon=True)
    beat.start()
    try:
        out = execute(spec, attempt)
    finally:
        stop.set()
    out.update(worker=me, attempt=attempt, slot=f"{me}/{os.getpid()}", task_started=task_started,
               task_ended=time.time())
    return out


def _workers(client, run_id: str, unit: str) -> list[str]:
    return [w.decode() if isinstance(w, bytes) else w for w in client.lrange(key(run_id, "workers", unit), 0, -1)]


def _remove(unit_dir: Path, inventory: Path) -> None:
    shutil.rmtree(unit_dir, ignore_errors=True)
    inventory.unlink(missing_ok=True)


def _unit_inventory(spec: dict[str, Any], path: Path) -> None:
    import yaml

    doc = dict(spec["inventory"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def execute(spec: dict[str, Any], attempt: int) -> dict[str, Any]:
    """Run the unit's pytest session; what it recorded, however it ended."""
    from harness.core import catalog
    from harness.reporting.journal import FILENAME, read

    base = Path.cwd() / "lh-units"
    base.mkdir(parents=True, exist_ok=True)
    unit_run = unit_run_id(spec["run_id"], spec["index"], attempt)
    lab = catalog.all_labs()[spec["lab"]]
    args = [sys.executable, "-m", "pytest", str(lab.package_dir), "-p", "no:cacheprovider", "-q", "-rN",
            f"--report-dir={base}", f"--run-id={unit_run}", "--tb=no", *spec["args"]]
    inventory = base / f"{unit_run}.inventory.yaml"
    if spec["mode"] == "grade":
        _unit_inventory(spec, inventory)
        args += ["--mode=grade", f"--inventory={inventory}"]
    else:
        args += ["--mode=validate", "--provisioner=container"]
    env = dict(os.environ)
    for var in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST"):
        env.pop(var, None)
    t_start = time.time()
    proc = subprocess.Popen(args, cwd=Path.cwd(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", preexec_fn=_die_with_parent)
    limit = ""
    try:
        output, _ = proc.communicate()
    except SoftTimeLimitExceeded:  # let pytest stop and write what it graded (the rest: not run)
        limit = "the unit reached its soft time limit"
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    t_end = time.time()
    unit_dir = base / unit_run
    records = []
    if (unit_dir / FILENAME).is_file():
        records = [r for r in read(unit_dir / FILENAME) if r["type"] in ("check", "env", "crashed")]
    junit = ""
    if (unit_dir / "junit.xml").is_file():
        junit = (unit_dir / "junit.xml").read_text(encoding="utf-8", errors="replace")
    allure: dict[str, str] = {}
    adir = unit_dir / "allure-results"
    if adir.is_dir():
        for f in sorted(adir.iterdir()):
            if f.is_file() and f.stat().st_size <= MAX_FILE:
                allure[f.name] = base64.b64encode(f.read_bytes()).decode("ascii")
    # removed after the result is on its way (the unit's run lock is released: clean_stale would too)
    threading.Thread(target=_remove, args=(unit_dir, inventory), daemon=True).start()
    return {"records": records, "junit": junit, "allure": allure, "rc": proc.returncode, "limit": limit,
            "output_tail": output[-3000:], "unit_run": unit_run, "started": t_start, "ended": t_end,
            "pytest_seconds": t_end - t_start}


from celery.signals import worker_process_init  # noqa: E402


@worker_process_init.connect
def _warm(**_: Any) -> None:
    """Import the labs once per pool process, not in the first unit's time."""
    try:
        from harness.core import catalog

        catalog.all_labs()
    except Exception:  # a broken lab shows in its unit's session, with its message
        pass
