"""A simulated class to grade: ``labctl demo-class N`` makes student machines and an inventory for them.

Each simulated student is in one state:

| state | their hosts |
|---|---|
| ``complete`` | the lab's course replay (the notes' own lines, ``labs/<lab>/replay.py``): full marks |
| ``partial`` | the replay, then every other one of its typical mistakes, typed the course's way |
| ``broken`` | the replay, then all of its typical mistakes |

(A lab without a course replay would be made by its reference solution, with no mistakes.)
| ``unreachable`` | an address of the demo's own Docker network where nothing answers: ERROR, re-run |
| ``badkey`` | the ``complete`` hosts, with a private key they do not trust: ERROR (login refused) |
| ``nodaemon`` | a fresh host per role whose dockerd / libvirtd was stopped: FAIL everywhere, with the hint to start it (the student's state) |

Hosts are containers made by the container provisioner (sshd inside, root trusts the harness
key), one set per (lab, state) — and for ``nodaemon`` one host per role for every lab — on small
networks of their own (``LABHARNESS_DEMO_SUBNETS``): **students in the same state share the same
prepared hosts**.
Grading is read-only, so sharing changes no outcome, and it is what makes a class of 30 on
every lab affordable on a 2-core machine (one solution run per lab and state, not per student).
Each student still gets their own SSH connections, as with real machines.

Everything carries the demo's run id (``demo-...``). A small keeper process holds the run's lock
while the class lives (at most ``--hours``), so other runs' start-up reaping leaves it alone;
``labctl demo-class --down`` or ``labctl reap --run-id <id>`` removes it (the keeper then exits).

Beside the inventory ``<name>.yaml`` it writes ``<name>.demo.json`` (run id, each student's state
and the checks expected to FAIL per lab: what tests and the benchmark compare grades with),
``<name>.known_hosts`` (the hosts' keys, read from the containers: the inventory uses the
``strict`` host-key policy) and, with a ``badkey`` student, ``<name>.wrong_key``.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.core import catalog
from harness.core import artefacts
from harness.core import replay
from harness.core.errors import UsageError
from harness.hosts.host import Host, Role
from harness.core.lab import HostSpec, Lab, LabEnv
from harness.core.model import StepFailure
from harness.core.runs import LABEL_RUN, RunLock, lock_dir, new_run_id, valid_run_id

log = logging.getLogger(__name__)

STATES = ("complete", "partial", "broken", "unreachable", "badkey", "nodaemon")
NEEDS_HOSTS = {"complete": "complete", "partial": "partial", "broken": "broken",
               "badkey": "complete"}  # state -> the prepared lab hosts it uses
ERROR_STATES = ("unreachable", "badkey")
DEFAULT_HOURS = 4.0
SHARED_NOTE = "students in the same state share one set of prepared hosts (grading is read-only)"


# --------------------------------------------------------------------------- who is in which state


def default_mix(n: int) -> list[str]:
    """States for ``n`` students: mostly complete/partial/broken, a few needing a re-run."""
    if n < 1:
        raise UsageError("demo-class: the class needs at least 1 student")
    if n < 4:
        return ["complete", "partial", "broken"][:n]
    counts = {"unreachable": max(1, n // 10), "badkey": 1 if n >= 10 else 0, "nodaemon": 1 if n >= 10 else 0}
    rest = n - sum(counts.values())
    counts["broken"] = max(1, rest // 4)
    counts["partial"] = max(1, round(rest * 0.4))
    counts["complete"] = rest - counts["broken"] - counts["partial"]
    return interleave(counts)


def interleave(counts: dict[str, int]) -> list[str]:
    """Spread the states over the roster (s01 complete, s02 partial, s03 broken, ...)."""
    left = {s: counts.get(s, 0) for s in STATES}
    out: list[str] = []
    while any(left.values()):
        for s in STATES:
            if left[s]:
                out.append(s)
                left[s] -= 1
    return out


def parse_mix(text: str, n: int | None) -> list[str]:
    counts: dict[str, int] = {}
    for part in text.split(","):
        state, sep, count = part.strip().partition("=")
        if not sep or state not in STATES or not count.isdigit():
            raise UsageError(f"--mix {text!r}: expected STATE=COUNT,... with states {', '.join(STATES)}")
        counts[state] = counts.get(state, 0) + int(count)
    total = sum(counts.values())
    if n is not None and total != n:
        raise UsageError(f"--mix gives {total} students, but the class has {n}")
    if total < 1:
        raise UsageError("--mix: the class needs at least 1 student")
    return interleave(counts)


# --------------------------------------------------------------------------- preparing hosts


SUBNETS = os.environ.get("LABHARNESS_DEMO_SUBNETS", "10.214.0.0/16")  # where the demo's networks go
SUBNET_PREFIX = 26  # 62 addresses: plenty for one lab's hosts
_SUBNET_LOCK = threading.Lock()


def _used_subnets(client) -> list:
    used = []
    for net in client.networks.list():
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            with contextlib.suppress(KeyError, ValueError):
                used.append(ipaddress.ip_network(cfg["Subnet"]))
    for line in subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout.splitlines():
        with contextlib.suppress(ValueError, IndexError):
            used.append(ipaddress.ip_network(line.split()[0]))
    return used


class _SmallNetworks:
    """``client.networks`` whose ``create`` gives each network a /26 of ``SUBNETS``.

    The container provisioner lets Docker pick a subnet, and Docker's default pools hold about
    thirty networks (a /16 or /20 each) for the whole machine: a class on every lab needs more
    than that (one network per lab and state), and would starve every other run. Small subnets
    from a range of their own keep the demo to itself.
    """

    def __init__(self, client):
        self._client = client
        self._networks = client.networks

    def __getattr__(self, name):
        return getattr(self._networks, name)

    def create(self, name, **kwargs):
        import docker.errors
        import docker.types

        if "ipam" in kwargs:
            return self._networks.create(name, **kwargs)
        with _SUBNET_LOCK:
            used = _used_subnets(self._client)
            for subnet in ipaddress.ip_network(SUBNETS).subnets(new_prefix=SUBNET_PREFIX):
                if any(subnet.overlaps(u) for u in used if u.prefixlen > 0):
                    continue
                pool = docker.types.IPAMPool(subnet=str(subnet))
                try:
                    return self._networks.create(name, ipam=docker.types.IPAMConfig(pool_configs=[pool]), **kwargs)
                except docker.errors.APIError as exc:
                    if "overlap" not in str(exc).lower():
                        raise
                    used.append(subnet)  # taken meanwhile by another process: the next one
        raise UsageError(f"demo-class: no free /{SUBNET_PREFIX} left in {SUBNETS} (LABHARNESS_DEMO_SUBNETS)")


class _DemoClient:
    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    @property
    def networks(self):
        return _SmallNetworks(self._client)


def demo_provisioner(run_id: str):
    """The container provisioner, with the demo's small networks."""
    from harness.provisioners.container import ContainerProvisioner

    prov = ContainerProvisioner(run_id=run_id)
    prov.client = _DemoClient(prov.client)
    return prov


