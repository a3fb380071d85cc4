"""The outcome rule (docs/outcomes.md): what a check's run means for the student, as a CheckResult.

AssertionError in a check = FAIL; any other exception, or a broken fixture = ERROR (never
counted against the student); a missing capability = SKIP. Around a check: a daemon the
student left stopped FAILs it, one that stopped while grading turns its FAIL into ERROR.
"""

from __future__ import annotations

import re

import pytest

from harness.core.errors import HarnessError
from harness.core.lab import Lab, LabEnv
from harness.core.model import CheckResult, Hint, Outcome
from harness.hosts.host import Host
from harness.plugin import capabilities
from harness.plugin.keys import EVIDENCE_KEY

#: what a student types to start the daemon a role needs, and keep it started at boot
START_DAEMON = {
    "docker-host": "systemctl start docker && systemctl enable docker",
    "kvm-host": "systemctl start libvirtd && systemctl enable libvirtd",
}


def hosts_used(item: pytest.Item) -> list[Host]:
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


def before_check(item: pytest.Item, hosts: list[Host], mode: str) -> None:
    """SKIP when the student's hosts lack a capability the check requires (grade mode); FAIL,
    with how to start it, when a daemon the check needs was found stopped (the student's state)."""
    marker = item.get_closest_marker("requires")
    if marker is not None and mode == "grade":
        for cap in marker.args:
            reason = capabilities.missing_on_hosts(cap, hosts)
            if reason:
                pytest.skip(f"needs {cap}: {reason}")
    for host in hosts:
        if host.daemon_down:
            start = START_DAEMON.get(getattr(host.role, "value", str(host.role)), "start it")
            raise AssertionError(f"{host.daemon_down}: start it and enable it at boot: {start} "
                                 f"(守护进程未运行：请启动并设置开机自启)")


def fault_behind(hosts: list[Host]) -> Exception | None:
    """After a FAIL: the error of a daemon that answered when grading started and no longer does
    (then the failure is the fault's, not the student's), or None."""
    from harness.provisioners.static import daemon_gone

    for host in hosts:
        gone = daemon_gone(host)
        if gone:
            return gone
    return None


def check_result(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo, lab: Lab) -> CheckResult:
    """The result of a check from the report of the phase that decided it (setup or call)."""
    points = float(item.get_closest_marker("points").args[0]) if item.get_closest_marker("points") else 0.0
    hint_m = item.get_closest_marker("hint")
    hint = Hint(zh=hint_m.kwargs.get("zh", ""), en=hint_m.kwargs.get("en", "")) if hint_m else None
    target = item.callspec.params.get("lh_target", "?") if hasattr(item, "callspec") else "?"
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines() if hasattr(item, "function") else []
    message = reason = ""
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
                where, reason = "setting up the hosts", _reason(exc)
            elif exc is not None and not is_environment_fault(exc):  # the re-run lists show all: ours to fix
                where = "harness bug in this check (not the student's fault; please report it)"
            else:
                where, reason = "running the check", _reason(exc)
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
        hint=hint,
        evidence=item.stash.get(EVIDENCE_KEY, []),
        duration=report.duration,
        reason=reason,
    )


def _reason(exc: BaseException | None) -> str:
    """What broke, in one line, for the re-run lists: the error's own words, not where it happened."""
    if exc is None:
        return ""
    return (str(exc).strip().splitlines() or ["(no message)"])[0]


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


def annotate_allure(result: CheckResult) -> None:
    """The check's lab, target, points, hint and evidence on its allure test case, when allure runs."""
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
