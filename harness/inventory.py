"""The inventory: which targets (students) to grade, and how to reach each of their hosts.

```yaml
version: 1
defaults: {user: root, port: 22, key_file: ~/.ssh/id_ed25519, timeout: 60}
targets:
  - name: alice
    labs: [disk_images, dockerfile]      # optional; default: every lab
    hosts:
      kvm01:    {address: 10.0.1.50}                 # SSH (paramiko)
      docker01: {address: 10.0.1.70, port: 2222, user: student}
  - name: bob
    hosts:
      docker01: {container: bob-docker01}           # a container on this machine
```

Values are data: they reach hosts only as quoted arguments or connection parameters.
Every mistake is reported with the file, the line and what was expected, in one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError

HOST_FIELDS = {"address", "port", "user", "key_file", "password", "container", "local", "timeout"}
DEFAULT_FIELDS = {"user", "port", "key_file", "password", "timeout"}


class InventoryError(UsageError):
    pass


@dataclass(frozen=True)
class HostEntry:
    name: str
    address: str | None = None
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    password: str | None = field(default=None, repr=False)  # never printed
    container: str | None = None
    local: bool = False  # this very machine (testinfra's local backend)
    timeout: float = 60.0

    @property
    def connection(self) -> str:
        return "local" if self.local else "docker" if self.container else "ssh"


@dataclass(frozen=True)
class TargetEntry:
    name: str
    hosts: dict[str, HostEntry]
    labs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Inventory:
    path: Path
    targets: tuple[TargetEntry, ...]

    def target(self, name: str) -> TargetEntry:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


class _Loader(yaml.SafeLoader):
    """Keeps each mapping's line numbers, so errors can point at the line."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return mapping


class _LineDict(dict):
    line = 0
    key_lines: dict[str, int] = {}


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_inventory(path: str | Path, known_labs: list[str] | None = None) -> Inventory:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{p}: cannot read the inventory: {exc.strerror}") from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise InventoryError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return _parse(p, doc, known_labs)


def _err(p: Path, node: Any, key: str | None, msg: str) -> InventoryError:
    line = getattr(node, "key_lines", {}).get(key) if key else None
    line = line or getattr(node, "line", 0)
    return InventoryError(f"{p}:{line}: {msg}" if line else f"{p}: {msg}")


def _parse(p: Path, doc: Any, known_labs: list[str] | None) -> Inventory:
    if not isinstance(doc, dict):
        raise InventoryError(f"{p}: expected a mapping with 'version' and 'targets'")
    unknown = set(doc) - {"version", "defaults", "targets"}
    if unknown:
        k = sorted(unknown)[0]
        raise _err(p, doc, k, f"unknown key {k!r} (expected: version, defaults, targets)")
    if doc.get("version") != 1:
        raise _err(p, doc, "version", f"version: expected 1, got {doc.get('version')!r}")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _err(p, doc, "defaults", "defaults: expected a mapping")
    for k in defaults:
        if k not in DEFAULT_FIELDS:
            raise _err(p, defaults, k, f"defaults.{k}: unknown field (expected one of: {', '.join(sorted(DEFAULT_FIELDS))})")
    targets_raw = doc.get("targets")
    if not isinstance(targets_raw, list) or not targets_raw:
        raise _err(p, doc, "targets", "targets: expected a non-empty list of targets (name, hosts)")
    seen: dict[str, int] = {}
    targets = []
    for i, t in enumerate(targets_raw):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            raise _err(p, doc, "targets", f"{where}: expected a mapping with name and hosts")
        for k in t:
            if k not in ("name", "hosts", "labs"):
                raise _err(p, t, k, f"{where}.{k}: unknown field (expected: name, hosts, labs)")
        name = t.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _err(p, t, "name", f"{where}.name: expected a non-empty string")
        if name in seen:
            raise _err(p, t, "name", f"{where}.name: duplicate target {name!r} (first at line {seen[name]})")
        seen[name] = t.line
        labs = t.get("labs")
        if labs is not None:
            if not isinstance(labs, list) or not all(isinstance(x, str) for x in labs):
                raise _err(p, t, "labs", f"{where}.labs: expected a list of lab names")
            if known_labs is not None:
                bad = [x for x in labs if x not in known_labs]
                if bad:
                    raise _err(p, t, "labs", f"{where}.labs: unknown lab {bad[0]!r} (labs: {', '.join(known_labs)})")
        hosts_raw = t.get("hosts")
        if not isinstance(hosts_raw, dict) or not hosts_raw:
            raise _err(p, t, "hosts", f"{where}.hosts: expected a mapping of host name to connection details")
        hosts = {}
        for hname, h in hosts_raw.items():
            hwhere = f"{where}.hosts.{hname}"
            if not isinstance(h, dict):
                raise _err(p, hosts_raw, hname, f"{hwhere}: expected a mapping (address, port, user, key_file | container)")
            for k in h:
                if k not in HOST_FIELDS:
                    raise _err(p, h, k, f"{hwhere}.{k}: unknown field (expected one of: {', '.join(sorted(HOST_FIELDS))})")
            merged = {**defaults, **h}
            if not merged.get("address") and not merged.get("container") and not merged.get("local"):
                raise _err(p, h, None, f"{hwhere}: needs 'address' (SSH), 'container' (Docker) or 'local: true'")
            if "local" in merged and not isinstance(merged["local"], bool):
                raise _err(p, h, "local", f"{hwhere}.local: expected true or false, got {merged['local']!r}")
            for k, typ in (("port", int), ("timeout", (int, float))):
                if k in merged and (not isinstance(merged[k], typ) or isinstance(merged[k], bool)):
                    raise _err(p, h if k in h else defaults, k, f"{hwhere}.{k}: expected a number, got {merged[k]!r}")
            for k in ("address", "user", "key_file", "password", "container"):
                if k in merged and not isinstance(merged[k], str):
                    raise _err(p, h if k in h else defaults, k, f"{hwhere}.{k}: expected a string, got {merged[k]!r}")
            key_file = merged.get("key_file")
            if key_file and not merged.get("container"):
                kp = Path(key_file).expanduser()
                if not kp.is_file() or not _readable(kp):
                    raise _err(p, h if "key_file" in h else defaults, "key_file", f"{hwhere}.key_file: cannot read {key_file}")
                merged["key_file"] = str(kp)
            hosts[str(hname)] = HostEntry(name=str(hname), **merged)
        targets.append(TargetEntry(name=name, hosts=hosts, labs=tuple(labs) if labs is not None else None))
    return Inventory(path=p, targets=tuple(targets))


def _readable(path: Path) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
