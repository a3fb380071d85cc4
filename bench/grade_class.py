#!/usr/bin/env python3
"""Benchmark grading a class: 30 simulated students on every lab, the harness against a shell-script grader.

1. A demo class (``labctl demo-class 30``; or ``--inventory`` of one made before): student hosts are
   containers with sshd in the states complete / partial / broken / unreachable / badkey / nodaemon.
   Students in the same state share prepared hosts (grading is read-only), but each student is
   graded on its own, over its own SSH connections, as with real machines. Every lab's hosts at
   once do not fit a 2-core machine shared with others, so the labs go in batches (``--batch``,
   default 4): a class is made on a batch, graded by each grader, removed; the figures are summed.
2. **harness**: ``labctl grade --inventory class.yaml -j N`` (N = ``--jobs``, default ``auto``, and 1):
   one SSH connection per host for the whole run, one shell session on it for every command,
   students in parallel on xdist workers. Wall time of the whole command (start-up, collection,
   grading, reports).
3. **baseline**: the way lab-grading shell scripts work (``lab grade`` scripts, ``check.sh``): students
   one after the other, and for each check one ``ssh -o BatchMode=yes`` process that runs that
   check's commands on the host (the exact commands the harness ran for it, read from the
   evidence in grades.json; a check's HTTP fetch becomes a local ``curl``). A check that read its
   state through the libvirt API (no shell command in its evidence) costs the script one ssh
   running ``virsh list --all``, a stand-in for its ``virsh`` call. A student whose host is down
   costs the script one ``ConnectTimeout`` per check, as it would; a student the harness could
   not reach gets the commands a complete student's checks ran. Students in one state have the
   same hosts and the same commands, so one student per state is measured and the time scaled
   by the number of students in that state (a student who cannot be reached: their first
   ``--error-sample`` checks, scaled); ``--baseline all`` runs every student instead.
4. **floor**: the same commands again through one already-open shell session per host, with no
   test framework around them: what the host itself needs to answer. Measured on one student per
   state (same prepared hosts, same commands) and scaled by the number of students in that state.

Per-check overhead = (wall time x grading processes - floor) / checks: the worker-seconds the grader
adds on top of the hosts' own work (connections, processes, pytest, reports). Throughput = checks /
wall time.

    .venv/bin/python bench/grade_class.py                         # 30 students, every lab
    .venv/bin/python bench/grade_class.py --students 10 --labs dockerfile --json out.json
    .venv/bin/python bench/grade_class.py --inventory /tmp/x/class.yaml --keep
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.hosts.inventory import load_inventory  # noqa: E402


API_STANDIN = "virsh -c qemu:///system list --all"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def commands_of(check: dict) -> list[tuple[str, str]]:
    """(host name or "GET", command or URL) of every command a check ran, from its evidence."""
    out = []
    for ev in check.get("evidence", []):
        text = ev["text"]
        if ev["name"].startswith("GET "):
            out.append(("GET", ev["name"][4:]))
        elif text.startswith("$ ") and "\n[exit " in text:
            host = ev["name"].split(": ", 1)[0]
            out.append((host, text[2 : text.index("\n[exit ")]))
    return out


def plan(grades: dict, inventory, demo: dict) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(student, lab, check, commands) for every check graded, in report order."""
    complete = next((s for s, i in demo["students"].items() if i["state"] == "complete"), None)
    reference = {}
    if complete:
        for lab, lr in grades["targets"][complete]["labs"].items():
            for c in lr["checks"]:
                reference[(lab, c["check"])] = commands_of(c)
    rows = []
    from harness.core import catalog

    labs = catalog.all_labs()
    for t in inventory.targets:
        for lab, lr in sorted(grades["targets"].get(t.name, {}).get("labs", {}).items()):
            kvm = [h.name for h in labs[lab].topology if getattr(h.role, "value", "") == "kvm-host"]
            for c in lr["checks"]:
                cmds = commands_of(c) if c["outcome"] != "ERROR" else reference.get((lab, c["check"]), [])
                if not cmds and kvm:  # read through the libvirt API: a script would ssh and run virsh
                    cmds = [(kvm[0], API_STANDIN)]
                rows.append((t.name, lab, c["check"], cmds))
    return rows


