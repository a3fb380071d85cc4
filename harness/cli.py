"""``labctl``: validate this machine (or an image), grade a class, reap leftovers, list labs.

It is a thin front for pytest: every command builds a pytest command line and runs it in
process, so ``labctl validate`` and ``pytest labs/ --mode validate`` are the same thing.
Bad input gets one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.errors import UsageError

EXIT_USAGE = 2


def _labs_arg(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _pytest(args: list[str]) -> int:
    import pytest

    return int(pytest.main(args))


def _common(ns: argparse.Namespace) -> list[str]:
    from harness import catalog

    labs = catalog.select(_labs_arg(ns.labs))
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
    from harness.provisioners.container import docker_client

    docker_client()  # one clear line when dockerd is down
    rc = _pytest(_common(ns) + ["--mode=validate", "--provisioner=container"])
    return 0 if rc == 0 else 1


def cmd_grade(ns: argparse.Namespace) -> int:
    from harness import catalog
    from harness.inventory import load_inventory

    load_inventory(ns.inventory, known_labs=list(catalog.all_labs()))  # fail fast with the line number
    rc = _pytest(_common(ns) + ["--mode=grade", f"--inventory={ns.inventory}"])
    # Students failing checks is the normal outcome of grading; only a broken run is an error.
    return 0 if rc in (0, 1) else rc


def cmd_reap(ns: argparse.Namespace) -> int:
    from harness import reap
    from harness.provisioners.container import docker_client

    lines = reap.reap(run_id=ns.run_id, dry_run=ns.dry_run, client=docker_client())
    verb = "would remove" if ns.dry_run else "removed"
    for line in lines:
        print(f"{verb}: {line}")
    print(f"{len(lines)} leftover(s) {verb.split()[-1]}" if lines else "no leftovers")
    return 0


def cmd_labs(ns: argparse.Namespace) -> int:
    from harness import catalog

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

    v = sub.add_parser("validate", help="provision hosts, run every lab's reference solution and its checks")
    run_opts(v)
    v.set_defaults(func=cmd_validate)
    g = sub.add_parser("grade", help="grade the targets of an inventory (students' machines)")
    g.add_argument("--inventory", required=True, help="inventory YAML")
    run_opts(g)
    g.set_defaults(func=cmd_grade)
    r = sub.add_parser("reap", help="remove what dead runs left behind")
    r.add_argument("--run-id", help="remove this run's leftovers, alive or not")
    r.add_argument("--dry-run", action="store_true", help="only list them")
    r.set_defaults(func=cmd_reap)
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
        return 130


if __name__ == "__main__":
    sys.exit(main())