@dataclass
class Prepared:
    lab: Lab
    state: str  # complete | partial | broken | nodaemon
    hosts: dict[str, Host] = field(default_factory=dict)
    mistakes: tuple[str, ...] = ()
    fails: frozenset[str] = frozenset()
    error: str = ""  # why this lab had to be left out
    seconds: float = 0.0


def mistakes_for(lab: Lab, state: str):
    """The typical mistakes a student in ``state`` made: the course replay's, typed the course's way."""
    rp = replay.load(lab.name)
    pool = rp.mistakes if rp is not None else ()
    if state == "partial":
        return pool[::2]
    if state == "broken":
        return pool
    return ()


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


def _probed(role) -> bool:
    return getattr(role, "value", role) in (Role.DOCKER_HOST.value, Role.KVM_HOST.value)


def _stopped_lab(selected: list[Lab]) -> Lab:
    """A pseudo lab with one host per role the selected labs use (roles with a daemon first)."""
    roles = sorted({spec.role for lab in selected for spec in lab.topology}, key=lambda r: (not _probed(r), r.value))
    topology = tuple(HostSpec(role.value.split("-")[0] + "01", role) for role in roles)
    return Lab(name="nodaemon", title="hosts whose daemon is down", topology=topology, params=_NoParams,
               package_dir=Path(__file__).parent)


@dataclass(frozen=True)
class _NoParams:
    pass


def _stopped_host(p: Prepared, role) -> Host:
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


def void_address(hosts: list[Host], run_id: str) -> str:
    """An address on one of the demo's own Docker networks that no container uses (a network of
    its own, labelled with the run id, when the class has no prepared hosts at all)."""
    from harness.provisioners.container import docker_client
    from harness.core.runs import NAME_PREFIX

    client = docker_client()
    for h in hosts:
        name = h.access.container
        if not name:
            continue
        c = client.containers.get(name)
        for net in c.attrs["NetworkSettings"]["Networks"].values():
            if net.get("IPAddress") and net.get("IPPrefixLen"):
                network = ipaddress.ip_interface(f"{net['IPAddress']}/{net['IPPrefixLen']}").network
                return str(network.broadcast_address - 6)
    net = _SmallNetworks(client).create(f"{NAME_PREFIX}{run_id}-void", driver="bridge", labels={LABEL_RUN: run_id})
    net.reload()
    subnet = net.attrs["IPAM"]["Config"][0]["Subnet"]
    return str(ipaddress.ip_network(subnet).broadcast_address - 6)


