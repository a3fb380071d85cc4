"""The pytest plugin: options, markers, per-target parametrization, lab environments, grading.

A check is a test in ``labs/<lab>/test_*.py`` with ``@pytest.mark.points(n)`` and
``@pytest.mark.hint(zh=..., en=...)``. It asks for hosts by their topology names (fixtures
in the lab's conftest) and asserts on the student's state. The plugin:

- parametrizes every check per target (``test_x[alice]``; ``[validate]`` in validate mode);
- gives each (lab, target) one environment, module-scoped: provisioned (with retries) and,
  in validate mode, solved step by step before its checks run, torn down after them;
- classifies outcomes: AssertionError in a check = FAIL; any other exception, or a broken
  fixture = ERROR (never counted against the student); a missing capability = SKIP;
- ships each result to the controller in the test report (works under xdist), and writes
  ``grades.json``, ``grades.csv``, ``report.html``, ``junit.xml`` and ``allure-results/``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import pytest

from harness.plugin import capabilities
from harness.core import evidence
from harness.plugin import negative
from harness import provisioners
from harness.core.errors import HarnessError, ProvisioningError, UsageError
from harness.hosts.host import Host
from harness.plugin.keys import ENV_KEY, RESULT_KEY, SESSION_KEY  # noqa: F401 - ENV_KEY: re-exported
from harness.core.lab import Lab, LabEnv, lab_of
from harness.core.model import CheckResult, Hint, Outcome, RunResult
from harness.provisioners import NAMES as PROVISIONERS
from harness.provisioners.base import Provisioner
from harness.core.runs import RunLock, new_run_id, valid_run_id

log = logging.getLogger("labharness")

PROVISION_ATTEMPTS = 2
LABS_DIR = Path(__file__).resolve().parents[2] / "labs"


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("labharness", "lab harness (grading and validation of course labs)")
    g.addoption("--mode", dest="lh_mode", choices=("grade", "validate"), default=None,
                help="validate: provision hosts and run each lab's reference solution before its checks (default); "
                     "grade: only run checks against existing hosts (needs --inventory)")
    g.addoption("--inventory", dest="lh_inventory", default=None, metavar="YAML",
                help="the targets (students) and their hosts; implies --provisioner static")
    g.addoption("--provisioner", dest="lh_provisioner", default=None, choices=PROVISIONERS,
                help="who makes the hosts: container (default), static (inventory), libvirt")
    g.addoption("--report-dir", dest="lh_report_dir", default="reports", metavar="DIR",
                help="reports go to DIR/<run-id>/ (default: ./reports)")
    g.addoption("--keep", dest="lh_keep", choices=("never", "failed", "always"), default="never",
                help="keep provisioned hosts after a lab: never, when a check did not pass, always")
    g.addoption("--run-id", dest="lh_run_id", default=None, help="label for everything this run creates (default: generated)")
    g.addoption("--lab-param", dest="lh_params", action="append", default=[], metavar="LAB.NAME=VALUE",
                help="override a course value, e.g. --lab-param disk_images.data_dir=/srv/data")
    g.addoption("--host-image", dest="lh_host_image", default=None, metavar="PATH",
                help="libvirt provisioner (implied): boot the hosts from this host image (a directory made by "
                     "`labctl image build`, its disk.qcow2, or 'latest')")
    g.addoption("--hypervisor", dest="lh_hypervisors", action="append", default=[], metavar="URI",
                help="libvirt provisioner: a libvirt URI to run host VMs on, repeatable (default qemu:///system)")
    g.addoption("--host-key-policy", dest="lh_host_key_policy", default=None, choices=("tofu", "strict", "ignore"),
                help="SSH host keys of an inventory's hosts: tofu (record on first use, refuse a change; the default), "
                     "strict (only hosts already in known_hosts), ignore; overrides the inventory's host_key_policy")
    g.addoption("--no-negative-control", dest="lh_negative_control", action="store_false", default=True,
                help="validate mode: do not run each lab's checks on its fresh hosts before the solution "
                     "(the negative control, harness/plugin/negative.py)")
    g.addoption("--known-hosts", dest="lh_known_hosts", default=None, metavar="FILE",
                help="the harness's known_hosts file (default: $LABHARNESS_CACHE/ssh/known_hosts); overrides the inventory's")


# --------------------------------------------------------------------------- session state


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
        self.param_overrides = _parse_params(opt.lh_params)
        self.lock: RunLock | None = None
        self._provisioner: Provisioner | None = None
        self.result = RunResult(self.run_id, self.mode, self.provisioner_name,
                                started=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        if not self.worker:
            self.result.environment.update(self.provisioner_cls.describe_options(opt))
        self.envs_done: list[dict[str, Any]] = []  # finished environments, shipped with the next teardown report
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
        self.envs_done.append({
            "lab": env.lab.name,
            "target": env.target,
            "duration": time.monotonic() - env.started,
            "solution_failure": {"step": env.solution_failure.step, "message": env.solution_failure.message}
            if env.solution_failure else None,
            "steps": env.step_times,
            "kept": keep,
            "negative_control": env.negative_control,
            "accel": f"{self.accel} ({self.accel_reason})" if self.accel else "",
        })


def _parse_params(raw: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        lab, dot, name = key.partition(".")
        if not sep or not dot or not lab or not name:
            raise UsageError(f"--lab-param {item!r}: expected LAB.NAME=VALUE")
        out.setdefault(lab, {})[name] = value
    return out


def _session(config: pytest.Config) -> LabSession:
    return config.stash[SESSION_KEY]


def _looks_like_lab_session(config: pytest.Config) -> bool:
    """True when the run may collect lab checks, so reports and ownership are worth setting up."""
    if config.option.lh_mode or config.option.lh_inventory:
        return True
    args = [a.split("::")[0] for a in config.args if not a.startswith("-")] or ["."]
    for a in args:
        p = Path(a).resolve()
        if p == LABS_DIR or LABS_DIR in p.parents or p in LABS_DIR.parents:
            return True
    return False


# --------------------------------------------------------------------------- configure


@pytest.hookimpl(tryfirst=True)  # before junitxml and allure read their options
def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "lab(name): the lab a check belongs to (set automatically from labs/<lab>/)",
        "points(n): points a check is worth",
        "hint(zh, en): what to tell the student when the check fails, in Chinese and English",
        "requires(capability): SKIP the check with a reason where the capability is absent here",
        "slow: takes long on real daemons; run in CI all the same",
        "kvm: a lab on KVM hosts (libvirt, QEMU)",
        "docker: a lab on Docker hosts",
    ):
        config.addinivalue_line("markers", line)
    try:
        session = LabSession(config)
        if not session.provisioner_cls.creates_hosts:
            session.provisioner  # read and check the inventory now: its mistakes are one message, not a traceback
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SESSION_KEY] = session
    from harness.plugin import host_fixtures

    host_fixtures.register(config)
    if session.worker:
        allure_dir = config.workerinput.get("lh_allure_dir")  # type: ignore[attr-defined]
        if allure_dir and hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
            config.option.allure_report_dir = allure_dir  # every worker writes its own results there
        return
    if not _looks_like_lab_session(config):
        return
    if not session.provisioner_cls.creates_hosts:  # a class being graded: a line per student
        from harness.plugin.progress import ProgressReporter

        config.pluginmanager.register(ProgressReporter(config), "labharness-progress")
        # plain `-n N` means --dist load, which ignores xdist_group: keep each student on one worker
        if getattr(config.option, "dist", None) == "load" and not any(
                a == "-d" or a.startswith("--dist") for a in config.invocation_params.args):
            config.option.dist = "loadgroup"
    from harness.plugin.scheduling import LabScheduler  # loadgroup that works with pytest 9 (see its docstring)

    config.pluginmanager.register(LabScheduler(per_target=session.provisioner_cls.group_by_target()), "labharness-scheduler")
    session.lock = RunLock(session.run_id)
    session.lock.acquire()
    if config.option.collectonly:  # nothing will run: no journal, no reports
        return None
    from harness.plugin.recording import Recorder

    session.recorder = Recorder(config, session)
    try:
        session.report_dir.mkdir(parents=True, exist_ok=True)
        session.recorder.open()
    except OSError as exc:
        session.lock.release()
        raise pytest.UsageError(f"--report-dir: cannot write {session.recorder.path}: {exc.strerror or exc}") from None
    config.pluginmanager.register(session.recorder, "labharness-recorder")
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(session.report_dir / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(session.report_dir / "allure-results")



def pytest_configure_node(node) -> None:  # xdist hook, on the controller
    node.workerinput["lh_run_id"] = _session(node.config).run_id
    node.workerinput["lh_allure_dir"] = getattr(node.config.option, "allure_report_dir", None) or ""


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session and session.lock:
        session.lock.release()


# --------------------------------------------------------------------------- collection


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``pytest --inventory class.yaml`` from the repository root grades the labs, not the harness's own tests."""
    if config.option.lh_inventory and config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        p = collection_path.resolve()
        if not (p == LABS_DIR or LABS_DIR in p.parents or p in LABS_DIR.parents):
            return True
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    lab = lab_of(metafunc.module)
    if lab is None or "lh_target" not in metafunc.fixturenames:
        return
    try:
        targets = _session(metafunc.config).targets_for(lab)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("lh_target", targets, indirect=True, scope="module", ids=targets)


