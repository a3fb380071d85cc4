"""Errors, split by whom they blame.

The split is the grading model: an ``AssertionError`` in a check means the student's
state is wrong (FAIL); a ``HarnessError`` means the environment or the harness broke
(ERROR, never counted against the student); a ``UsageError`` is bad input from the person
running the harness (one clear line, non-zero exit, no traceback).
"""

from __future__ import annotations


class HarnessError(Exception):
    """The environment or the harness broke: a check that meets this is ERROR, not FAIL."""


class UsageError(Exception):
    """Bad input from the user (unknown lab, unreadable inventory, ...): say it in one line."""


class CommandTimeout(HarnessError):
    """A command on a host did not finish before its deadline."""

    def __init__(self, host: str, command: str, timeout: float, stdout: str = "", stderr: str = ""):
        tail = (stdout + stderr).strip()[-400:]
        super().__init__(
            f"{host}: command did not finish within {timeout:g}s: {command}"
            + (f"\nlast output: {tail}" if tail else "\n(no output)")
        )
        self.host, self.command, self.timeout = host, command, timeout


class HostUnreachable(HarnessError):
    """The host (container, VM or student machine) cannot be reached at all."""


class CommandFailed(HarnessError):
    """A command of the harness's own (a solution step, a set-up action) exited non-zero."""

    def __init__(self, host: str, command: str, rc: int, stdout: str, stderr: str):
        out = (stderr.strip() or stdout.strip())[-800:]
        super().__init__(f"{host}: `{command}` exited {rc}: {out}")
        self.host, self.command, self.rc, self.stdout, self.stderr = host, command, rc, stdout, stderr


class ProvisioningError(HarnessError):
    """A topology could not be made real (after retries)."""


class WaitTimeout(HarnessError):
    """A wait ran out of time; the message carries the last state seen."""
