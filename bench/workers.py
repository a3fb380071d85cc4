#!/usr/bin/env python3
"""Benchmark grading on a pool of Celery workers (issue 14): the same class locally and by 1, 2, 3 workers.

1. A demo class (``labctl demo-class``, default 12 students in every state on three fast docker
   labs; or ``--inventory`` of one made before).
2. A Redis server on a free loopback port in a tmp dir (the broker and result backend).
3. **local**: ``labctl grade --inventory class.yaml -j N`` (``--jobs``, default 2).
4. **N workers** (N = 1, 2, 3): N ``labctl worker`` processes (``--concurrency``, default 1), each
   in its own working directory with its own cache, then ``labctl grade ... --workers URL``.

For each: wall time of the whole command, checks/s, the ratio of its wall time to the local
run's, and, for worker runs, from the controller's journal (one ``unit`` record per unit):

- **queue overhead per unit** = (when the controller had the unit's result - when a worker slot
  could have started it) - the unit's own pytest session: delivery, the task's preamble, shipping
  the records back, storing and polling the result, merging. Target: <= 50 ms.
- **session per unit**: the unit's pytest session (start-up, collection, its checks, its reports):
  the price of one session per unit instead of one per run, which is not queue overhead.

Outcomes of every worker run are compared with the local run's (they must be identical).

    .venv/bin/python bench/workers.py
    .venv/bin/python bench/workers.py --inventory /tmp/x/class.yaml --workers 1,3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MIX = "complete=6,partial=3,unreachable=1,badkey=1,nodaemon=1"
LABS = "docker_install,containers,limits"


def labctl(*args: str, cwd: Path = REPO, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(root: Path) -> tuple[subprocess.Popen, str]:
    import redis

    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(root)],
                            stdout=open(root / "redis.log", "w"), stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            redis.Redis(port=port, socket_connect_timeout=1).ping()
            return proc, f"redis://127.0.0.1:{port}/0"
        except Exception:
            time.sleep(0.1)
    sys.exit("redis-server did not start")


def start_workers(n: int, root: Path, url: str, concurrency: int) -> list[subprocess.Popen]:
    from harness.distributed import seed_cache

    procs = []
    for i in range(1, n + 1):
        d = root / f"w{i}"
        d.mkdir(parents=True, exist_ok=True)
        cache = d / "cache"
        seed_cache(cache)  # a cache of its own: hard links to this machine's images, its own known_hosts
        env = dict(os.environ, LABHARNESS_CACHE=str(cache))
        log = d / "worker.log"
        log.write_text("")
        procs.append(subprocess.Popen([sys.executable, "-m", "harness.cli", "worker", "--broker", url, "--concurrency",
                                       str(concurrency), "--name", f"bench{i}@%h"], cwd=d, env=env,
                                      stdout=open(log, "a"), stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 90
        while " ready." not in log.read_text(errors="replace"):
            if procs[-1].poll() is not None or time.monotonic() > deadline:
                sys.exit(f"worker {i} did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def outcomes(report: Path) -> dict[str, str]:
    g = json.loads((report / "grades.json").read_text())
    return {f"{c['lab']}/{c['target']}/{c['check']}": c["outcome"]
            for t in g["targets"].values() for lab in t["labs"].values() for c in lab["checks"]}


def unit_figures(report: Path) -> dict[str, float]:
    units = [json.loads(ln) for ln in (report / "journal.jsonl").read_text().splitlines() if '"type": "unit"' in ln]
    units = [u for u in units if u.get("task_started")]
    slots: dict[str, float] = {}
    overhead, sessions = [], []
    for u in sorted(units, key=lambda u: u["task_started"]):
        free = max(u["queued"], slots.get(u["slot"], 0.0))  # when this worker slot could have taken it
        slots[u["slot"]] = u["task_ended"]
        overhead.append(u["received"] - free - u["pytest_seconds"])
        sessions.append(u["pytest_seconds"])
    if not units:
        return {"units": 0}
    return {"units": len(units), "overhead_ms_median": 1000 * statistics.median(overhead),
            "overhead_ms_mean": 1000 * statistics.mean(overhead),
            "overhead_ms_p90": 1000 * sorted(overhead)[int(0.9 * (len(overhead) - 1))],
            "session_s_median": statistics.median(sessions)}


def grade(inventory: Path, report_dir: Path, run_id: str, extra: list[str]) -> tuple[float, Path]:
    t0 = time.monotonic()
    res = labctl("grade", "--inventory", str(inventory), "--report-dir", str(report_dir), "--run-id", run_id, *extra)
    wall = time.monotonic() - t0
    if res.returncode not in (0, 3):
        sys.exit(f"labctl grade {' '.join(extra)} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return wall, report_dir / run_id


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inventory", type=Path, help="grade this class (default: make a demo class)")
    ap.add_argument("--mix", default=MIX, help=f"demo class states (default {MIX})")
    ap.add_argument("--labs", default=LABS, help=f"demo class labs (default {LABS})")
    ap.add_argument("--jobs", default="2", help="-j of the local run (default 2)")
    ap.add_argument("--workers", default="1,2,3", help="pool sizes to measure (default 1,2,3)")
    ap.add_argument("--concurrency", type=int, default=1, help="units at once per worker (default 1)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    ns = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    inventory = ns.inventory
    made = False
    redis_proc = None
    try:
        if inventory is None:
            inventory = tmp / "class.yaml"
            print(f"making a demo class ({ns.mix}) on {ns.labs} ...", flush=True)
            res = labctl("demo-class", "--mix", ns.mix, "--labs", ns.labs, "--out", str(inventory), "--hours", "2")
            if res.returncode:
                sys.exit(f"demo-class failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
            made = True
        redis_proc, url = start_redis(tmp / "redis")
        tag = f"bw{os.getpid() % 10000}"
        rows = []
        print(f"local: labctl grade -j {ns.jobs} ...", flush=True)
        wall, rep = grade(inventory, tmp / "reports", f"{tag}-local", ["-j", ns.jobs])
        base = outcomes(rep)
        local_wall = wall
        rows.append({"run": f"local -j {ns.jobs}", "wall": wall, "checks": len(base), "same": True})
        for n in [int(x) for x in ns.workers.split(",")]:
            procs = start_workers(n, tmp / f"pool{n}", url, ns.concurrency)
            try:
                print(f"{n} worker(s) x {ns.concurrency}: labctl grade --workers ...", flush=True)
                wall, rep = grade(inventory, tmp / "reports", f"{tag}-w{n}", ["--workers", url])
            finally:
                stop_workers(procs)
            got = outcomes(rep)
            rows.append({"run": f"{n} worker{'s' if n > 1 else ''} x {ns.concurrency}", "wall": wall,
                         "checks": len(got), "same": got == base, **unit_figures(rep)})
        for r in rows:
            r["checks_per_s"] = r["checks"] / r["wall"]
            r["ratio_to_local"] = r["wall"] / local_wall
        print()
        print(f"{'run':<16} {'checks':>6} {'wall s':>7} {'checks/s':>8} {'x local':>7} {'units':>5} "
              f"{'queue ms/unit (median/mean/p90)':>32} {'session s/unit':>14} {'outcomes':>8}")
        for r in rows:
            q = (f"{r['overhead_ms_median']:.0f} / {r['overhead_ms_mean']:.0f} / {r['overhead_ms_p90']:.0f}"
                 if r.get("units") else "-")
            s = f"{r['session_s_median']:.2f}" if r.get("units") else "-"
            print(f"{r['run']:<16} {r['checks']:>6} {r['wall']:>7.1f} {r['checks_per_s']:>8.2f} "
                  f"{r['ratio_to_local']:>7.2f} {r.get('units', '-'):>5} {q:>32} {s:>14} "
                  f"{'same' if r['same'] else 'DIFFER':>8}")
        print(f"\nmachine: {os.cpu_count()} cores, load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        if ns.json:
            ns.json.write_text(json.dumps(rows, indent=2))
        return 0 if all(r["same"] for r in rows) else 1
    finally:
        if redis_proc is not None:
            redis_proc.kill()
        if made:
            labctl("demo-class", "--down", "--out", str(inventory), timeout=600)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
