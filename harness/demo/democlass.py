"""A simulated class to grade: ``labctl demo-class N`` makes student machines and an inventory for them; ``--down`` removes them.

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

The parts: ``states`` (who is in which state), ``networks`` (the demo's small Docker networks),
``hostsets`` (making and preparing the hosts), ``inventory`` (the files written for them),
``keeper`` (the process holding the lock); this module puts them together.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from harness.core import artefacts
from harness.core import catalog
from harness.core.errors import UsageError
from harness.core.runs import LABEL_RUN, RunLock, new_run_id, valid_run_id
from harness.demo.hostsets import SHARED_NOTE, prepare_all, to_prepare
from harness.demo.inventory import paths_for, write_inventory
from harness.demo.keeper import start_keeper, stop_keepers
from harness.demo.states import STATES, default_mix, parse_mix

DEFAULT_HOURS = 4.0


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
    files = paths_for(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = RunLock(run_id)
    lock.acquire()
    t0 = time.monotonic()
    handed_over = False
    try:
        todo = to_prepare(selected, states)
        say(f"demo-class {run_id}: {len(states)} students ({', '.join(f'{s} {states.count(s)}' for s in STATES if s in states)}) "
            f"on {len(selected)} lab(s); preparing {len(todo)} host set(s), {jobs} at a time ({SHARED_NOTE})")
        sets = prepare_all(todo, selected, states, run_id, jobs, say)
        students, unreachable = write_inventory(files, run_id, states, sets)
        keeper = start_keeper(lock, run_id, hours)
        handed_over = True
        demo = {
            "run_id": run_id, "inventory": str(out), "keeper_pid": keeper, "hours": hours,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "labs": sets.lab_names, "excluded_labs": sets.excluded,
            "prepare_seconds": round(time.monotonic() - t0, 1), "shared_hosts": SHARED_NOTE,
            "unreachable_address": unreachable, "students": students,
        }
        files.demo.write_text(json.dumps(demo, indent=2, ensure_ascii=False) + "\n")
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
        else:
            lock.hand_over()  # the keeper holds the lock now: close our copy, keep the file


def down(out: Path | None = None, run_id: str | None = None, say: Callable[[str], None] = print) -> list[str]:
    """Remove a demo class: by its inventory (``--out``) or its run id. Returns what was removed."""
    from harness.provisioners.container import docker_client, remove_labelled

    demo = {}
    if run_id is None:
        if out is None:
            raise UsageError("demo-class --down: give --out INVENTORY (the demo's) or --run-id")
        p = paths_for(Path(out).resolve()).demo
        try:
            demo = json.loads(p.read_text())
        except OSError:
            raise UsageError(f"demo-class --down: {p} not found (was {out} made by labctl demo-class?)") from None
        run_id = demo["run_id"]
    if not run_id.startswith("demo-"):
        raise UsageError(f"demo-class --down: {run_id!r} is not a demo class (demo run ids start with 'demo-')")
    stop_keepers(run_id, demo.get("keeper_pid"))
    removed = remove_labelled(docker_client(), {LABEL_RUN: run_id})
    say(f"demo-class {run_id}: removed {len(removed)} object(s)" if removed else f"demo-class {run_id}: nothing left to remove")
    return removed
