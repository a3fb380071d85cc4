"""``labctl``: validate this machine (or an image), grade a class, make a demo class, reap leftovers, list labs.

It is a thin front for pytest: every command builds a pytest command line and runs it in
process, so ``labctl validate`` and ``pytest labs/ --mode validate`` are the same thing, and
``labctl grade --inventory class.yaml -j 4`` is ``pytest --inventory class.yaml -n 4``.
Bad input gets one clear message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.core.errors import UsageError

if TYPE_CHECKING:
    from harness.core.model import RunResult

EXIT_USAGE = 2
EXIT_RERUN = 3  # graded, but some students' checks are ERROR: they need a re-run


EXIT_INTERRUPTED = 130


def _labs_arg(value: str | None) -> list[str] | None:
    if value is None:
        return None
    labs = [v.strip() for v in value.split(",") if v.strip()]
    if not labs:
        raise UsageError(f"--labs {value!r} names no lab (leave --labs out to run every lab)")
    return labs


class _KeepResult:
    """A pytest plugin that keeps the run's RunResult once the lab plugin has written the reports from it."""

    def __init__(self) -> None:
        self.result: RunResult | None = None

    def pytest_unconfigure(self, config) -> None:  # after every plugin's sessionfinish: the reports are written
        from harness.plugin.keys import SESSION_KEY

        lab_session = config.stash.get(SESSION_KEY, None)
        self.result = getattr(lab_session, "result", None)


def _pytest(args: list[str], plugins: list | None = None) -> int:
    """Run pytest in process; its own exit codes mapped to labctl's (interrupted: 130, usage: 2)."""
    import pytest

    rc = int(pytest.main(args, plugins=plugins or []))
    if rc == int(pytest.ExitCode.INTERRUPTED):
        print("labctl: interrupted; the report says what was graded (finished: no), "
              "leftovers of this run are removed by `labctl reap`", file=sys.stderr)
        return EXIT_INTERRUPTED
    if rc == int(pytest.ExitCode.USAGE_ERROR):
        return EXIT_USAGE
    return rc


def _check_run_options(ns: argparse.Namespace) -> None:
    """Every option checked before anything runs: one line and exit 2 for each mistake."""
    from harness.core import catalog
    from harness.core.runs import valid_run_id

    jobs = str(ns.jobs)
    if jobs != "auto" and not (jobs.isdigit() and int(jobs) >= 1):
        raise UsageError(f"-j {jobs!r}: give a number of workers (1 or more) or 'auto'")
    if ns.run_id is not None and not valid_run_id(ns.run_id):
        raise UsageError(f"--run-id {ns.run_id!r}: use 3-41 lowercase letters, digits and dashes")
    labs = catalog.all_labs()
    per_lab: dict[str, dict[str, str]] = {}
    for item in ns.lab_param or []:
        key, sep, value = item.partition("=")
        lab, dot, name = key.partition(".")
        if not sep or not dot or not lab or not name:
            raise UsageError(f"--lab-param {item!r}: expected LAB.NAME=VALUE, e.g. disk_images.data_dir=/srv/data")
        if lab not in labs:
            raise UsageError(f"--lab-param {item!r}: unknown lab {lab!r} (labs: {', '.join(sorted(labs))})")
        per_lab.setdefault(lab, {})[name] = value
    for lab, overrides in per_lab.items():
        labs[lab].make_params(overrides)  # an unknown parameter or a wrong type: UsageError naming it
    report_dir = Path(ns.report_dir)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        probe = report_dir / ".labctl-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--report-dir {ns.report_dir}: cannot write there ({exc.strerror or exc})") from None


def _common(ns: argparse.Namespace, only: set[str] | None = None) -> list[str]:
    from harness.core import catalog

    _check_run_options(ns)
    labs = [lab for lab in catalog.select(_labs_arg(ns.labs)) if only is None or lab.name in only]
    if not labs:
        raise UsageError(f"no lab to run: the inventory's targets ask for {', '.join(sorted(only or ()))} only")
    args = [str(lab.package_dir) for lab in labs]
    args += ["-p", "no:cacheprovider", "-q", "-rN", f"--report-dir={ns.report_dir}", f"--keep={ns.keep}"]
    if ns.run_id:
        args.append(f"--run-id={ns.run_id}")
    if ns.jobs and ns.jobs != "1":
        args += ["-n", ns.jobs, "--dist", "loadgroup"]
    for p in ns.lab_param or []:
        args.append(f"--lab-param={p}")
    if ns.k:
        args += ["-k", ns.k]
    return args


