#!/usr/bin/env python3
"""Benchmark nested host VMs (the libvirt provisioner) on this machine and print one table:

  image build      `labctl image build`: cold (an empty builder cache: debootstrap, apt, mkfs;
                   with --cold only, it takes minutes) and cached (the recipe's image exists)
  L1 ready         topologies of 1, 2 and 3 kvm hosts (and 1 docker host), from nothing to hosts
                   whose SSH and role daemon answer (LibvirtProvisioner.create), for each start mode:
                     boot     a cold boot of every host (direct kernel boot, TCG)
                     restore  clones restored from a saved, booted host ("template"; made on first
                              use, kept on the hypervisor: its one-off cost is shown apart)
  labs             each lab run for real in L1 hosts (`pytest labs/<lab> --host-image ...`, the
                   same as `labctl validate --image`): wall time, provisioning, solution, score

The machine is shared: the load average is printed next to every figure.

    .venv/bin/python bench/nested.py                       # ready times (both modes) + labs
    .venv/bin/python bench/nested.py --cold                # also a cold image build (minutes)
    .venv/bin/python bench/nested.py --only ready --modes restore --json out.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LABS = ("dockerfile", "disk_images")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_build(cold: bool) -> list[dict]:
    from harness.provisioners.libvirt import hostimage

    rows = []
    if cold:
        with tempfile.TemporaryDirectory(prefix="lh-bench-image-", dir="/var/tmp") as tmp:
            os.environ["LABHARNESS_HOSTIMAGE_DIR"] = tmp
            try:
                la = loadavg()
                t0 = time.monotonic()
                hostimage.build(say=lambda m: print(f"  {m}", file=sys.stderr))
                rows.append({"what": "image build, cold (empty builder cache)", "seconds": time.monotonic() - t0,
                             "load": f"{la} -> {loadavg()}"})
                la = loadavg()
                t0 = time.monotonic()
                hostimage.docker_data(force=True, say=lambda m: print(f"  {m}", file=sys.stderr))
                rows.append({"what": "docker-data disk (stand-ins loaded natively)", "seconds": time.monotonic() - t0,
                             "load": f"{la} -> {loadavg()}"})
            finally:
                del os.environ["LABHARNESS_HOSTIMAGE_DIR"]
    hostimage.build()  # make sure the real one exists before timing its cached path
    la = loadavg()
    t0 = time.monotonic()
    img = hostimage.build()
    hostimage.docker_data()
    rows.append({"what": "image build, cached (recipe unchanged)", "seconds": time.monotonic() - t0,
                 "load": f"{la} -> {loadavg()}", "image": str(img.dir)})
    return rows


def bench_ready(modes: list[str], sizes: list[int]) -> list[dict]:
    from harness.core.lab import Role
    from harness.core.lab import HostSpec, Lab
    from harness.provisioners.libvirt import LibvirtProvisioner
    from harness.core.runs import RunLock

    rows = []
    run_id = f"bench-{os.getpid() % 100000}"
    lock = RunLock(run_id)
    lock.acquire()
    try:
        prov = LibvirtProvisioner(run_id=run_id, host_image="latest")
        cases = [(f"{n} kvm host{'s' if n > 1 else ''}", tuple(HostSpec(f"kvm0{i + 1}", Role.KVM_HOST) for i in range(n)))
                 for n in sizes]
        cases.append(("1 docker host", (HostSpec("docker01", Role.DOCKER_HOST),)))
        for mode in modes:
            os.environ["LABHARNESS_L1_START"] = mode
            for label, topo in cases:
                lab = Lab(name=f"bench{len(rows)}", title=label, topology=topo, params=object, package_dir=REPO)
                la = loadavg()
                t0 = time.monotonic()
                prov.timings_template = {}
                try:
                    prov.create(lab, "validate")
                    ok, err = True, ""
                except Exception as exc:
                    ok, err = False, f"{type(exc).__name__}: {exc}"[:300]
                wall = time.monotonic() - t0
                tim = dict(prov.timings)
                tpl = dict(prov.timings_template)
                prov.destroy(lab, "validate")
                row = {"what": f"L1 ready, {label}, {mode}", "seconds": wall - (tpl.get("boot", 0) + tpl.get("save", 0)),
                       "wall": wall, "load": f"{la} -> {loadavg()}", "ok": ok, "error": err,
                       "per_host": tim.get("per_host", {}), "mode": tim.get("mode", mode)}
                if tpl:
                    row["template"] = tpl
                rows.append(row)
                print(f"  {row['what']}: {row['seconds']:.1f}s (wall {wall:.1f}s, load {row['load']})"
                      + (f" [template made: boot {tpl['boot']:.1f}s + save {tpl['save']:.1f}s]" if tpl else "")
                      + ("" if ok else f" FAILED {err}"), file=sys.stderr)
    finally:
        os.environ.pop("LABHARNESS_L1_START", None)
        lock.release()
    return rows


def bench_labs(labs: list[str], mode: str) -> list[dict]:
    from harness.provisioners.libvirt.hostimage import validate_pytest_args

    rows = []
    for lab in labs:
        with tempfile.TemporaryDirectory(prefix="lh-bench-") as tmp:
            run_id = f"benchlab-{os.getpid() % 100000}-{lab.replace('_', '')}"
            args = [sys.executable, "-m", "pytest", str(REPO / "labs" / lab), "-p", "no:cacheprovider", "-q", "-rN",
                    f"--report-dir={tmp}", f"--run-id={run_id}", *validate_pytest_args("latest", None)]
            la = loadavg()
            t0 = time.monotonic()
            proc = subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                                  env=dict(os.environ, LABHARNESS_L1_START=mode))
            wall = time.monotonic() - t0
            grades_file = Path(tmp) / run_id / "grades.json"
            g = json.loads(grades_file.read_text()) if grades_file.is_file() else {}
            labres = next((lr for t in g.get("targets", {}).values() for lr in t.get("labs", {}).values()), {})
            checks = labres.get("checks", [])
            score = sum(c["points"] for c in checks if c["outcome"] == "PASS")
            total = sum(c["points"] for c in checks)
            steps = g.get("environment", {}).get(f"steps.{lab}.validate", "")
            rows.append({"what": f"lab {lab} in L1 hosts ({mode})", "seconds": wall, "load": f"{la} -> {loadavg()}",
                         "rc": proc.returncode, "score": f"{score:g}/{total:g}", "lab_duration": labres.get("duration"),
                         "steps": steps, "tail": "" if proc.returncode == 0 else proc.stdout[-1500:]})
            print(f"  lab {lab}: {wall:.1f}s rc={proc.returncode} score {score:g}/{total:g} load {rows[-1]['load']}\n"
                  f"    steps: {steps}", file=sys.stderr)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cold", action="store_true", help="also time a cold image build in an empty builder cache")
    ap.add_argument("--only", choices=("build", "ready", "labs"), action="append", help="only these parts")
    ap.add_argument("--modes", default="boot,restore", help="start modes for L1 ready (boot,restore)")
    ap.add_argument("--sizes", default="1,2,3", help="numbers of hosts for L1 ready")
    ap.add_argument("--labs", default=",".join(LABS), help="labs to run inside L1 hosts")
    ap.add_argument("--lab-mode", default="restore", help="start mode for the lab runs")
    ap.add_argument("--json", help="write the rows here too")
    ns = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    parts = ns.only or ["build", "ready", "labs"]
    rows: list[dict] = []
    print(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs)", file=sys.stderr)
    if "build" in parts:
        rows += bench_build(ns.cold)
    if "ready" in parts:
        rows += bench_ready([m for m in ns.modes.split(",") if m], [int(n) for n in ns.sizes.split(",") if n])
    if "labs" in parts:
        rows += bench_labs([lab for lab in ns.labs.split(",") if lab], ns.lab_mode)
    print()
    print(f"{'what':<52} {'seconds':>8}  load average (1/5/15 min) before -> after")
    for r in rows:
        extra = ""
        if "template" in r:
            extra = f"  (+ template made once: boot {r['template']['boot']:.1f}s, save {r['template']['save']:.1f}s)"
        if "score" in r:
            extra = f"  score {r['score']}, rc {r['rc']}"
        if r.get("ok") is False:
            extra += f"  FAILED: {r['error']}"
        print(f"{r['what']:<52} {r['seconds']:>8.1f}  {r['load']}{extra}")
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
