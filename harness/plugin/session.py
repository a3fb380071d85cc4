"""The run's session: its id, mode and provisioner, the targets, and each lab environment's life
(reaping a dead run's leftovers, provisioning with retries, negative control and solution, teardown)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path

import pytest

from harness import provisioners
from harness.core.errors import ProvisioningError, UsageError
from harness.core.lab import Lab, LabEnv
from harness.core.model import EnvRecord, RunResult
from harness.core.runs import RunLock, new_run_id, valid_run_id
from harness.plugin import negative
from harness.plugin.keys import SESSION_KEY
from harness.plugin.options import parse_params
from harness.provisioners.base import Provisioner

log = logging.getLogger("labharness")

PROVISION_ATTEMPTS = 2
LABS_DIR = Path(__file__).resolve().parents[2] / "labs"


class LabSession:
    """Per-process state of a lab run: the run id, the provisioner, open environments, results."""

    def __init__(self, config: pytest.Config):
        self.config = config
        opt = config.option
        self.worker = hasattr(config, "workerinput")
        if self.worker:
            self.run_id = config.workerinput["lh_run_id"]  # type: ignore[attr-defined]
        else:
            self.run_id = opt.lh_run_id or new_run_id()
            if not valid_run_id(self.run_id):
                raise UsageError(f"--run-id {self.run_id!r}: use 3-41 lowercase letters, digits and dashes")
        self.inventory_path = opt.lh_inventory
        self.provisioner_name = provisioners.choose(opt)
        self.provisioner_cls = provisioners.provisioner_class(self.provisioner_name)
        self.mode = opt.lh_mode or self.provisioner_cls.default_mode()
        self.provisioner_cls.check_options(opt, self.mode)
        self.keep = opt.lh_keep
        self.report_dir = Path(opt.lh_report_dir).resolve() / self.run_id
        self.param_overrides = parse_params(opt.lh_params)
        self.lock: RunLock | None = None
        self._provisioner: Provisioner | None = None
        self.result = RunResult(self.run_id, self.mode, self.provisioner_name,
                                started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        if not self.worker:
            self.result.environment.update(self.provisioner_cls.describe_options(opt))
        self.envs_done: list[EnvRecord] = []  # finished environments, shipped with the next teardown report
        self.unclean: set[tuple[str, str]] = set()  # (lab, target) with a non-PASS check, for --keep failed
        self.accel = "tcg"
        self.accel_reason = "not probed"
        self._reaped = False
        self.recorder = None  # harness.plugin.recording.Recorder, on the process that writes reports

    @property
    def provisioner(self) -> Provisioner:
        if self._provisioner is None:
            self._provisioner = self.provisioner_cls.from_options(self.config.option, self.run_id)
        return self._provisioner

    def plan_only(self, provisioner: Provisioner) -> None:
        """Collect with ``provisioner`` in place of the real one: a controller that only plans while
        the hosts are made elsewhere (``harness.distributed``) needs no dockerd nor KVM probe here."""
        self._provisioner = provisioner

    def targets_for(self, lab: Lab) -> list[str]:
        prov = self.provisioner
        return [t for t in prov.targets() if (prov.labs_for(t) is None or lab.name in prov.labs_for(t))]

    def reap_stale(self) -> None:
        """A run starts by removing what dead runs left behind (never a live run's hosts)."""
        if self._reaped or not self.provisioner_cls.creates_hosts:
            return
        self._reaped = True
        from harness.provisioners import reap

        for line in reap.reap(dry_run=False):
            log.warning("reaped leftover of a dead run: %s", line)

    def open_env(self, lab: Lab, target: str) -> LabEnv:
        self.reap_stale()
        params = lab.make_params(self.param_overrides.get(lab.name, {}))
        t0 = time.monotonic()
        last: Exception | None = None
        for attempt in range(1, PROVISION_ATTEMPTS + 1):  # retry provisioning, never a check
            try:
                hosts = self.provisioner.create(lab, target)
                break
            except Exception as exc:
                if not self.provisioner.creates_hosts:
                    raise  # existing hosts (an inventory): the reason as it is; the SSH backend retried already
                last = exc
                log.warning("provisioning %s for %s failed (attempt %d): %s", lab.name, target, attempt, exc)
                self._destroy_quietly(lab, target)
            except BaseException:  # Ctrl-C in the middle: leave nothing behind
                self._destroy_quietly(lab, target)
                raise
        else:
            raise ProvisioningError(f"could not provision {lab.name} for {target} after {PROVISION_ATTEMPTS} attempts: {last}")
        self.accel, self.accel_reason = self.provisioner.guest_accel
        env = LabEnv(lab=lab, target=target, run_id=self.run_id, hosts=hosts, params=params, accel=self.accel or "tcg")
        env.started = t0
        env.step_times["provision"] = time.monotonic() - t0
        if self.mode == "validate":
            try:
                if self.config.option.lh_negative_control:
                    t1 = time.monotonic()
                    env.negative_control = [o.to_dict() for o in negative.run_fresh(env)]
                    env.step_times["negative control"] = time.monotonic() - t1
                env.solution_failure = lab.solution.perform(env)
            except BaseException:  # interrupted while solving: the fixture never yields, so clean here
                self._destroy_quietly(lab, target)
                raise
        return env

    def _destroy_quietly(self, lab: Lab, target: str) -> None:
        if not self.provisioner.creates_hosts:
            return
        try:
            self.provisioner.destroy(lab, target)
        except Exception as exc:
            log.warning("removing the hosts of %s/%s failed: %s (labctl reap will)", lab.name, target, exc)

    def close_env(self, env: LabEnv) -> None:
        for host in env.hosts.values():
            host.close()
        unclean = (env.lab.name, env.target) in self.unclean
        keep = self.keep == "always" or (self.keep == "failed" and unclean)
        if keep:
            log.warning("keeping the hosts of %s/%s (run %s): remove them with `labctl reap --run-id %s`",
                        env.lab.name, env.target, self.run_id, self.run_id)
        elif self.provisioner.creates_hosts:
            self.provisioner.destroy(env.lab, env.target)
        self.envs_done.append(EnvRecord(
            lab=env.lab.name,
            target=env.target,
            duration=time.monotonic() - env.started,
            solution_failure=env.solution_failure,
            steps=dict(env.step_times),
            kept=keep,
            negative_control=env.negative_control,
            accel=f"{self.accel} ({self.accel_reason})" if self.accel else "",
        ))


def session_of(config: pytest.Config) -> LabSession:
    """The run's session, made by the plugin's ``pytest_configure``."""
    return config.stash[SESSION_KEY]


def touches_labs(path: Path) -> bool:
    """True when ``path`` is ``labs/``, inside it, or holds it."""
    p = path.resolve()
    return p == LABS_DIR or LABS_DIR in p.parents or p in LABS_DIR.parents


def looks_like_lab_session(config: pytest.Config) -> bool:
    """True when the run may collect lab checks, so reports and ownership are worth setting up."""
    if config.option.lh_mode or config.option.lh_inventory:
        return True
    args = [a.split("::")[0] for a in config.args if not a.startswith("-")] or ["."]
    return any(touches_labs(Path(a)) for a in args)