def cmd_validate(ns: argparse.Namespace) -> int:
    if ns.image and ns.workers:
        raise UsageError("--workers runs container hosts on the workers; --image is not supported with it")
    if ns.image:  # nested host VMs booted from a host image (the libvirt provisioner)
        return _validate_image(ns)
    if ns.hypervisor:
        raise UsageError("--hypervisor needs --image (host VMs run on hypervisors; container hosts run here)")
    from harness.provisioners.container import docker_client

    if ns.workers:  # on a pool of Celery workers (harness/distributed): their dockerd, not ours
        rc, _ = _distributed_run(ns, _common(ns) + ["--mode=validate", "--provisioner=container"], "validate")
        return rc if rc in (0, EXIT_USAGE, EXIT_INTERRUPTED) else 1
    args = _common(ns)  # bad input is named before anything else is asked
    docker_client()  # one clear line when dockerd is down
    rc = _pytest(args + ["--mode=validate", "--provisioner=container"])
    return rc if rc in (0, EXIT_USAGE, EXIT_INTERRUPTED) else 1


def _validate_image(ns: argparse.Namespace) -> int:
    """``labctl validate --image IMAGE [--hypervisor URI ...]``: the labs on hosts booted from IMAGE.

    Returns 0 when every lab reached full marks, 1 otherwise; bad input raises UsageError.
    """
    import pytest

    from harness.provisioners.libvirt.hostimage import validate_pytest_args
    from harness.provisioners.libvirt.hypervisor import check_hypervisors

    args = _common(ns)
    extra = validate_pytest_args(ns.image, ns.hypervisor)
    check_hypervisors(ns.hypervisor or None)  # one clear line when a URI does not answer
    rc = int(pytest.main(args + extra))
    return 0 if rc == 0 else 1


def cmd_image_build(ns: argparse.Namespace) -> int:
    """``labctl image build [--omit PKG ...] [--force] [--size 8G]``: prints the image's directory."""
    import os

    from harness.core.errors import HarnessError
    from harness.provisioners.libvirt.hostimage import build

    if os.geteuid() != 0:
        print("labctl image build: needs root (debootstrap, chroot)", file=sys.stderr)
        return 2
    say = (lambda msg: None) if ns.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        img = build(tuple(ns.omit), force=ns.force, size=ns.size, say=say)
    except UsageError as exc:
        print(f"labctl image build: {exc}", file=sys.stderr)
        return 2
    except HarnessError as exc:
        print(f"labctl image build: {exc}", file=sys.stderr)
        return 1
    print(img.dir)
    return 0


def cmd_grade(ns: argparse.Namespace) -> int:
    from harness.core import catalog
    from harness.hosts.inventory import load_inventory
    from harness.core.runs import new_run_id, valid_run_id

    inventory = load_inventory(ns.inventory, known_labs=catalog.all_labs())  # fail fast: every mistake, with its line
    asked = [t.labs for t in inventory.targets]
    only = set().union(*asked) if all(a is not None for a in asked) else None  # collect only the labs graded
    ns.run_id = ns.run_id or new_run_id()
    if not valid_run_id(ns.run_id):
        raise UsageError(f"--run-id {ns.run_id!r}: use 3-41 lowercase letters, digits and dashes")
    # no tracebacks on the terminal: each failed check's message, hint and evidence are in the report
    args = _common(ns, only) + ["--mode=grade", f"--inventory={ns.inventory}", "--tb=no"]
    if ns.host_key_policy:
        args.append(f"--host-key-policy={ns.host_key_policy}")
    if ns.known_hosts:
        args.append(f"--known-hosts={ns.known_hosts}")
    if ns.workers:
        rc, result = _distributed_run(ns, args, "grade")
    else:
        kept = _KeepResult()  # the run is in this process: its result, not the grades.json it wrote
        rc = _pytest(args, plugins=[kept])
        result = kept.result
    # Students failing checks is the normal outcome of grading; only a broken run is an error.
    if rc in (EXIT_USAGE, EXIT_INTERRUPTED):
        return rc
    if rc not in (0, 1):
        return rc
    if result is None or not result.targets:  # no grades.json either: the reports are written only with targets
        grades = Path(ns.report_dir).resolve() / ns.run_id / "grades.json"
        print(f"labctl: no grades were written ({grades})", file=sys.stderr)
        return 1
    targets = result.targets
    rerun = sorted(name for name, t in targets.items() if not t.complete)
    if rerun:
        print(f"labctl: {len(rerun)} of {len(targets)} students need a re-run (ERROR checks, not graded): "
              f"{', '.join(rerun)}", file=sys.stderr)
        return EXIT_RERUN
    return 0


def _distributed_run(ns: argparse.Namespace, args: list[str], mode: str) -> tuple[int, RunResult | None]:
    """The run on a pool of Celery workers (``--workers URL``): harness/distributed/controller.py.
    Its exit status and RunResult (None when it was interrupted)."""
    from harness.distributed import controller
    from harness.core.runs import new_run_id

    ns.run_id = ns.run_id or new_run_id()
    return controller.run(ns, args, mode)


