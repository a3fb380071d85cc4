"""What a lab is: its topology, its course parameters and its solution steps.

Each lab package (``labs/<lab>/__init__.py``) defines ``LAB = Lab(...)``. The plugin reads
it to provision the topology; validate mode runs ``solution`` step by step (so a report can
name the step that broke). A lab's typical mistakes belong to its course replay
(``labs/<lab>/replay.py``, ``harness/core/replay.py``): typed the course's way, graded in the tests.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import HarnessError, UsageError
from harness.core.model import StepFailure


class Role(str, enum.Enum):
    """What a host of a topology is for: the daemons the course installs on it."""

    KVM_HOST = "kvm-host"  # libvirtd, virtlogd, QEMU, sshd
    DOCKER_HOST = "docker-host"  # dockerd, sshd
    STORAGE_HOST = "storage-host"  # GlusterFS server (NFS tools where the kernel has nfsd), sshd


#: a ``harness.hosts.host.Host``; core sits below the hosts room and never imports it
Host = Any


@dataclass(frozen=True)
class HostSpec:
    """One host of a topology, by the name the course uses and the role it plays."""

    name: str
    role: Role


@dataclass
class LabEnv:
    """A lab's hosts for one target, handed to solution steps, replay lines and checks."""

    lab: "Lab"
    target: str
    run_id: str
    hosts: dict[str, Host]
    params: Any  # the lab's Params dataclass instance
    accel: str = "tcg"  # how guests run on kvm-hosts here: "kvm" or "tcg" (<domain type='qemu'>)
    solution_failure: StepFailure | None = None
    # validate mode: the checks' outcomes on the fresh hosts, before the solution (harness/plugin/negative.py)
    negative_control: list = field(default_factory=list)
    step_times: dict[str, float] = field(default_factory=dict)
    started: float = 0.0  # time.monotonic() when provisioning began

    def __getitem__(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise HarnessError(f"target {self.target!r} has no host {name!r} (lab {self.lab.name} needs {', '.join(self.lab.host_names)})") from None

    @property
    def files(self) -> Path:
        return self.lab.files


Step = Callable[[LabEnv], None]


class Solution:
    """The course's steps for a lab, in order. Register them with ``@solution.step("...")``."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, Step]] = []

    def step(self, title: str) -> Callable[[Step], Step]:
        def register(fn: Step) -> Step:
            self.steps.append((title, fn))
            return fn

        return register

    def perform(self, env: LabEnv) -> StepFailure | None:
        """Run every step; stop at the first that raises and say which it was."""
        for title, fn in self.steps:
            t0 = time.monotonic()
            try:
                fn(env)
            except Exception as exc:  # the report names the step; checks still run
                env.step_times[title] = time.monotonic() - t0
                return StepFailure(step=title, message=f"{type(exc).__name__}: {exc}")
            env.step_times[title] = time.monotonic() - t0
        return None


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    topology: tuple[HostSpec, ...]
    params: type  # a dataclass whose defaults are the course's values
    package_dir: Path
    solution: Solution = field(default_factory=Solution)
    # Course images (Docker Hub names, e.g. "nginx:latest") its docker hosts must hold, as if
    # pulled; served by the stand-ins of images/standins/map.txt. None = every stand-in (slow:
    # loading all of them into a host costs tens of seconds).
    images: tuple[str, ...] | None = None

    @property
    def host_names(self) -> list[str]:
        return [h.name for h in self.topology]

    @property
    def roles(self) -> set[Role]:
        return {h.role for h in self.topology}

    @property
    def files(self) -> Path:
        return self.package_dir / "files"

    def make_params(self, overrides: Mapping[str, str]) -> Any:
        """The course's values, with ``name=value`` overrides converted to each field's type."""
        fields = {f.name: f for f in dataclasses.fields(self.params)}
        values: dict[str, Any] = {}
        for key, raw in overrides.items():
            if key not in fields:
                raise UsageError(f"lab {self.name} has no parameter {key!r} (it has: {', '.join(sorted(fields))})")
            default = getattr(self.params(), key)
            try:
                values[key] = type(default)(raw) if not isinstance(default, bool) else raw.lower() in ("1", "true", "yes")
            except ValueError:
                raise UsageError(f"lab {self.name}: parameter {key}={raw!r} is not a {type(default).__name__}") from None
        return self.params(**values)


def lab_of(module) -> Lab | None:
    """The Lab a test module belongs to: ``LAB`` of its package, if any."""
    package = getattr(module, "__package__", None)
    if not package:
        return None
    try:
        pkg = importlib.import_module(package)
    except ImportError:
        return None
    lab = getattr(pkg, "LAB", None)
    return lab if isinstance(lab, Lab) else None