# --------------------------------------------------------------------------- the class


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data) -> bool:  # no &id001 anchors: each student's entry reads on its own
        return True



def paths_for(out: Path) -> dict[str, Path]:
    stem = out.with_suffix("") if out.suffix in (".yaml", ".yml") else out
    return {"inventory": out, "demo": Path(f"{stem}.demo.json"), "known_hosts": Path(f"{stem}.known_hosts"),
            "wrong_key": Path(f"{stem}.wrong_key")}


def up(n: int | None, labs: list[str] | None, out: Path, mix: str | None = None, run_id: str | None = None,
       hours: float = DEFAULT_HOURS, jobs: int = 2, say: Callable[[str], None] = print) -> dict:
    """Make the class; return what ``<name>.demo.json`` holds."""
    from harness.provisioners.container import docker_client

    docker_client()  # one clear line when dockerd is down
    artefacts.require(artefacts.ssh_key(), "the harness's SSH key")
    states = parse_mix(mix, n) if mix else default_mix(n or 0)
    selected = catalog.select(labs)
    run_id = run_id or f"demo-{new_run_id()}"
    if not valid_run_id(run_id):
        raise UsageError(f"--run-id {run_id!r}: use 3-41 lowercase letters, digits and dashes")
    out = Path(out).resolve()
    paths = paths_for(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_id)
    lock.acquire()
    t0 = time.monotonic()
    handed_over = False
    try:
        wanted = sorted({NEEDS_HOSTS[s] for s in states if s in NEEDS_HOSTS}, key=STATES.index)
        todo = [Prepared(lab, state) for lab in selected for state in wanted]
        if "nodaemon" in states:  # the daemon's absence is all that matters: one host per role, for every lab
            todo.append(Prepared(_stopped_lab(selected), "nodaemon"))
        say(f"demo-class {run_id}: {len(states)} students ({', '.join(f'{s} {states.count(s)}' for s in STATES if s in states)}) "
            f"on {len(selected)} lab(s); preparing {len(todo)} host set(s), {jobs} at a time ({SHARED_NOTE})")

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
            for state in wanted:
                with contextlib.suppress(Exception):
                    prov.destroy(catalog.all_labs()[name], state)
        if not lab_names and selected:
            raise UsageError("demo-class: no lab could be prepared: " + "; ".join(f"{k}: {v}" for k, v in excluded.items()))

        # the inventory
        known: list[str] = []
        all_hosts = [h for p in prepared.values() for h in p.hosts.values()] + (list(stopped.hosts.values()) if stopped else [])
        for h in all_hosts:
            for kt, b64 in host_keys(h):
                known.append(f"{h.address} {kt} {b64}")
        paths["known_hosts"].write_text("\n".join(known) + "\n")
        unreachable = void_address(all_hosts, run_id) if "unreachable" in states else None
        if "badkey" in states:
            with contextlib.suppress(FileNotFoundError):
                paths["wrong_key"].unlink()
                Path(f"{paths['wrong_key']}.pub").unlink()
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "not-trusted-by-the-demo-hosts",
                            "-f", str(paths["wrong_key"])], check=True, capture_output=True, timeout=60)
        students = {}
        targets = []
        width = max(2, len(str(len(states))))
        for i, state in enumerate(states, 1):
            name = f"s{i:0{width}d}"
            lab_hosts = {}
            expected = {}
            for lab in lab_names:
                p = prepared.get((lab, NEEDS_HOSTS.get(state, "")))
                entries = {}
                topology = catalog.all_labs()[lab].topology
                for spec in topology:
                    if state == "unreachable":
                        entries[spec.name] = {"address": unreachable}
                    elif state == "nodaemon":
                        entries[spec.name] = {"address": _stopped_host(stopped, spec.role).address}
                    else:
                        entries[spec.name] = {"address": p.hosts[spec.name].address}
                        if state == "badkey":
                            entries[spec.name]["key_file"] = str(paths["wrong_key"])
                lab_hosts[lab] = entries
                if state == "nodaemon" and not any(_probed(spec.role) for spec in topology):
                    expected[lab] = {"outcome": None, "note": "no daemon to stop on its hosts: not predicted"}
                elif state == "nodaemon":
                    expected[lab] = {"outcome": "FAIL", "note": "daemon stopped: every check FAILs with how to start it"}
                elif state in ERROR_STATES:
                    expected[lab] = {"outcome": "ERROR"}
                else:
                    expected[lab] = {"outcome": "GRADED", "fails": sorted(p.fails), "mistakes": list(p.mistakes)}
            students[name] = {"state": state, "labs": expected}
            targets.append({"name": name, "labs": lab_names, "lab_hosts": lab_hosts})
        inventory = {
            "version": 1,
            "defaults": {"user": "root", "port": 22, "key_file": str(artefacts.ssh_key()), "connect_timeout": 5,
                         "host_key_policy": "strict", "known_hosts": str(paths["known_hosts"])},
            "targets": targets,
        }
        header = (f"# demo class {run_id}: {len(states)} simulated students, made by `labctl demo-class`.\n"
                  f"# {SHARED_NOTE}; states and expected results: {paths['demo'].name}\n"
                  f"# remove with: labctl demo-class --down --out {out}   (or: labctl reap --run-id {run_id})\n")
        body = yaml.dump(inventory, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=200)
        for name, info in students.items():  # each student's state as a comment on its entry
            body = body.replace(f"- name: {name}\n", f"- name: {name}  # {info['state']}\n", 1)
        out.write_text(header + body)
        keeper = _start_keeper(lock, run_id, hours)
        handed_over = True
        demo = {
            "run_id": run_id, "inventory": str(out), "keeper_pid": keeper, "hours": hours,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "labs": lab_names, "excluded_labs": excluded,
            "prepare_seconds": round(time.monotonic() - t0, 1), "shared_hosts": SHARED_NOTE,
            "unreachable_address": unreachable, "students": students,
        }
        paths["demo"].write_text(json.dumps(demo, indent=2, ensure_ascii=False) + "\n")
        say(f"demo-class {run_id}: ready in {time.monotonic() - t0:.0f}s; inventory {out}")
        say(f"  grade it:  labctl grade --inventory {out} -j auto")
        say(f"  remove it: labctl demo-class --down --out {out}   (kept at most {hours:g} h)")
        return demo
    except BaseException:
        from harness.provisioners.container import remove_labelled

        with contextlib.suppress(Exception):
            remove_labelled(docker_client(), {LABEL_RUN: run_id})
        raise
    finally:
        if not handed_over:
            lock.release()
        elif lock._fd is not None:  # the keeper holds the lock now: close our copy, keep the file
            os.close(lock._fd)
            lock._fd = None