# --------------------------------------------------------------------------- the three graders


def workers_of(name: str) -> int:
    """Processes grading at once: -j N -> N, -j auto -> what xdist picks here (the CPU count)."""
    if not name.startswith("harness -j "):
        return 1
    j = name.rsplit(" ", 1)[-1]
    return os.cpu_count() or 1 if j in ("auto", "logical") else int(j)


def run_harness(inventory: Path, jobs: str, report_dir: Path) -> tuple[float, dict, str]:
    run_id = f"bench-{os.getpid()}-j{jobs}"
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "harness.cli", "grade", "--inventory", str(inventory), "-j", jobs,
                          "--report-dir", str(report_dir), "--run-id", run_id],
                         cwd=REPO, capture_output=True, text=True, timeout=7200)
    wall = time.monotonic() - t0
    if res.returncode not in (0, 3):
        sys.exit(f"labctl grade -j {jobs} failed (exit {res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    grades = json.loads((report_dir / run_id / "grades.json").read_text())
    return wall, grades, res.stdout


def ssh_argv(entry, known_hosts: str | None) -> list[str]:
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={int(entry.connect_timeout)}", "-o", "LogLevel=ERROR",
            "-p", str(entry.port)]
    if entry.host_key_policy == "ignore":
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    else:
        argv += ["-o", "StrictHostKeyChecking=yes"] + (["-o", f"UserKnownHostsFile={known_hosts}"] if known_hosts else [])
    if entry.key_file:
        argv += ["-i", entry.key_file, "-o", "IdentitiesOnly=yes"]
    return argv + [f"{entry.user}@{entry.address}"]


def run_baseline(rows, inventory, only: dict[str, int | None] | None = None) -> tuple[dict[str, float], dict]:
    """Students one after another; one ssh process per (check, host), one curl per HTTP fetch.

    ``only``: {student: at most this many checks (None: all)}; returns {student: (seconds, checks run)}."""
    stats = Counter()
    took: dict[str, list] = {}
    for student, lab, _check, cmds in rows:
        if only is not None and (student not in only or (only[student] is not None
                                                         and took.get(student, [0, 0])[1] >= only[student])):
            continue
        t0 = time.monotonic()
        hosts = inventory.target(student).hosts_for(lab)
        by_host: dict[str, list[str]] = {}
        for host, cmd in cmds:
            if host == "GET":
                subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "10", cmd], capture_output=True)
                stats["curl"] += 1
            else:
                by_host.setdefault(host, []).append(cmd)
        for host, host_cmds in by_host.items():
            entry = hosts.get(host)
            if entry is None or not entry.address:
                continue
            script = "; ".join(f"sh -c {shlex.quote(c)} </dev/null; echo \"[exit $?]\"" for c in host_cmds)
            r = subprocess.run(ssh_argv(entry, entry.known_hosts) + [script], capture_output=True, timeout=600)
            stats["ssh"] += 1
            stats["ssh_failed"] += r.returncode == 255
            stats["commands"] += len(host_cmds)
        t = took.setdefault(student, [0.0, 0])
        t[0] += time.monotonic() - t0
        t[1] += 1
    return {k: (v[0], v[1]) for k, v in took.items()}, dict(stats)


def baseline_estimate(rows, inventory, demo: dict, error_sample: int) -> tuple[float, dict]:
    """The baseline's time for the whole class: one student per state measured (students in one state
    have the same hosts and run the same commands), scaled by the number of students in the state;
    for a state whose checks all fail to connect, its first ``error_sample`` checks, scaled."""
    states = {s: i["state"] for s, i in demo["students"].items()}
    per_state = Counter(states.values())
    checks_of = Counter(student for student, *_ in rows)
    sample: dict[str, int | None] = {}
    for student, st in states.items():
        if st not in {states[s] for s in sample}:
            sample[student] = error_sample if st in ("unreachable", "badkey", "nodaemon") else None
    took, stats = run_baseline(rows, inventory, only=sample)
    total, detail = 0.0, {}
    for student, (seconds, ran) in took.items():
        st = states[student]
        full = seconds * checks_of[student] / max(ran, 1)
        total += full * per_state[st]
        detail[st] = {"student": student, "checks": checks_of[student], "measured_checks": ran,
                      "measured_s": round(seconds, 1), "per_student_s": round(full, 1), "students": per_state[st]}
    return total, {"per_state": detail, **stats}


