"""Evidence: what the harness saw while a check ran, kept for disputes.

Every command a check runs through a ``Host`` is recorded (command, exit code, output,
truncated) against the check being run, and a check can add its own (``evidence.add``).
The plugin moves the records into the check's result, the HTML report and Allure.
"""

from __future__ import annotations

from harness.model import Evidence

MAX_TEXT = 4000
MAX_ITEMS = 30

_current: list[Evidence] | None = None


def start() -> list[Evidence]:
    global _current
    _current = []
    return _current


def stop() -> list[Evidence]:
    global _current
    items, _current = _current or [], None
    return items


def add(name: str, text: str) -> None:
    """Attach a named piece of evidence to the check being run (no-op outside a check)."""
    if _current is None or len(_current) >= MAX_ITEMS:
        return
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT // 2] + f"\n... [{len(text) - MAX_TEXT} characters cut] ...\n" + text[-MAX_TEXT // 2 :]
    _current.append(Evidence(name, text))


def command(host: str, command: str, rc: int, stdout: str, stderr: str) -> None:
    text = f"$ {command}\n[exit {rc}]\n{stdout}"
    if stderr.strip():
        text += f"\n[stderr]\n{stderr}"
    add(f"{host}: {command[:80]}", text)
