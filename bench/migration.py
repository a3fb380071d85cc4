#!/usr/bin/env python3
"""Benchmark the migration lab end to end: run it N times (default 5) in validate mode, each run a
fresh `pytest labs/migration` exactly as CI runs it, and print the median and spread of

  environment up   provisioning kvm01, kvm02 and storage (the plugin's "provision" step time)
  cold step        the KVM-15 step of the solution (the notes' lines)
  live migration   KVM-16: libvirt's "Time elapsed" of the incoming migration (domjobinfo --completed)
  downtime         libvirt's "Total downtime" of that migration (the checks' evidence)
  whole lab        provisioning + solution + checks + teardown (grades.json "duration"), and the
                   wall time of the pytest process
  cpu              CPU seconds the run used: its containers (cpuacct cgroups: QEMU, libvirtd,
                   glusterd, ...) and the pytest process tree; unlike wall times, barely inflated
                   by other load on the machine (a 2-core machine cannot finish in less than half)

Everything is read back from the run's grades.json (step times, and the evidence the checks
attached); nothing here times the lab itself. The load average is printed with each run, since the
machine is shared.

    .venv/bin/python bench/migration.py            # 5 runs
    .venv/bin/python bench/migration.py -n 3 --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = "migration"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


CPUACCT = Path("/sys/fs/cgroup/cpuacct/docker")  # cgroup v1, as on this machine


class ContainerCpu(threading.Thread):
    """CPU time used by the containers of one run (their QEMUs, libvirtds, glusterd...), sampled
    from their cpuacct cgroups every 0.3 s until stopped: a figure the machine's load does not
    inflate, unlike wall times. Each container's last sample before its removal counts."""

    def __init__(self, run_id: str):
        super().__init__(daemon=True)
        self.run_id = run_id
        self.usage: dict[str, int] = {}  # container id -> ns
        self.others: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                ids = [d.name for d in CPUACCT.iterdir() if d.is_dir()]
            except OSError:
                return
            for cid in ids:
                if cid in self.others:
                    continue
                if cid not in self.usage:
                    label = subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "org.labharness.run"}}', cid],
                                           capture_output=True, text=True).stdout.strip()
                    if label != self.run_id:
                        self.others.add(cid)
                        continue
                try:
                    self.usage[cid] = int((CPUACCT / cid / "cpuacct.usage").read_text())
                except (OSError, ValueError):
                    pass
            self.done.wait(0.3)

    def seconds(self) -> float | None:
        return sum(self.usage.values()) / 1e9 if CPUACCT.is_dir() else None


def step_times(environment: dict[str, str]) -> dict[str, float]:
    """The plugin's "steps.<lab>.<target>" entry: "title 1.2s, title 3.4s, ..." (titles may hold commas)."""
    text = environment.get(f"steps.{LAB}.validate", "")
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(.*?) (\d+(?:\.\d+)?)s(?:, |$)", text)}


def evidence(checks: list[dict], check: str, name: str) -> str | None:
    for c in checks:
        if c["check"] == check:
            for ev in c.get("evidence", []):
                if ev["name"] == name or ev["name"].endswith(name):
                    return ev["text"]
    return None


def fmt(value, digits: int = 1) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def one_run(i: int, report_dir: Path, extra: list[str]) -> dict:
    run_id = f"bench-{os.getpid()}-{i}"
    load_before = loadavg()
    cpu = ContainerCpu(run_id)
    cpu.start()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(REPO / ".venv/bin/pytest"), f"labs/{LAB}", "-q", "-p", "no:cacheprovider",
         f"--report-dir={report_dir}", f"--run-id={run_id}", *extra],
        cwd=REPO, capture_output=True, text=True)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.done.set()
    cpu.join()
    # pytest and what it ran (docker CLI calls included; not dockerd's own work); the sampler's
    # own `docker inspect` calls are children too, and counted (a few per run)
    cpu_pytest = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    cpu_containers = cpu.seconds()
    grades_path = report_dir / run_id / "grades.json"
    if not grades_path.exists():
        raise SystemExit(f"run {i}: no grades.json (pytest exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    grades = json.loads(grades_path.read_text())
    target = grades["targets"]["validate"]
    lab = target["labs"][LAB]
    checks = lab["checks"]
    steps = step_times(grades["environment"])
    # the checks observe only what the notes leave: libvirt's record of the incoming migration
    job = evidence(checks, "test_kvm16_live_migration_came_in_live", "kvm02: virsh domjobinfo web01 --completed --keep-completed") or ""
    downtime = re.search(r"Total downtime:\s+(\d+)\s+ms", job)
    elapsed = re.search(r"Time elapsed:\s+(\d+)\s+ms", job)
    return {
        "run": i,
        "score": f"{target['score']:g}/{target['max_score']:g}",
        "pytest_exit": proc.returncode,
        "environment up": steps.get("provision"),
        "cold migration": None,  # not measured any more: the checks no longer time the solution
        "cold step": next((v for k, v in steps.items() if k.startswith("KVM-15:")), None),
        "live migration": int(elapsed.group(1)) / 1000 if elapsed else None,
        "live step": next((v for k, v in steps.items() if k.startswith("KVM-16: live")), None),
        "downtime (libvirt) ms": int(downtime.group(1)) if downtime else None,
        "ping gap ms": None,  # the ping sampler lived in the old solution
        "whole lab": lab.get("duration"),
        "pytest wall": wall,
        "cpu containers s": cpu_containers,
        "cpu pytest s": cpu_pytest,
        "cpu total s": (cpu_containers or 0) + cpu_pytest,
        "load before": load_before,
        "load after": loadavg(),
        "steps": steps,
        "solution_failure": lab.get("solution_failure"),
        "not_passed": [f"{c['check']}={c['outcome']}" for c in checks if c["outcome"] != "PASS"],
    }


METRICS = ("environment up", "cold migration", "cold step", "live migration", "live step",
           "downtime (libvirt) ms", "ping gap ms", "whole lab", "pytest wall",
           "cpu containers s", "cpu pytest s", "cpu total s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--json", help="also write every run's figures to this file")
    ap.add_argument("--report-dir", help="keep the runs' reports here (default: a temporary directory)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as tmp:
        for i in range(1, args.runs + 1):
            r = one_run(i, Path(args.report_dir or tmp), args.pytest_args)
            results.append(r)
            print(f"run {i}: {r['score']}  env up {fmt(r['environment up'])}s  cold {fmt(r['cold migration'])}s  "
                  f"live {fmt(r['live migration'], 2)}s  downtime {r['downtime (libvirt) ms']} ms "
                  f"(ping gap {r['ping gap ms']} ms)  whole lab {fmt(r['whole lab'])}s (pytest {fmt(r['pytest wall'])}s)  "
                  f"cpu {fmt(r['cpu total s'])}s  load {r['load before']} -> {r['load after']}", flush=True)
            if r["pytest_exit"] != 0:
                print(f"  pytest exited {r['pytest_exit']}; solution failure: {r['solution_failure']}; "
                      f"not passed: {', '.join(r['not_passed']) or '-'}", flush=True)
    print()
    print(f"{'metric':24} {'median':>8} {'min':>8} {'max':>8}   (n={len(results)})")
    for key in METRICS:
        vals = [r[key] for r in results if isinstance(r[key], (int, float))]
        if vals:
            print(f"{key:24} {statistics.median(vals):8.2f} {min(vals):8.2f} {max(vals):8.2f}")
    print(f"load average now: {loadavg()}; scores: {', '.join(r['score'] for r in results)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(r["pytest_exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
