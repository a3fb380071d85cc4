"""Whom an SSH connection talks to and logs in with: the host-key policy, the key file, and each refusal's reason.

The paramiko backend (``harness.hosts.ssh_backend.TimedParamikoBackend``) builds on these:

- **Host-key policy.** The harness keeps its own ``known_hosts`` file (default
  ``$LABHARNESS_CACHE/ssh/known_hosts``; an inventory or ``--known-hosts`` may name another):
  ``tofu`` (default) records a host's key the first time and refuses a changed key; ``strict``
  refuses any host not already in the file; ``ignore`` checks nothing (for throw-away lab hosts
  whose keys change with every rebuild). Several xdist workers may record keys at once: the
  file is appended under an ``flock`` and re-read first, so one host gets one line.
- **Errors that say why.** Every way a connection can fail becomes a :class:`HostUnreachable`
  (a ``HarnessError``: the student's checks are ERROR, never FAIL) whose message names the host,
  the address and the cause: refused, no route, timed out, login refused, host key changed.
  Passwords never appear in messages. The refusals are defined here; the backend raises the
  others when it connects.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
from pathlib import Path

import paramiko

from harness.core.errors import HostUnreachable, UsageError
from harness.core.runs import cache_dir

log = logging.getLogger(__name__)

POLICIES = ("tofu", "strict", "ignore")
DEFAULT_POLICY = "tofu"


class SSHLoginRefused(HostUnreachable):
    """The host answered but refused the login (wrong key, wrong user, key not authorised)."""


class HostKeyMismatch(HostUnreachable):
    """The host's key differs from the one on record: another machine, or a reinstalled one."""


class HostKeyUnknown(HostUnreachable):
    """``strict`` policy and the host is not in the known_hosts file."""


class KeyFileUnsafe(HostUnreachable):
    """The private key file is readable by group or others: ssh refuses such a key, so do we."""


def check_key_file(path: str, label: str) -> None:
    """Refuse a private key that group or others may read, as ``ssh`` does ("UNPROTECTED PRIVATE KEY FILE")."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KeyFileUnsafe(f"{label}: cannot read the private key {path}: {exc.strerror or exc}") from None
    mode = st.st_mode & 0o777
    if mode & 0o077:
        raise KeyFileUnsafe(f"{label}: the private key {path} has mode {mode:04o}: group or others can read it, "
                            f"and ssh refuses such a key; run chmod 600 {path}")


def default_known_hosts() -> Path:
    env = os.environ.get("LABHARNESS_KNOWN_HOSTS")
    return Path(env) if env else cache_dir() / "ssh" / "known_hosts"


def host_id(address: str, port: int) -> str:
    """How known_hosts names a host: ``10.0.1.70``, or ``[10.0.1.70]:2222`` off port 22."""
    return address if port == 22 else f"[{address}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return f"{key.get_name()} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


class HostKeyPolicy:
    """Applies one of ``tofu``, ``strict``, ``ignore`` with one known_hosts file."""

    def __init__(self, policy: str = DEFAULT_POLICY, known_hosts: str | Path | None = None):
        if policy not in POLICIES:
            raise UsageError(f"host key policy {policy!r}: choose one of {', '.join(POLICIES)}")
        self.policy = policy
        self.path = Path(known_hosts).expanduser() if known_hosts else default_known_hosts()

    def __repr__(self) -> str:
        return f"HostKeyPolicy({self.policy!r}, {str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostKeyPolicy) and (self.policy, self.path) == (other.policy, other.path)

    def __hash__(self) -> int:
        return hash((self.policy, self.path))

    def _read(self) -> paramiko.HostKeys:
        keys = paramiko.HostKeys()
        if self.path.is_file():
            try:
                keys.load(str(self.path))
            except (OSError, UnicodeDecodeError) as exc:
                raise HostUnreachable(f"cannot read the known_hosts file {self.path}: {exc}") from None
        return keys

    def prepare(self, client: paramiko.SSHClient, label: str) -> None:
        """Give ``client`` the keys on record and the policy for hosts not on record."""
        if self.policy == "ignore":
            client.set_missing_host_key_policy(_Accept())
            return
        known = self._read()
        for hostname, entry in known.items():
            for keytype, key in entry.items():
                client.get_host_keys().add(hostname, keytype, key)
        client.set_missing_host_key_policy(_Strict(self, label) if self.policy == "strict" else _Record(self, label))

    def record(self, hostname: str, key: paramiko.PKey, label: str) -> None:
        """Append ``hostname``'s key, unless another process recorded one meanwhile (then compare)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        with open(lock, "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            known = self._read().lookup(hostname)
            if known:
                mine = known.get(key.get_name())
                if mine is None or mine != key:
                    old = mine or next(iter(known.values()))
                    raise mismatch(label, hostname, key, old, self.path)
                return  # another worker recorded the same key
            with open(self.path, "a", encoding="ascii") as f:
                f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        log.info("%s: recorded host key %s for %s in %s", label, fingerprint(key), hostname, self.path)


def mismatch(label: str, hostname: str, got: paramiko.PKey, expected: paramiko.PKey, path: Path) -> HostKeyMismatch:
    return HostKeyMismatch(
        f"{label}: the host key changed ({hostname} sent {fingerprint(got)}, {path} has {fingerprint(expected)}): "
        f"another machine answers at this address, or it was reinstalled; if so, remove its line from {path}"
    )


class _Accept(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client, hostname, key) -> None:
        pass


class _Strict(paramiko.MissingHostKeyPolicy):
    def __init__(self, policy: HostKeyPolicy, label: str):
        self.policy, self.label = policy, label

    def missing_host_key(self, client, hostname, key) -> None:
        raise HostKeyUnknown(
            f"{self.label}: {hostname} is not in {self.policy.path} (host key policy strict; it sent {fingerprint(key)}): "
            f"add its key (ssh-keyscan) or use --host-key-policy tofu"
        )


class _Record(paramiko.MissingHostKeyPolicy):
    def __init__(self, policy: HostKeyPolicy, label: str):
        self.policy, self.label = policy, label

    def missing_host_key(self, client, hostname, key) -> None:
        self.policy.record(hostname, key, self.label)