@pytest.hookimpl(tryfirst=True)  # xdist's loadgroup reads xdist_group in its own hook, after ours
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    problems = []
    ungraded = []  # a lab no target of the inventory asks for: nothing to parametrize with
    for item in items:
        lab = lab_of(getattr(item, "module", None))
        if lab is None:
            continue
        if hasattr(item, "callspec") and not isinstance(item.callspec.params.get("lh_target", ""), str):
            ungraded.append(item)
            continue
        item.add_marker(pytest.mark.lab(lab.name))
        for role, marker in (("kvm-host", "kvm"), ("docker-host", "docker")):
            if role in {r.value for r in lab.roles}:
                item.add_marker(marker)
        target = getattr(item, "callspec", None) and item.callspec.params.get("lh_target")
        # existing hosts: a student's labs on one worker reuse its SSH connections; made hosts: one lab's env per group
        per_target = _session(config).provisioner_cls.group_by_target()
        item.add_marker(pytest.mark.xdist_group(str(target) if per_target else f"{lab.name}@{target}"))
        if item.get_closest_marker("points") is None or item.get_closest_marker("hint") is None:
            problems.append(f"{item.nodeid}: a check needs @pytest.mark.points(n) and @pytest.mark.hint(zh=..., en=...)")
        elif "lh_target" not in getattr(item, "fixturenames", ()):
            problems.append(f"{item.nodeid}: a check must use the lab's hosts (a host fixture, `hosts` or `lab_env`)")
    if problems:
        raise pytest.UsageError("\n".join(problems))
    if ungraded:
        config.hook.pytest_deselected(items=ungraded)
        drop = set(ungraded)
        items[:] = [i for i in items if i not in drop]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def lh_target(request: pytest.FixtureRequest) -> str:
    """The target (student, or ``validate``) this module's checks are graded for."""
    return request.param


