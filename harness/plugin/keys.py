"""Names the plugin's parts share, kept apart so that they import downward only.

A check's result and a finished environment travel from xdist workers to the controller in a
report's ``user_properties`` under these keys; the controller's recorder, progress lines and the
distributed controller read them there, through :func:`result_of` and :func:`envs_of`.
``SESSION_KEY`` finds the run's ``LabSession`` in ``config.stash``; ``EVIDENCE_KEY`` what a
check's commands showed, in its item's stash.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.core.model import CheckResult, EnvRecord

RESULT_KEY = "labharness.check"
ENV_KEY = "labharness.env"
SESSION_KEY = pytest.StashKey[Any]()  # harness.plugin.session.LabSession
EVIDENCE_KEY = pytest.StashKey[list]()  # [harness.core.model.Evidence]


def attach_result(report: pytest.TestReport, result: CheckResult) -> None:
    """Ship a check's result with its report (xdist sends ``user_properties`` to the controller)."""
    report.user_properties.append((RESULT_KEY, json.dumps(result.to_dict(), ensure_ascii=False)))


def result_of(report: Any) -> CheckResult | None:
    """The check result a report carries, or None (not a lab check, or a phase that decided nothing)."""
    for key, value in getattr(report, "user_properties", ()):
        if key == RESULT_KEY:
            return CheckResult.from_dict(json.loads(value))
    return None


def attach_env(report: pytest.TestReport, record: EnvRecord) -> None:
    """Ship a finished environment's record (``LabSession.close_env``) with a teardown report."""
    report.user_properties.append((ENV_KEY, json.dumps(record.to_dict(), ensure_ascii=False)))


def envs_of(report: Any) -> list[EnvRecord]:
    """The finished environments' records a report carries."""
    return [EnvRecord.from_dict(json.loads(value)) for key, value in getattr(report, "user_properties", ()) if key == ENV_KEY]