def _start_keeper(lock: RunLock, run_id: str, hours: float) -> int:
    """A detached process that inherits the run's lock (same open file) and holds it while the class lives."""
    fd = lock._fd
    assert fd is not None
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.demo.democlass", "keep", run_id, str(fd), str(hours)],
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
    return b"harness.demo.democlass" in cmd and b"keep" in cmd and run_id.encode() in cmd


def down(out: Path | None = None, run_id: str | None = None, say: Callable[[str], None] = print) -> list[str]:
    """Remove a demo class: by its inventory (``--out``) or its run id. Returns what was removed."""
    from harness.provisioners.container import docker_client, remove_labelled

    demo = {}
    if run_id is None:
        if out is None:
            raise UsageError("demo-class --down: give --out INVENTORY (the demo's) or --run-id")
        p = paths_for(Path(out).resolve())["demo"]
        try:
            demo = json.loads(p.read_text())
        except OSError:
            raise UsageError(f"demo-class --down: {p} not found (was {out} made by labctl demo-class?)") from None
        run_id = demo["run_id"]
    if not run_id.startswith("demo-"):
        raise UsageError(f"demo-class --down: {run_id!r} is not a demo class (demo run ids start with 'demo-')")
    pids = [demo["keeper_pid"]] if demo.get("keeper_pid") else []
    pids += [int(d) for d in os.listdir("/proc") if d.isdigit() and int(d) not in pids]
    for pid in pids:
        if _is_keeper(pid, run_id):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not _is_keeper(pid, run_id):
                    break
                time.sleep(0.1)
    removed = remove_labelled(docker_client(), {LABEL_RUN: run_id})
    say(f"demo-class {run_id}: removed {len(removed)} object(s)" if removed else f"demo-class {run_id}: nothing left to remove")
    return removed


def main(argv: list[str] | None = None) -> int:  # the keeper's entry point: python -m harness.demo.democlass keep ...
    ap = argparse.ArgumentParser(prog="python -m harness.demo.democlass")
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keep")
    k.add_argument("run_id")
    k.add_argument("fd", type=int)
    k.add_argument("hours", type=float)
    ns = ap.parse_args(argv)
    return keep(ns.run_id, ns.fd, ns.hours)


if __name__ == "__main__":
    sys.exit(main())
