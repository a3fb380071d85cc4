"""The inventory: which targets (students) to grade, and how to reach each of their hosts.

```yaml
version: 1
defaults:                                  # optional; any host field but address/container/local
  user: root
  port: 22
  key_file: ~/.ssh/id_ed25519              # the grader's private key (unencrypted), or password: ...
  timeout: 60                              # deadline of one command on the host, seconds
  connect_timeout: 10                      # deadline of connecting and logging in, seconds
  host_key_policy: tofu                    # tofu (record on first use, refuse a change) | strict | ignore
  known_hosts: /var/cache/labharness/ssh/known_hosts   # the harness's own file (this is the default)
  guest_user: root                         # a KVM host's VMs, over SSH through that host when they
  guest_password: "123456"                 # run no guest agent (default root and the course's
  # guest_key_file: ~/.ssh/guest_key       # password 123456); a key on the grader instead
targets:
  - name: alice
    labs: [disk_images, dockerfile]        # optional; default: every lab selected for the run
    hosts:                                 # by the names the labs use (labctl labs lists them)
      kvm01:    {address: 10.0.1.50}                       # SSH (paramiko)
      docker01: {address: 10.0.1.70, port: 2222, user: student}
  - name: bob
    hosts:
      docker01: {container: bob-docker01}                 # a container on this machine
    lab_hosts:                             # optional: other machines for one lab only
      swarm: {docker01: {address: 10.0.2.70}}
```

Values are data: they reach hosts only as quoted arguments or connection parameters. Every
mistake is reported with the file, the line and what was expected; all of them at once, one
line each (``labctl grade`` prints them and stops before grading anything).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import UsageError

POLICIES = ("tofu", "strict", "ignore")  # harness.hosts.ssh_keys.POLICIES, without importing paramiko here
CONNECTION_FIELDS = {"address", "container", "local"}
DEFAULT_FIELDS = {"user", "port", "key_file", "password", "timeout", "connect_timeout", "host_key_policy", "known_hosts",
                  "guest_user", "guest_password", "guest_key_file"}
HOST_FIELDS = CONNECTION_FIELDS | DEFAULT_FIELDS
TARGET_FIELDS = ("name", "labs", "hosts", "lab_hosts")
MAX_PROBLEMS = 25
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
    timeout: float = 60.0  # deadline of one command
    connect_timeout: float = 10.0  # deadline of connecting and logging in
    host_key_policy: str = "tofu"
    known_hosts: str | None = None  # None: the harness's own file (harness.hosts.ssh_keys.default_known_hosts)
    # the VMs of a KVM host, reached by SSH through it when they run no guest agent
    # (None: harness.kvm.guest_ssh's defaults, root and the course's password)
    guest_user: str | None = None
    guest_password: str | None = field(default=None, repr=False)  # never printed
    guest_key_file: str | None = None  # a private key on the grader

    @property
    def connection(self) -> str:
        return "local" if self.local else "docker" if self.container else "ssh"


@dataclass(frozen=True)
class TargetEntry:
    name: str
    hosts: dict[str, HostEntry]
    labs: tuple[str, ...] | None = None
    lab_hosts: dict[str, dict[str, HostEntry]] = field(default_factory=dict)

    def hosts_for(self, lab: str) -> dict[str, HostEntry]:
        """The hosts a lab is graded on: ``hosts``, with ``lab_hosts[lab]`` taking precedence."""
        return {**self.hosts, **self.lab_hosts.get(lab, {})}


@dataclass(frozen=True)
class Inventory:
    path: Path
    targets: tuple[TargetEntry, ...]

    def target(self, name: str) -> TargetEntry:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


# --------------------------------------------------------------------------- YAML with line numbers


class _LineDict(dict):
    line = 0
    key_lines: dict[Any, int] = {}


class _Loader(yaml.SafeLoader):
    """Keeps each mapping's line numbers, so errors can point at the line; notes duplicate keys."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    mapping = _LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            loader.duplicates.append((line, "a mapping key must be a plain name"))
            continue
        if key in mapping.key_lines:
            loader.duplicates.append((line, f"duplicate key {key!r} (first at line {mapping.key_lines[key]})"))
            continue
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_inventory(path: str | Path, known_labs: Iterable[str] | Mapping[str, Any] | None = None) -> Inventory:
    """Read and check an inventory. ``known_labs``: lab names, or {name: Lab} to also check that
    every lab a target declares has all the hosts its topology needs."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{p}: cannot read the inventory: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InventoryError(f"{p}: cannot read the inventory: not UTF-8 text") from None
    loader = _Loader(text)
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark else str(p)
        raise InventoryError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
    return _Checker(p, known_labs).check(doc, loader.duplicates)


# --------------------------------------------------------------------------- the schema


def _type_name(v: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", _LineDict: "a mapping", type(None): "nothing"}.get(type(v), type(v).__name__)


class _Checker:
    def __init__(self, path: Path, known_labs: Iterable[str] | Mapping[str, Any] | None):
        self.p = path
        self.labs: Mapping[str, Any] | None
        if known_labs is None:
            self.labs = None
        elif isinstance(known_labs, Mapping):
            self.labs = dict(known_labs)
        else:
            self.labs = {name: None for name in known_labs}
        self.problems: list[str] = []
        self.checked_keys: dict[str, str | None] = {}  # key file -> problem (each file read once)

    # ---- reporting

    def problem(self, node: Any, key: Any, msg: str) -> None:
        line = getattr(node, "key_lines", {}).get(key) if key is not None else None
        line = line or getattr(node, "line", 0)
        text = f"{self.p}:{line}: {msg}" if line else f"{self.p}: {msg}"
        if text not in self.problems:  # a default's mistake, met by every host using it, is said once
            self.problems.append(text)

    def check(self, doc: Any, duplicates: list[tuple[int, str]]) -> Inventory:
        for line, msg in duplicates:
            self.problems.append(f"{self.p}:{line}: {msg}")
        inv = self._document(doc)
        if self.problems:
            problems = self.problems
            if len(problems) > MAX_PROBLEMS:
                problems = problems[:MAX_PROBLEMS] + [f"{self.p}: ... and {len(problems) - MAX_PROBLEMS} more problems"]
            raise InventoryError("\n".join(problems))
        assert inv is not None
        return inv

    # ---- the document

    def _document(self, doc: Any) -> Inventory | None:
        if not isinstance(doc, dict):
            self.problems.append(f"{self.p}: expected a mapping with 'version' and 'targets' (see harness/hosts/inventory.py), "
                                 f"got {_type_name(doc)}")
            return None
        for k in doc:
            if k not in ("version", "defaults", "targets"):
                self.problem(doc, k, f"unknown key {k!r} (expected: version, defaults, targets)")
        if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
            self.problem(doc, "version", f"version: expected 1, got {doc.get('version')!r}")
            return None  # another schema: the rest would only add noise
        defaults = doc.get("defaults") or {}
        if not isinstance(defaults, dict):
            self.problem(doc, "defaults", f"defaults: expected a mapping of host fields, got {_type_name(defaults)}")
            defaults = {}
        for k in list(defaults):
            if k not in DEFAULT_FIELDS:
                hint = " (give it per host)" if k in CONNECTION_FIELDS else ""
                self.problem(defaults, k, f"defaults.{k}: unknown field{hint} (expected one of: {', '.join(sorted(DEFAULT_FIELDS))})")
        self._values(defaults, "defaults", defaults, {})
        targets_raw = doc.get("targets")
        if not isinstance(targets_raw, list) or not targets_raw:
            self.problem(doc, "targets", "targets: expected a non-empty list of targets (each with name and hosts)")
            return None
        seen: dict[str, int] = {}
        targets = []
        for i, t in enumerate(targets_raw):
            target = self._target(i, t, doc, defaults, seen)
            if target is not None:
                targets.append(target)
        return Inventory(path=self.p, targets=tuple(targets))

    def _target(self, i: int, t: Any, doc: dict, defaults: dict, seen: dict[str, int]) -> TargetEntry | None:
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            self.problem(doc, "targets", f"{where}: expected a mapping with name and hosts, got {_type_name(t)}")
            return None
        for k in t:
            if k not in TARGET_FIELDS:
                self.problem(t, k, f"{where}.{k}: unknown field (expected: {', '.join(TARGET_FIELDS)})")
        name = t.get("name")
        if "name" not in t:
            self.problem(t, None, f"{where}: missing 'name' (the student's name, as the report shows it)")
            name = None
        elif not isinstance(name, str) or not name.strip():
            self.problem(t, "name", f"{where}.name: expected a non-empty string, got {name!r}")
            name = None
        elif _CONTROL.search(name) or name != name.strip():
            self.problem(t, "name", f"{where}.name: {name!r} has control characters or leading/trailing spaces")
            name = None
        if name is not None:
            if name in seen:
                self.problem(t, "name", f"{where}.name: duplicate target {name!r} (first at line {seen[name]})")
            else:
                seen[name] = t.key_lines.get("name", t.line)
        labs = t.get("labs")
        if labs is not None:
            if not isinstance(labs, list) or not labs or not all(isinstance(x, str) for x in labs):
                self.problem(t, "labs", f"{where}.labs: expected a non-empty list of lab names, got {labs!r}")
                labs = None
            else:
                for x in labs:
                    self._known_lab(t, "labs", f"{where}.labs", x)
                dups = sorted({x for x in labs if labs.count(x) > 1})
                if dups:
                    self.problem(t, "labs", f"{where}.labs: {dups[0]!r} is listed twice")
        hosts = self._hosts(t, "hosts", f"{where}.hosts", t.get("hosts"), defaults, required="lab_hosts" not in t)
        lab_hosts: dict[str, dict[str, HostEntry]] = {}
        lh_raw = t.get("lab_hosts")
        if lh_raw is not None:
            if not isinstance(lh_raw, dict) or not lh_raw:
                self.problem(t, "lab_hosts", f"{where}.lab_hosts: expected a mapping of lab name to hosts, got {_type_name(lh_raw)}")
            else:
                for lab, hs in lh_raw.items():
                    lwhere = f"{where}.lab_hosts.{lab}"
                    if not self._known_lab(lh_raw, lab, lwhere, lab):
                        continue
                    if labs is not None and lab not in labs:
                        self.problem(lh_raw, lab, f"{lwhere}: lab {lab!r} is not in this target's labs ({', '.join(labs)})")
                    lab_hosts[lab] = self._hosts(lh_raw, lab, lwhere, hs, defaults, required=True)
        if name is None:
            return None
        entry = TargetEntry(name=name, hosts=hosts, labs=tuple(labs) if labs is not None else None, lab_hosts=lab_hosts)
        if labs is not None and self.labs is not None:
            for lab in labs:
                topology = getattr(self.labs.get(lab), "topology", None)
                if topology is None:
                    continue
                given = set(t.get("hosts") or {}) if isinstance(t.get("hosts"), dict) else set()
                if isinstance(lh_raw, dict) and isinstance(lh_raw.get(lab), dict):
                    given |= set(lh_raw[lab])  # named, even if its details were wrong (already reported)
                missing = [h.name for h in topology if h.name not in given]
                if missing:
                    self.problem(t, "labs", f"{where}: lab {lab!r} needs host {', '.join(missing)}, which neither "
                                            f"hosts nor lab_hosts.{lab} gives")
        return entry

    def _known_lab(self, node: Any, key: Any, where: str, lab: Any) -> bool:
        if not isinstance(lab, str):
            self.problem(node, key, f"{where}: expected a lab name, got {lab!r}")
            return False
        if self.labs is not None and lab not in self.labs:
            self.problem(node, key, f"{where}: unknown lab {lab!r} (labs: {', '.join(self.labs)})")
            return False
        return True

    def _hosts(self, parent: dict, key: str, where: str, raw: Any, defaults: dict, required: bool) -> dict[str, HostEntry]:
        if raw is None and not required:
            return {}
        if not isinstance(raw, dict) or not raw:
            what = "missing" if raw is None else f"got {_type_name(raw)}"
            self.problem(parent, key if key in parent else None,
                         f"{where}: expected a mapping of host name (kvm01, docker01, ...) to connection details ({what})")
            return {}
        hosts = {}
        for hname, h in raw.items():
            hwhere = f"{where}.{hname}"
            if not isinstance(hname, str) or not hname:
                self.problem(raw, hname, f"{where}: host names are the names the labs use (kvm01, docker01), got {hname!r}")
                continue
            if not isinstance(h, dict):
                self.problem(raw, hname, f"{hwhere}: expected a mapping (address, port, user, key_file | container | local), "
                                         f"got {_type_name(h)}")
                continue
            entry = self._host(hname, hwhere, h, defaults)
            if entry is not None:
                hosts[hname] = entry
        return hosts

    def _host(self, hname: str, where: str, h: dict, defaults: dict) -> HostEntry | None:
        before = len(self.problems)
        for k in h:
            if k not in HOST_FIELDS:
                self.problem(h, k, f"{where}.{k}: unknown field (expected one of: {', '.join(sorted(HOST_FIELDS))})")
        given = [k for k in ("address", "container") if h.get(k) not in (None, "")] + (["local"] if h.get("local") is True else [])
        if not given:
            self.problem(h, None, f"{where}: needs 'address' (SSH), 'container' (Docker) or 'local: true'")
        elif len(given) > 1:
            self.problem(h, given[1], f"{where}: give only one of address, container, local (got {', '.join(given)})")
        merged = {**defaults, **h}
        self._values(h, where, merged, defaults)
        if len(self.problems) > before:
            return None
        values = {k: v for k, v in merged.items() if k in HOST_FIELDS}
        if values.get("key_file") and not values.get("container") and not values.get("local"):
            if not self._key_file(values, "key_file", h, defaults, where):
                return None
        if values.get("known_hosts"):
            values["known_hosts"] = str(Path(values["known_hosts"]).expanduser())
        if isinstance(values.get("guest_password"), int):
            values["guest_password"] = str(values["guest_password"])
        if values.get("guest_key_file"):
            if not self._key_file(values, "guest_key_file", h, defaults, where):
                return None
        for k in ("timeout", "connect_timeout"):
            if k in values:
                values[k] = float(values[k])
        return HostEntry(name=hname, **values)

    def _values(self, node: dict, where: str, merged: dict, defaults: dict) -> None:
        """Type and range of every field present; a default's mistake is reported once, at the default."""

        def bad(k: str, msg: str) -> None:
            if k in node:
                self.problem(node, k, f"{where}.{k}: {msg}")

        secret = ("password", "guest_password")
        for k in ("address", "user", "key_file", "password", "container", "known_hosts",
                  "guest_user", "guest_password", "guest_key_file"):
            if k == "guest_password" and isinstance(merged.get(k), int) and not isinstance(merged[k], bool):
                continue  # `guest_password: 123456` is YAML's number: taken as the digits
            if k in merged and not isinstance(merged[k], str):
                bad(k, f"expected a string, got {merged[k]!r}" if k not in secret else "expected a string")
            elif k in merged and k not in secret and (not merged[k].strip() or _CONTROL.search(merged[k])):
                bad(k, f"expected a non-empty string without control characters, got {merged[k]!r}")
        if "port" in merged:
            v = merged["port"]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 65535:
                bad("port", f"expected a number (1-65535), got {v!r}")
        for k in ("timeout", "connect_timeout"):
            if k in merged:
                v = merged[k]
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
                    bad(k, f"expected a number of seconds > 0, got {v!r}")
        if "local" in merged and not isinstance(merged["local"], bool):
            bad("local", f"expected true or false, got {merged['local']!r}")
        if "host_key_policy" in merged and merged["host_key_policy"] not in POLICIES:
            bad("host_key_policy", f"expected one of {', '.join(POLICIES)}, got {merged['host_key_policy']!r}")

    def _key_file(self, values: dict, field: str, h: dict, defaults: dict, where: str) -> bool:
        """Expand ``values[field]`` (a private key's path) and check it; a problem is named on the
        line that gave the path (the host's, or the defaults'). False when there is one."""
        values[field] = str(Path(values[field]).expanduser())
        problem = self._key_problem(values[field])
        if problem:
            node, place = (h, where) if field in h else (defaults, "defaults")
            self.problem(node, field, f"{place}.{field}: {problem}")
            return False
        return True

    def _key_problem(self, path: str) -> str | None:
        """Why the private key at ``path`` cannot be used (unreadable, not a key, encrypted), or None."""
        if path in self.checked_keys:
            return self.checked_keys[path]
        problem = _key_problem(path)
        self.checked_keys[path] = problem
        return problem


def _key_problem(path: str) -> str | None:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(256)
    except IsADirectoryError:
        return f"cannot read {path}: it is a directory"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    if b"PRIVATE KEY" not in head:
        hint = " (that is a public key: give the private one)" if head.startswith((b"ssh-", b"ecdsa-")) else ""
        return f"{path} is not a private key{hint}"
    try:
        import paramiko

        paramiko.PKey.from_path(str(p))
    except paramiko.PasswordRequiredException:
        return f"{path} is encrypted: grading needs an unencrypted key (or a password)"
    except TypeError as exc:  # cryptography's word for an OpenSSH key with a passphrase
        if "password" in str(exc).lower():
            return f"{path} is encrypted: grading needs an unencrypted key (or a password)"
        return f"{path} is not a usable private key: {exc}"
    except Exception as exc:  # unsupported or damaged key
        return f"{path} is not a usable private key: {exc}"
    return None
