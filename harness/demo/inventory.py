"""The files a demo class is graded from: its SSH inventory, known_hosts, a refused key, and each student's expected results."""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.core import artefacts
from harness.core import catalog
from harness.demo.hostsets import SHARED_NOTE, HostSets, host_keys, probed, stopped_host
from harness.demo.networks import void_address
from harness.demo.states import ERROR_STATES, NEEDS_HOSTS


@dataclass(frozen=True)
class ClassFiles:
    """The inventory ``<name>.yaml`` and the files beside it."""

    inventory: Path
    demo: Path  # <name>.demo.json: run id, each student's state and expected results
    known_hosts: Path
    wrong_key: Path


def paths_for(out: Path) -> ClassFiles:
    stem = out.with_suffix("") if out.suffix in (".yaml", ".yml") else out
    return ClassFiles(inventory=out, demo=Path(f"{stem}.demo.json"), known_hosts=Path(f"{stem}.known_hosts"),
                      wrong_key=Path(f"{stem}.wrong_key"))


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # no &id001 anchors: each student's entry reads on its own
        return True


def _write_known_hosts(path: Path, sets: HostSets) -> None:
    known: list[str] = []
    for h in sets.all_hosts():
        for kt, b64 in host_keys(h):
            known.append(f"{h.address} {kt} {b64}")
    path.write_text("\n".join(known) + "\n")


def _make_wrong_key(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
        Path(f"{path}.pub").unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "not-trusted-by-the-demo-hosts",
                    "-f", str(path)], check=True, capture_output=True, timeout=60)


def _roster(states: list[str], sets: HostSets, files: ClassFiles,
            unreachable: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Each student's state and expected results (for .demo.json), and their inventory targets."""
    students = {}
    targets = []
    width = max(2, len(str(len(states))))
    for i, state in enumerate(states, 1):
        name = f"s{i:0{width}d}"
        lab_hosts = {}
        expected = {}
        for lab in sets.lab_names:
            p = sets.prepared.get((lab, NEEDS_HOSTS.get(state, "")))
            entries = {}
            topology = catalog.all_labs()[lab].topology
            for spec in topology:
                if state == "unreachable":
                    entries[spec.name] = {"address": unreachable}
                elif state == "nodaemon":
                    entries[spec.name] = {"address": stopped_host(sets.stopped, spec.role).address}
                else:
                    entries[spec.name] = {"address": p.hosts[spec.name].address}
                    if state == "badkey":
                        entries[spec.name]["key_file"] = str(files.wrong_key)
            lab_hosts[lab] = entries
            if state == "nodaemon" and not any(probed(spec.role) for spec in topology):
                expected[lab] = {"outcome": None, "note": "no daemon to stop on its hosts: not predicted"}
            elif state == "nodaemon":
                expected[lab] = {"outcome": "FAIL", "note": "daemon stopped: every check FAILs with how to start it"}
            elif state in ERROR_STATES:
                expected[lab] = {"outcome": "ERROR"}
            else:
                expected[lab] = {"outcome": "GRADED", "fails": sorted(p.fails), "mistakes": list(p.mistakes)}
        students[name] = {"state": state, "labs": expected}
        targets.append({"name": name, "labs": sets.lab_names, "lab_hosts": lab_hosts})
    return students, targets


def write_inventory(files: ClassFiles, run_id: str, states: list[str], sets: HostSets) -> tuple[dict[str, Any], str | None]:
    """Write the inventory (strict host keys) and the files it names; return the students and the unreachable address."""
    _write_known_hosts(files.known_hosts, sets)
    unreachable = void_address(sets.all_hosts(), run_id) if "unreachable" in states else None
    if "badkey" in states:
        _make_wrong_key(files.wrong_key)
    students, targets = _roster(states, sets, files, unreachable)
    inventory = {
        "version": 1,
        "defaults": {"user": "root", "port": 22, "key_file": str(artefacts.ssh_key()), "connect_timeout": 5,
                     "host_key_policy": "strict", "known_hosts": str(files.known_hosts)},
        "targets": targets,
    }
    out = files.inventory
    header = (f"# demo class {run_id}: {len(states)} simulated students, made by `labctl demo-class`.\n"
              f"# {SHARED_NOTE}; states and expected results: {files.demo.name}\n"
              f"# remove with: labctl demo-class --down --out {out}   (or: labctl reap --run-id {run_id})\n")
    body = yaml.dump(inventory, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=200)
    for name, info in students.items():  # each student's state as a comment on its entry
        body = body.replace(f"- name: {name}\n", f"- name: {name}  # {info['state']}\n", 1)
    out.write_text(header + body)
    return students, unreachable