def run_floor(rows, inventory, demo: dict) -> tuple[float, dict]:
    """The commands alone, over one open shell session per host, for one student per state, scaled."""
    from harness.hosts.ssh_backend import TimedParamikoBackend
    from harness.hosts.ssh_keys import HostKeyPolicy

    states = {s: i["state"] for s, i in demo["students"].items()}
    per_state = Counter(states.values())
    sample = {}
    for s, st in states.items():
        sample.setdefault(st, s)
    backends: dict = {}
    seconds: dict[str, float] = Counter()
    for student, lab, _check, cmds in rows:
        st = states.get(student)
        if sample.get(st) != student or st in ("unreachable", "badkey"):
            continue
        hosts = inventory.target(student).hosts_for(lab)
        for host, cmd in cmds:
            if host == "GET" or cmd == API_STANDIN:
                continue  # fetched from this process / not a command the harness ran
            e = hosts[host]
            key = (e.address, e.port, e.user, e.key_file)
            if key not in backends:
                b = TimedParamikoBackend(e.address, port=e.port, user=e.user, key_file=e.key_file, label=host,
                                         host_keys=HostKeyPolicy(e.host_key_policy, e.known_hosts))
                b.run("true")  # connection and shell open before timing
                backends[key] = b
            t = time.monotonic()
            backends[key].run(cmd, timeout=600)
            seconds[st] += time.monotonic() - t
    for b in backends.values():
        b.close()
    total = sum(seconds[st] * per_state[st] for st in seconds)
    return total, {st: round(v, 2) for st, v in seconds.items()}


# --------------------------------------------------------------------------- main


