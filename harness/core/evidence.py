"""Evidence: what the harness saw while a check ran, kept for disputes.

Every command a check runs through a ``Host`` is recorded (command, exit code, output,
truncated) against the check being run, and a check can add its own (``evidence.add``).
The plugin moves the records into the check's result, the HTML report and Allure.
"""

from __future__ import annotations

import json
import re

from harness.core.model import Evidence

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


_INSPECT = re.compile(r"\binspect\b")
_ENV_NOTE = "[environment variables not recorded]"


def _drop_env(obj):
    """Every ``Env`` (``Config.Env``, ``ContainerConfig.Env``, a ``{{json .Config}}``) replaced by a note."""
    if isinstance(obj, list):
        return [_drop_env(o) for o in obj]
    if isinstance(obj, dict):
        return {k: (_ENV_NOTE if k == "Env" else _drop_env(v)) for k, v in obj.items()}
    return obj


def redact_inspect(command: str, stdout: str) -> str:
    """What a ``docker inspect`` (or ``docker container/image inspect``) printed, minus the environment
    variables of the student's containers and images (their secrets): full JSON output loses
    ``Config.Env``/``ContainerConfig.Env``; a ``--format`` that reads ``.Env`` is not recorded."""
    if "docker" not in command or not _INSPECT.search(command):
        return stdout
    if ".Env" in command:  # a --format that prints the variables themselves
        return _ENV_NOTE
    text = stdout.strip()
    if text[:1] in ("[", "{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if data is not None:
            return json.dumps(_drop_env(data), indent=4)
    return stdout


def command(host: str, command: str, rc: int, stdout: str, stderr: str) -> None:
    stdout = redact_inspect(command, stdout)
    text = f"$ {command}\n[exit {rc}]\n{stdout}"
    if stderr.strip():
        text += f"\n[stderr]\n{stderr}"
    add(f"{host}: {command[:80]}", text)