@pytest.fixture(scope="module")
def lab_env(request: pytest.FixtureRequest, lh_target: str):
    """The lab's hosts for one target: provisioned, and solved in validate mode, once per module."""
    lab = lab_of(request.module)
    if lab is None:
        raise HarnessError(f"{request.module.__name__} is not inside a lab package (no LAB in its __init__)")
    session = _session(request.config)
    env = session.open_env(lab, lh_target)
    try:
        yield env
    finally:
        session.close_env(env)


@pytest.fixture
def hosts(lab_env: LabEnv) -> dict[str, Host]:
    return lab_env.hosts


@pytest.fixture
def params(lab_env: LabEnv):
    """The lab's course values (defaults from the course, overridable with --lab-param)."""
    return lab_env.params


@pytest.fixture
def run_id(request: pytest.FixtureRequest) -> str:
    return _session(request.config).run_id


# --------------------------------------------------------------------------- running


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Validate mode: a capability this machine lacks is SKIP before any host is made.
    (Grade mode asks the student's own hosts, in ``pytest_pyfunc_call``.)"""
    marker = item.get_closest_marker("requires")
    if marker is not None and lab_of(getattr(item, "module", None)) is not None \
            and _session(item.config).mode != "grade":
        for cap in marker.args:
            reason = capabilities.missing(cap, _session(item.config))
            if reason:
                pytest.skip(f"needs {cap}: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    if lab_of(getattr(item, "module", None)) is None:
        yield
        return
    evidence.start()
    try:
        yield
    finally:
        item.stash[_EVIDENCE] = evidence.stop()


_EVIDENCE = pytest.StashKey[list]()

#: what a student types to start the daemon a role needs, and keep it started at boot
START_DAEMON = {
    "docker-host": "systemctl start docker && systemctl enable docker",
    "kvm-host": "systemctl start libvirtd && systemctl enable libvirtd",
}


def _hosts_used(item: pytest.Item) -> list[Host]:
    """The hosts a check reads: its host fixtures, or all of the lab's with ``hosts``/``lab_env``."""
    used: list[Host] = []
    for value in getattr(item, "funcargs", {}).values():
        if isinstance(value, Host):
            used.append(value)
        elif isinstance(value, LabEnv):
            used.extend(value.hosts.values())
        elif isinstance(value, dict):
            used.extend(v for v in value.values() if isinstance(v, Host))
    return list(dict.fromkeys(used))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """Before a check: a capability the student's hosts lack is SKIP (grade mode); a daemon the
    student left stopped FAILs the checks that need it, with how to start it (their host
    answered: their state, docs/outcomes.md; the check is not run, every read would only meet the
    stopped daemon). After a check that FAILed: if a daemon that answered when grading started
    no longer does, the failure is the fault's, not the student's: ERROR.
    """
    if lab_of(getattr(pyfuncitem, "module", None)) is None:
        return (yield)
    hosts = _hosts_used(pyfuncitem)
    marker = pyfuncitem.get_closest_marker("requires")
    if marker is not None and _session(pyfuncitem.config).mode == "grade":
        for cap in marker.args:
            reason = capabilities.missing_on_hosts(cap, hosts)
            if reason:
                pytest.skip(f"needs {cap}: {reason}")
    for host in hosts:
        if host.daemon_down:
            start = START_DAEMON.get(getattr(host.role, "value", str(host.role)), "start it")
            raise AssertionError(f"{host.daemon_down}: start it and enable it at boot: {start} "
                                 f"(守护进程未运行：请启动并设置开机自启)")
    try:
        return (yield)
    except AssertionError as failed:
        from harness.provisioners.static import daemon_gone

        for host in hosts:
            gone = daemon_gone(host)
            if gone:
                raise gone from failed
        raise


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    lab = lab_of(getattr(item, "module", None))
    if lab is None:
        return
    session = _session(item.config)
    if report.when == "teardown":
        while session.envs_done:
            report.user_properties.append((ENV_KEY, json.dumps(session.envs_done.pop(0))))
        return
    decided = report.when == "call" or (report.when == "setup" and not report.passed)
    if not decided:
        return
    result = _check_result(item, report, call, lab)
    if result.outcome is not Outcome.PASS:
        session.unclean.add((result.lab, result.target))
    report.user_properties.append((RESULT_KEY, json.dumps(result.to_dict(), ensure_ascii=False)))
    _allure_annotate(result)


def _check_result(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo, lab: Lab) -> CheckResult:
    points = float(item.get_closest_marker("points").args[0]) if item.get_closest_marker("points") else 0.0
    hint_m = item.get_closest_marker("hint")
    hint = Hint(zh=hint_m.kwargs.get("zh", ""), en=hint_m.kwargs.get("en", "")) if hint_m else None
    target = item.callspec.params.get("lh_target", "?") if hasattr(item, "callspec") else "?"
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines() if hasattr(item, "function") else []
    message = ""
    if report.skipped:
        outcome = Outcome.SKIP
        message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        message = message.removeprefix("Skipped: ")
    elif report.passed:
        outcome = Outcome.PASS
    else:
        exc = call.excinfo.value if call.excinfo else None
        if report.when == "call" and isinstance(exc, AssertionError):
            outcome = Outcome.FAIL
            message = _assertion_message(call)
        else:
            outcome = Outcome.ERROR
            if report.when == "setup":
                where = "setting up the hosts"
            elif exc is not None and not is_environment_fault(exc):
                where = "harness bug in this check (not the student's fault; please report it)"
            else:
                where = "running the check"
            message = f"{where}: {type(exc).__name__}: {exc}" if exc else str(report.longrepr)[-1500:]
    return CheckResult(
        nodeid=item.nodeid,
        lab=lab.name,
        target=str(target),
        check=getattr(item, "originalname", item.name),
        title=doc[0] if doc else getattr(item, "originalname", item.name),
        points=points,
        outcome=outcome,
        message=message,
        hint=hint if outcome is not Outcome.PASS else hint,
        evidence=item.stash.get(_EVIDENCE, []),
        duration=report.duration,
    )


#: libraries whose exceptions mean a host, daemon or connection broke (ERROR), not a bug of ours
_TRANSPORT_MODULES = ("paramiko", "libvirt", "docker", "requests", "urllib3", "socket", "ssl", "http")


def is_environment_fault(exc: BaseException) -> bool:
    """True when ``exc`` says the environment broke (a host, daemon or connection); False when a
    check's own code broke on what it read (IndexError, KeyError, TypeError...): a harness bug,
    still ERROR (never the student's points), but reported as ours to fix (docs/outcomes.md)."""
    if isinstance(exc, (HarnessError, OSError, EOFError, TimeoutError)):
        return True
    module = type(exc).__module__ or ""
    return module.split(".")[0] in _TRANSPORT_MODULES


def _assertion_message(call: pytest.CallInfo) -> str:
    """The check's own message, never pytest's introspection of it.

    pytest rewrites ``assert cond, msg`` so that the exception reads ``msg\nassert ...\n+ where
    ... = CommandResult(...)``: useful to us, noise (and internals) to a student. A bare
    ``assert`` with no message keeps its first line only.
    """
    exc = call.excinfo.value if call.excinfo else None
    text = str(exc) if exc is not None else ""
    own = re.split(r"\n\s*assert ", "\n" + text, maxsplit=1)[0].strip() if not text.startswith("assert ") else ""
    return (own or text.splitlines()[0] if text else "assertion failed").strip()[-2000:]


def _allure_annotate(result: CheckResult) -> None:
    try:
        import allure
    except ImportError:
        return
    try:
        allure.dynamic.feature(result.lab)
        allure.dynamic.tag(result.target)
        allure.dynamic.label("points", f"{result.points:g}")
        if result.outcome is not Outcome.PASS and result.hint:
            allure.attach(f"{result.hint.zh}\n{result.hint.en}", name="hint", attachment_type=allure.attachment_type.TEXT)
        for ev in result.evidence:
            allure.attach(ev.text, name=ev.name, attachment_type=allure.attachment_type.TEXT)
    except Exception:  # allure inactive for this run: annotations are optional
        pass


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """Show ERROR (not FAILED) for a check that met a broken environment, as the report will."""
    for key, value in getattr(report, "user_properties", ()):
        if key == RESULT_KEY and report.when == "call" and report.failed:
            if json.loads(value)["outcome"] == Outcome.ERROR.value:
                return "error", "E", "ERROR"
    return None


# --------------------------------------------------------------------------- collecting and reporting


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs on the controller for every report, including those coming from xdist workers.
    session = _CURRENT.get("session")
    if session is None or session.worker or session.recorder is None:
        return
    session.recorder.record(report)


_CURRENT: dict[str, LabSession] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _CURRENT["session"] = _session(session.config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ls = _session(session.config)
    _CURRENT.pop("session", None)
    if ls.worker or ls.recorder is None:
        return
    from harness.reporting.journal import result_from_journal
    from harness.reporting import write_reports

    ls.recorder.end(exitstatus)
    ls.result = result_from_journal(ls.recorder.path)  # the reports say what is on disk
    if ls.result.targets:
        write_reports(ls.result, ls.report_dir)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    ls = config.stash.get(SESSION_KEY, None)
    if ls is None or ls.worker or not ls.result.targets:
        return
    from harness.reporting import score_table

    terminalreporter.write_sep("=", f"lab scores ({ls.mode}, run {ls.run_id})")
    terminalreporter.write_line(score_table(ls.result))
    terminalreporter.write_line(f"report: {ls.report_dir / 'report.html'}")