def one_class(ns, labs: list[str] | None, work: Path) -> dict:
    """Make a class on ``labs``, grade it with the harness, estimate the baseline and the floor."""
    from harness.demo import democlass
    from harness.demo.inventory import paths_for

    made = ns.inventory is None
    t0 = time.monotonic()
    if made:
        inventory_path = work / "class.yaml"
        demo = democlass.up(ns.students, labs, inventory_path)
    else:
        inventory_path = ns.inventory.resolve()
        demo = json.loads(paths_for(inventory_path).demo.read_text())
    prepare = time.monotonic() - t0
    try:
        inventory = load_inventory(inventory_path)
        states = Counter(i["state"] for i in demo["students"].values())
        print(f"\nclass: {len(demo['students'])} students ({', '.join(f'{k} {v}' for k, v in states.items())}) on "
              f"{len(demo['labs'])} labs: {', '.join(demo['labs'])}"
              + (f"; left out: {demo['excluded_labs']}" if demo.get("excluded_labs") else "")
              + (f"; prepared in {prepare:.0f}s" if made else ""), flush=True)
        out = {"labs": demo["labs"], "excluded": demo.get("excluded_labs", {}), "prepare_s": prepare,
               "students": dict(states), "harness": {}}
        grades = None
        for jobs in ns.jobs.split(","):
            print(f"  harness -j {jobs} ... (load {loadavg()})", flush=True)
            wall, g, _ = run_harness(inventory_path, jobs, work / "reports")
            out["harness"][jobs] = wall
            grades = grades or g
            print(f"  harness -j {jobs}: {wall:.1f}s", flush=True)
        assert grades is not None
        rows = plan(grades, inventory, demo)
        out["checks"] = len(rows)
        print(f"  baseline ({len(rows)} checks; one student per state measured) ... (load {loadavg()})", flush=True)
        if ns.baseline == "all":
            took, stats = run_baseline(rows, inventory)
            out["baseline_s"], out["baseline"] = sum(t for t, _ in took.values()), stats
        else:
            out["baseline_s"], out["baseline"] = baseline_estimate(rows, inventory, demo, ns.error_sample)
        print(f"  baseline: {out['baseline_s']:.1f}s; floor ... (load {loadavg()})", flush=True)
        out["floor_s"], out["floor_per_state"] = run_floor(rows, inventory, demo)
        out["load_after"] = loadavg()
        return out
    finally:
        if made and not ns.keep:
            democlass.down(out=inventory_path)
        elif made:
            print(f"kept: {inventory_path} (remove with labctl demo-class --down --out {inventory_path})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--labs", help="comma-separated (default: every lab)")
    ap.add_argument("--batch", type=int, default=4,
                    help="labs per demo class: the class is made, graded and removed batch by batch, so the "
                         "machine never holds every lab's hosts at once (0: all at once; default 4)")
    ap.add_argument("--inventory", type=Path, help="grade this demo class (made by labctl demo-class) instead")
    ap.add_argument("--jobs", default="auto", help="harness runs, comma-separated -j values, e.g. auto,1 (default: auto)")
    ap.add_argument("--baseline", choices=("sample", "all"), default="sample",
                    help="sample: one student per state, scaled (default); all: every student")
    ap.add_argument("--error-sample", type=int, default=10,
                    help="checks measured for a student whose host cannot be reached (each costs the baseline a "
                         "connect timeout); scaled to all their checks (default 10)")
    ap.add_argument("--keep", action="store_true", help="leave the demo class up afterwards")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ns = ap.parse_args()

    from harness.core import catalog

    names = [x for x in (ns.labs or "").split(",") if x] or list(catalog.all_labs())
    if ns.inventory is not None:
        batches = [None]
    elif ns.batch > 0:
        batches = [names[i:i + ns.batch] for i in range(0, len(names), ns.batch)]
    else:
        batches = [names]
    work = Path(tempfile.mkdtemp(prefix="lh-bench-"))
    print(f"bench: {ns.students} students, {len(names)} labs in {len(batches)} batch(es); load {loadavg()}")
    parts = []
    for i, labs in enumerate(batches):
        parts.append(one_class(ns, labs, work / f"batch{i}"))

    checks = sum(p["checks"] for p in parts)
    floor = sum(p["floor_s"] for p in parts)
    results = {f"harness -j {j}": sum(p["harness"][j] for p in parts) for j in ns.jobs.split(",")}
    results["baseline: one ssh per check, students in turn"] = sum(p["baseline_s"] for p in parts)
    labs = [lab for p in parts for lab in p["labs"]]
    excluded = {k: v for p in parts for k, v in p["excluded"].items()}
    print(f"\n{ns.students} students x {len(labs)} labs = {checks} checks graded"
          f" (labs: {', '.join(labs)})" + (f"; left out (solution or a mistake broke here): {', '.join(excluded)}" if excluded else ""))
    print(f"floor, the hosts' own work for those checks: {floor:.1f}s; preparing the classes took "
          f"{sum(p['prepare_s'] for p in parts):.0f}s (not counted)")
    print(f"{'grader':<48} {'wall s':>9} {'checks/s':>9} {'overhead/check':>15}")
    figures = {}
    for name, wall in results.items():
        workers = workers_of(name)
        overhead = 1000 * (wall * workers - floor) / checks  # worker-seconds beyond the hosts' own work
        figures[name] = {"wall_s": round(wall, 1), "checks_per_s": round(checks / wall, 2), "workers": workers,
                         "overhead_ms_per_check": round(overhead, 1)}
        print(f"{name:<48} {wall:9.1f} {checks / wall:9.2f} {overhead:12.0f} ms")
    base = checks / results["baseline: one ssh per check, students in turn"]
    for name, wall in results.items():
        if name.startswith("harness"):
            figures[name]["speedup"] = round(checks / wall / base, 2)
            print(f"{name}: {checks / wall / base:.1f}x the baseline's throughput")
    per_student = Counter()
    students = Counter()
    for p in parts:
        for st, d in p["baseline"].get("per_state", {}).items():
            per_student[st] += d["per_student_s"]
            students[st] = d["students"]
    if per_student:
        print("baseline, one student: " + ", ".join(f"{st} {v:.0f}s (x{students[st]})" for st, v in per_student.items()))
        ok = sum(v * students[st] for st, v in per_student.items() if st in ("complete", "partial", "broken"))
        print(f"  of which students that could be graded: {ok:.0f}s; the harness spent its whole wall time on all")
    print(f"(load average now {loadavg()}; 2 cores shared with other work)")
    if ns.json:
        ns.json.write_text(json.dumps({"checks": checks, "floor_s": floor, "results": figures, "batches": parts},
                                      indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