def cmd_worker(ns: argparse.Namespace) -> int:
    from harness.distributed import worker

    return worker.main(ns.broker, ns.concurrency, [q.strip() for q in ns.queues.split(",") if q.strip()], ns.name)


def cmd_demo_class(ns: argparse.Namespace) -> int:
    from harness.demo import democlass

    if ns.down:
        democlass.down(out=Path(ns.out) if not ns.run_id else None, run_id=ns.run_id)
        return 0
    if ns.students is None and not ns.mix:
        raise UsageError("demo-class: how many students? e.g. `labctl demo-class 30`")
    democlass.up(ns.students, _labs_arg(ns.labs), Path(ns.out), mix=ns.mix, run_id=ns.run_id, hours=ns.hours,
                 jobs=ns.jobs)
    return 0


def cmd_report(ns: argparse.Namespace) -> int:
    """Write a run's reports again from its journal: after a killed controller, or to re-render."""
    from harness.reporting.journal import FILENAME, result_from_journal
    from harness.reporting import score_table, write_reports

    run_dir = Path(ns.run_dir)
    journal = run_dir / FILENAME
    if not journal.is_file():
        raise UsageError(f"{run_dir}: no {FILENAME} here (give a run's report directory, e.g. reports/<run-id>)")
    try:
        result = result_from_journal(journal)
    except (ValueError, KeyError) as exc:
        raise UsageError(f"{journal}: {exc}") from None
    paths = write_reports(result, run_dir)
    print(score_table(result))
    state = "finished" if result.finished else f"NOT finished: {result.interrupted}"
    print(f"report ({state}): {paths.html}")
    return 0


def cmd_reap(ns: argparse.Namespace) -> int:
    from harness.provisioners import reap
    from harness.provisioners.container import docker_client
    from harness.core.runs import valid_run_id

    if ns.run_id is not None and not valid_run_id(ns.run_id):
        raise UsageError(f"--run-id {ns.run_id!r}: use 3-41 lowercase letters, digits and dashes")

    lines = reap.reap(run_id=ns.run_id, dry_run=ns.dry_run, client=docker_client())
    verb = "would remove" if ns.dry_run else "removed"
    for line in lines:
        print(f"{verb}: {line}")
    print(f"{len(lines)} leftover(s) {verb.split()[-1]}" if lines else "no leftovers")
    return 0


