"""The pytest plugin's hooks (the ``labharness`` pytest11 entry point): each hook hands its work
to the room's modules.

A check is a test in ``labs/<lab>/test_*.py`` with ``@pytest.mark.points(n)`` and
``@pytest.mark.hint(zh=..., en=...)``. It asks for hosts by their topology names (fixtures
made from every lab's topology, ``host_fixtures.py``) and asserts on the student's state. The plugin:

- parametrizes every check per target (``test_x[alice]``; ``[validate]`` in validate mode);
- gives each (lab, target) one environment, module-scoped: provisioned (with retries) and,
  in validate mode, solved step by step before its checks run, torn down after them
  (``session.py``);
- classifies outcomes: AssertionError in a check = FAIL; any other exception, or a broken
  fixture = ERROR (never counted against the student); a missing capability = SKIP
  (``outcome.py``);
- ships each result to the controller in the test report (works under xdist, ``keys.py``), and
  writes ``grades.json``, ``grades.csv``, ``report.html``, ``junit.xml`` and ``allure-results/``.

This module holds the hooks only; its options are in ``options.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.core import evidence
from harness.core.errors import HarnessError, UsageError
from harness.core.lab import LabEnv, lab_of
from harness.core.model import Outcome
from harness.core.runs import RunLock
from harness.hosts.host import Host
from harness.plugin import capabilities
from harness.plugin.keys import EVIDENCE_KEY, SESSION_KEY, attach_env, attach_result, result_of
from harness.plugin.options import add_options
from harness.plugin.outcome import annotate_allure, before_check, check_result, fault_behind, hosts_used
from harness.plugin.session import LabSession, looks_like_lab_session, session_of, touches_labs


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


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
    if not looks_like_lab_session(config):
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
    node.workerinput["lh_run_id"] = session_of(node.config).run_id
    node.workerinput["lh_allure_dir"] = getattr(node.config.option, "allure_report_dir", None) or ""


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session and session.lock:
        session.lock.release()


# --------------------------------------------------------------------------- collection


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``pytest --inventory class.yaml`` from the repository root grades the labs, not the harness's own tests."""
    if config.option.lh_inventory and config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        if not touches_labs(collection_path):
            return True
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    lab = lab_of(metafunc.module)
    if lab is None or "lh_target" not in metafunc.fixturenames:
        return
    try:
        targets = session_of(metafunc.config).targets_for(lab)
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
        per_target = session_of(config).provisioner_cls.group_by_target()
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
    session = session_of(request.config)
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
    return session_of(request.config).run_id


# --------------------------------------------------------------------------- running


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Validate mode: a capability this machine lacks is SKIP before any host is made.
    (Grade mode asks the student's own hosts, in ``pytest_pyfunc_call``.)"""
    marker = item.get_closest_marker("requires")
    if marker is not None and lab_of(getattr(item, "module", None)) is not None \
            and session_of(item.config).mode != "grade":
        for cap in marker.args:
            reason = capabilities.missing(cap, session_of(item.config))
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
        item.stash[EVIDENCE_KEY] = evidence.stop()


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
    hosts = hosts_used(pyfuncitem)
    before_check(pyfuncitem, hosts, session_of(pyfuncitem.config).mode)
    try:
        return (yield)
    except AssertionError as failed:
        gone = fault_behind(hosts)
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
    session = session_of(item.config)
    if report.when == "teardown":
        while session.envs_done:
            attach_env(report, session.envs_done.pop(0))
        return
    decided = report.when == "call" or (report.when == "setup" and not report.passed)
    if not decided:
        return
    result = check_result(item, report, call, lab)
    if result.outcome is not Outcome.PASS:
        session.unclean.add((result.lab, result.target))
    attach_result(report, result)
    annotate_allure(result)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    """Show ERROR (not FAILED) for a check that met a broken environment, as the report will."""
    if report.when == "call" and report.failed:
        result = result_of(report)
        if result is not None and result.outcome is Outcome.ERROR:
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
    _CURRENT["session"] = session_of(session.config)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ls = session_of(session.config)
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
