"""Making the demo's student hosts: one set per (lab, state), brought to that state by the course replay."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from harness.core import catalog
from harness.core import replay
from harness.core.errors import UsageError
from harness.core.lab import HostSpec, Lab, LabEnv
from harness.core.model import StepFailure
from harness.demo.networks import demo_provisioner
from harness.demo.states import NEEDS_HOSTS, STATES, mistakes_for
from harness.hosts.host import Host, Role

SHARED_NOTE = "students in the same state share one set of prepared hosts (grading is read-only)"


@dataclass
class Prepared:
    lab: Lab
    state: str  # complete | partial | broken | nodaemon
    hosts: dict[str, Host] = field(default_factory=dict)
    mistakes: tuple[str, ...] = ()
    fails: frozenset[str] = frozenset()
    error: str = ""  # why this lab had to be left out
    seconds: float = 0.0


@dataclass
class HostSets:
    """What preparing gave: the usable sets per (lab, state), the stopped-daemon set, the labs left out."""

    prepared: dict[tuple[str, str], Prepared]
    stopped: Prepared | None
    excluded: dict[str, str]  # lab -> why
    lab_names: list[str]  # the selected labs, less those left out

    def all_hosts(self) -> list[Host]:
        return ([h for p in self.prepared.values() for h in p.hosts.values()]
                + (list(self.stopped.hosts.values()) if self.stopped else []))


def _stop_daemons(host: Host) -> bool:
    """Stop the daemon a host's role promises; True when there was one."""
    role = getattr(host.role, "value", host.role)
    if role == Role.DOCKER_HOST.value:
        host.check("if command -v labharness-dockerd >/dev/null; then labharness-dockerd stop; else pkill -x dockerd; fi; "
                   "for i in $(seq 100); do docker info >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1", timeout=60)
        return True
    if role == Role.KVM_HOST.value:
        host.check("pkill -x libvirtd; for i in $(seq 100); do pgrep -x libvirtd >/dev/null || exit 0; sleep 0.1; done; exit 1",
                   timeout=30)
        return True
    return False


def prepare(prov, p: Prepared, run_id: str) -> Prepared:
    """Make one (lab, state)'s hosts and bring them to that state."""
    t0 = time.monotonic()
    try:
        p.hosts = prov.create(p.lab, p.state)
        env = LabEnv(lab=p.lab, target=p.state, run_id=run_id, hosts=p.hosts, params=p.lab.make_params({}))
        if p.state == "nodaemon":
            for h in p.hosts.values():
                _stop_daemons(h)
        else:
            rp = replay.load(p.lab.name)
            if rp is not None:  # a student who typed the notes' lines
                try:
                    rp.perform(env)
                    failure = None
                except Exception as exc:
                    failure = StepFailure(step="course replay", message=f"{type(exc).__name__}: {exc}")
            else:
                failure = p.lab.solution.perform(env)
            if failure:
                p.error = f"its {'course replay' if rp else 'reference solution'} broke at step {failure.step!r}: {failure.message[:300]}"
            else:
                for m in mistakes_for(p.lab, p.state):
                    try:
                        replay.run_actions(env, m.lines)
                    except Exception as exc:
                        p.error = f"applying its mistake {m.name!r} failed: {type(exc).__name__}: {str(exc)[:300]}"
                        break
                    p.mistakes += (m.name,)
                    p.fails |= m.fails
    except Exception as exc:
        p.error = f"preparing its {p.state} hosts failed: {type(exc).__name__}: {str(exc)[:300]}"
    p.seconds = time.monotonic() - t0
    return p


def probed(role) -> bool:
    """A role whose hosts run a daemon the checks read (dockerd, libvirtd)."""
    return getattr(role, "value", role) in (Role.DOCKER_HOST.value, Role.KVM_HOST.value)


def _stopped_lab(selected: list[Lab]) -> Lab:
    """A pseudo lab with one host per role the selected labs use (roles with a daemon first)."""
    roles = sorted({spec.role for lab in selected for spec in lab.topology}, key=lambda r: (not probed(r), r.value))
    topology = tuple(HostSpec(role.value.split("-")[0] + "01", role) for role in roles)
    return Lab(name="nodaemon", title="hosts whose daemon is down", topology=topology, params=_NoParams,
               package_dir=Path(__file__).parent)


@dataclass(frozen=True)
class _NoParams:
    pass


def stopped_host(p: Prepared, role) -> Host:
    """The host of the stopped-daemon set a student's host of ``role`` points at."""
    for spec in p.lab.topology:
        if spec.role == role:
            return p.hosts[spec.name]
    return next(iter(p.hosts.values()))


def host_keys(host: Host) -> list[tuple[str, str]]:
    """(key type, base64) of the host's SSH host keys, read through the container (not over SSH)."""
    out = host.check("cat /etc/ssh/ssh_host_ed25519_key.pub /etc/ssh/ssh_host_ecdsa_key.pub 2>/dev/null || true")
    keys = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            keys.append((parts[0], parts[1]))
    return keys


def wanted_states(states: list[str]) -> list[str]:
    """The lab host states the class's students use (``badkey`` students use the ``complete`` hosts)."""
    return sorted({NEEDS_HOSTS[s] for s in states if s in NEEDS_HOSTS}, key=STATES.index)


def to_prepare(selected: list[Lab], states: list[str]) -> list[Prepared]:
    """One set per (lab, state); for ``nodaemon`` one host per role, for every lab (the daemon's absence is all that matters)."""
    todo = [Prepared(lab, state) for lab in selected for state in wanted_states(states)]
    if "nodaemon" in states:
        todo.append(Prepared(_stopped_lab(selected), "nodaemon"))
    return todo


def prepare_all(todo: list[Prepared], selected: list[Lab], states: list[str], run_id: str, jobs: int,
                say: Callable[[str], None]) -> HostSets:
    """Prepare the sets ``jobs`` at a time; a lab whose set broke is left out (its hosts removed)."""
    def one(p: Prepared) -> Prepared:
        prepare(demo_provisioner(run_id), p, run_id)
        say(f"  {p.lab.name}/{p.state}: " + (f"LEFT OUT: {p.error}" if p.error else
            f"ready in {p.seconds:.0f}s" + (f" (mistakes: {', '.join(p.mistakes)})" if p.mistakes else "")))
        return p

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(one, todo))
    stopped = next((p for p in done if p.state == "nodaemon"), None)
    if stopped and stopped.error:
        raise UsageError(f"demo-class: {stopped.error}")
    excluded = {p.lab.name: f"{p.state}: {p.error}" for p in done if p.error}
    prepared = {(p.lab.name, p.state): p for p in done if p.lab.name not in excluded and p is not stopped}
    lab_names = [lab.name for lab in selected if lab.name not in excluded]
    prov = demo_provisioner(run_id)
    for name in excluded:
        for state in wanted_states(states):
            with contextlib.suppress(Exception):
                prov.destroy(catalog.all_labs()[name], state)
    if not lab_names and selected:
        raise UsageError("demo-class: no lab could be prepared: " + "; ".join(f"{k}: {v}" for k, v in excluded.items()))
    return HostSets(prepared=prepared, stopped=stopped, excluded=excluded, lab_names=lab_names)