def cmd_labs(ns: argparse.Namespace) -> int:
    from harness.core import catalog

    for lab in catalog.all_labs().values():
        hosts = ", ".join(f"{h.name} ({h.role.value})" for h in lab.topology)
        print(f"{lab.name:<14} {lab.title}  [hosts: {hosts}]")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="labctl", description="Grade and validate the KVM and Docker course labs.")
    sub = p.add_subparsers(dest="command", required=True)

    def run_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--labs", help="comma-separated lab names (default: every lab)")
        sp.add_argument("-j", "--jobs", default="1", help="parallel workers (pytest-xdist), e.g. 4 or auto")
        sp.add_argument("--report-dir", default="reports", help="reports go to DIR/<run-id>/ (default: ./reports)")
        sp.add_argument("--keep", choices=("never", "failed", "always"), default="never", help="keep provisioned hosts")
        sp.add_argument("--run-id", help="run id (default: generated)")
        sp.add_argument("--lab-param", action="append", metavar="LAB.NAME=VALUE", help="override a course value")
        sp.add_argument("-k", help="only checks matching this pytest expression")
        sp.add_argument("--workers", metavar="URL",
                        help="run the units (target x lab) on Celery workers through this Redis broker, "
                             "e.g. redis://controller:6379/0 (see `labctl worker`)")

    v = sub.add_parser("validate", help="provision hosts, run every lab's reference solution and its checks")
    run_opts(v)
    v.add_argument("--image", metavar="IMAGE",
                   help="boot the hosts as VMs from this host image (a directory made by `labctl image build`, "
                        "its disk.qcow2, or 'latest') instead of containers")
    v.add_argument("--hypervisor", action="append", metavar="URI",
                   help="with --image: a libvirt URI to run host VMs on, repeatable (default qemu:///system)")
    v.set_defaults(func=cmd_validate)
    from harness.provisioners.libvirt.hostimage import DEFAULT_SIZE

    im = sub.add_parser("image", help="host images for nested KVM hosts: `labctl image build [--omit PKG] [--force]`",
                        description="Host images for the nested KVM/Docker hosts (L1 VMs) of `labctl validate --image`.")
    im_sub = im.add_subparsers(dest="action", required=True)
    ib = im_sub.add_parser("build", help="the Debian 12 host image, offline, cached by recipe",
                           description="Build the L1 host image (Debian 12, libvirt/QEMU/docker) offline, cached by recipe.")
    ib.add_argument("--omit", action="append", default=[], metavar="PKG",
                    help="leave a package of images/hostimage/packages.txt out (a variant with its own hash)")
    ib.add_argument("--force", action="store_true", help="rebuild even if the recipe's image is cached")
    ib.add_argument("--size", default=DEFAULT_SIZE, help=f"root file system size (default {DEFAULT_SIZE}; sparse)")
    ib.add_argument("-q", "--quiet", action="store_true", help="print only the image's directory")
    ib.set_defaults(func=cmd_image_build)
    g = sub.add_parser(
        "grade", help="grade the targets of an inventory (students' machines)",
        description="Grade every student of an inventory over SSH: checks only, nothing on their hosts changes. "
                    "Prints progress, then a table sorted by score; reports go to REPORT_DIR/<run-id>/. "
                    f"Exit status: 0 all graded, {EXIT_RERUN} some students need a re-run (ERROR checks), "
                    f"{EXIT_USAGE} bad input.")
    g.add_argument("--inventory", required=True, help="inventory YAML (format: harness/hosts/inventory.py)")
    g.add_argument("--host-key-policy", choices=("tofu", "strict", "ignore"),
                   help="SSH host keys: tofu (default: record on first use, refuse a change), strict, ignore")
    g.add_argument("--known-hosts", metavar="FILE", help="the harness's known_hosts file (default: in $LABHARNESS_CACHE/ssh)")
    run_opts(g)
    g.set_defaults(func=cmd_grade)
    d = sub.add_parser(
        "demo-class", help="make N simulated students (containers with sshd) and an inventory to grade them",
        description="Make a simulated class: student hosts as containers, in a mix of states (complete = the lab's "
                    "solution, partial = the solution plus some of its typical mistakes, broken = all of them, "
                    "unreachable, badkey = a key the hosts refuse, nodaemon = dockerd/libvirtd stopped), and write "
                    "an SSH inventory for them. Students in the same state SHARE one set of prepared hosts per lab "
                    "(grading is read-only): that is what makes 30 students affordable on 2 cores. Everything is "
                    "labelled with the demo's run id: remove it with --down or `labctl reap --run-id ID`.")
    d.add_argument("students", nargs="?", type=int, help="how many students")
    d.add_argument("--labs", help="comma-separated lab names (default: every lab)")
    d.add_argument("--out", default="class.yaml", help="the inventory to write (default: class.yaml); "
                                                       "beside it: .demo.json (states, expected results), .known_hosts")
    d.add_argument("--mix", metavar="STATE=N,...", help="states explicitly, e.g. complete=3,partial=2,unreachable=1")
    d.add_argument("--run-id", help="run id (default: demo-<generated>); with --down: the demo to remove")
    d.add_argument("--hours", type=float, default=4.0, help="keep the class at most this long (default: 4)")
    d.add_argument("-j", "--jobs", type=int, default=2, help="host sets prepared at once (default: 2)")
    d.add_argument("--down", action="store_true", help="remove the demo class of --out (or --run-id)")
    d.set_defaults(func=cmd_demo_class)
    r = sub.add_parser("reap", help="remove what dead runs left behind")
    r.add_argument("--run-id", help="remove this run's leftovers, alive or not (with those of its units on this worker: ID-u<N>a<N>)")
    r.add_argument("--dry-run", action="store_true", help="only list them")
    r.set_defaults(func=cmd_reap)
    rp = sub.add_parser("report", help="write a run's reports again from its journal (after a crash or Ctrl-C)")
    rp.add_argument("run_dir", metavar="RUN_DIR", help="the run's report directory, e.g. reports/<run-id>")
    rp.set_defaults(func=cmd_report)
    w = sub.add_parser("worker", help="run units of grade/validate runs for a controller (a Celery worker)",
                       description="A Celery worker: takes units (one target x one lab, or one lab to validate) "
                                   "from the broker and runs each as its own pytest session here. Start one per "
                                   "machine; runs use it with `labctl grade|validate --workers URL`.")
    w.add_argument("--broker", required=True, metavar="URL", help="the Redis broker, e.g. redis://controller:6379/0")
    w.add_argument("--concurrency", type=int, default=2, help="units at once (default: 2)")
    w.add_argument("--queues", default="grade,provision",
                   help="grade (SSH only) and/or provision (units that make hosts); default: both")
    w.add_argument("--name", help="worker name (default: lh-<pid>@<hostname>)")
    w.set_defaults(func=cmd_worker)
    ls = sub.add_parser("labs", help="list the labs")
    ls.set_defaults(func=cmd_labs)
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return ns.func(ns)
    except UsageError as exc:
        print(f"labctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("labctl: interrupted; leftovers of this run are removed by `labctl reap`", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
