"""What the Docker labs' checks read from a host: inspect JSON, and containers found as a trainer would.

Read-only (``docker ... inspect``, ``docker ps``). Two kinds of "no" are told apart:

- the daemon did not answer (``Cannot connect to the Docker daemon``, a timeout): the fault is
  ours or the machine's, never the student's, so it raises ``DockerUnavailable`` (ERROR);
- the daemon answered that the thing is not there: the student's state, an assertion (FAIL)
  that says what was looked for and on which host.

Containers are found the way a trainer looks at a student's host: by the image they were run
from, the port they publish, the mount they have — never by a name the harness made up. The
notes mostly run containers without ``--name``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import HarnessError

#: what the docker CLI prints when it cannot reach dockerd (any version since 1.x)
_DAEMON_GONE = ("Cannot connect to the Docker daemon", "Is the docker daemon running", "error during connect")


class DockerUnavailable(HarnessError):
    """dockerd did not answer a read during a check: an ERROR, never counted against the student."""


def docker(host, command: str, *args: str, timeout: float | None = None):
    """Run ``docker COMMAND`` (``%s`` args quoted) on the host; raise if the daemon did not answer.

    Returns the CommandResult whatever its exit status otherwise: "No such object" is an answer.
    A dockerd that answers only on TCP (the notes' DK34, typed literally) is read there.
    """
    prefix = f"DOCKER_HOST={host.docker_host} " if getattr(host, "docker_host", None) else ""
    res = host.run(prefix + "docker " + command, *args, timeout=timeout)
    if res.rc != 0 and any(s in res.stderr for s in _DAEMON_GONE):
        raise DockerUnavailable(f"{host.name}: dockerd did not answer `docker {command.split()[0]}`: "
                                f"{res.stderr.strip().splitlines()[-1][:300]}")
    return res


def _inspect(host, kind: str, ref: str) -> dict | None:
    res = docker(host, f"{kind} inspect %s", ref)
    if res.rc != 0:
        return None
    found = json.loads(res.stdout or "[]")
    return found[0] if found else None


def container(host, name: str) -> dict:
    """``docker container inspect NAME`` on the host, or a FAIL saying it does not exist."""
    c = _inspect(host, "container", name)
    assert c is not None, f"container {name} does not exist on {host.name}"
    return c


def container_or_none(host, name: str) -> dict | None:
    """Inspect JSON of the container named ``name``, or None when the daemon says there is none."""
    return _inspect(host, "container", name)


def named(host, name: str, how: str) -> dict:
    """The container the notes name, or a FAIL that says so and how the notes made it (``how``)."""
    c = container_or_none(host, name)
    assert c is not None, f"no container named {name} on {host.name} ({how})"
    return c


def running(host, name: str) -> dict:
    """The container's inspect JSON, or a FAIL saying it does not exist or is not running."""
    c = container(host, name)
    assert c["State"]["Running"], f"{name} is {c['State']['Status']}"
    return c


def image(host, ref: str, how: str = "") -> dict:
    """``docker image inspect REF`` on the host, or a FAIL saying it does not exist (``how``: a hint to add)."""
    i = _inspect(host, "image", ref)
    assert i is not None, f"image {ref} does not exist on {host.name}" + (f" ({how})" if how else "")
    return i


def image_id(host, ref: str) -> str | None:
    """The ID the tag ``ref`` names now, or None when there is no such image (no assertion)."""
    i = _inspect(host, "image", ref)
    return i["Id"] if i else None


def all_containers(host, *, include_stopped: bool = False) -> list[dict]:
    """Inspect JSON of every (running) container on the host, oldest first."""
    res = docker(host, "ps -q --no-trunc" + (" -a" if include_stopped else ""))
    assert res.rc == 0, f"`docker ps` failed on {host.name}: {res.stderr.strip()[:300]}"
    ids = res.stdout.split()
    if not ids:
        return []
    res = docker(host, "container inspect " + " ".join(["%s"] * len(ids)), *ids)
    if res.rc != 0:  # one went away between ps and inspect: inspect them one by one
        found = [c for c in (_inspect(host, "container", i) for i in ids) if c is not None]
    else:
        found = json.loads(res.stdout)
    return sorted(found, key=lambda c: c["Created"])


def same_image(ref: str, name: str) -> bool:
    """``nginx`` and ``nginx:latest`` (and ``docker.io/library/nginx``) are one image name."""
    def norm(r: str) -> str:
        r = r.removeprefix("docker.io/").removeprefix("library/")
        return r if ":" in r.rsplit("/", 1)[-1] or "@" in r else r + ":latest"
    return norm(ref) == norm(name)


@dataclass(frozen=True)
class Want:
    """What a trainer looks for in ``docker ps``; every field given must match.

    ``image``: the name the container was run from (its ``Config.Image``) or the image that tag
    names now (a container of an image built twice under one tag still counts); ``publishes``:
    a container port like ``"80/tcp"`` (published to any host port), or ``host_port`` for the
    host side; ``mount``: a destination path inside the container.
    """

    image: str | None = None
    publishes: str | None = None
    host_port: int | None = None
    mount: str | None = None
    running: bool = True

    def describe(self) -> str:
        parts = [f"{'running ' if self.running else ''}container"]
        if self.image:
            parts.append(f"of image {self.image}")
        if self.publishes:
            parts.append(f"publishing {self.publishes}")
        if self.host_port:
            parts.append(f"on host port {self.host_port}")
        if self.mount:
            parts.append(f"with a mount on {self.mount}")
        return " ".join(parts)


def _matches(c: dict, want: Want, image_now: str | None) -> bool:
    if want.running and not c["State"]["Running"]:
        return False
    if want.image and not (same_image(c["Config"]["Image"], want.image) or (image_now and c["Image"] == image_now)):
        return False
    ports = (c.get("NetworkSettings") or {}).get("Ports") or {}
    bindings = (c.get("HostConfig") or {}).get("PortBindings") or {}
    if want.publishes and not (ports.get(want.publishes) or bindings.get(want.publishes)):
        return False
    if want.host_port:
        published = [b for bs in list(ports.values()) + list(bindings.values()) for b in (bs or [])]
        if not any(str(b.get("HostPort")) == str(want.host_port) for b in published):
            return False
    if want.mount and not any(m.get("Destination") == want.mount for m in c.get("Mounts") or []):
        return False
    return True


def find_containers(host, want: Want) -> list[dict]:
    """Every container on the host that matches ``want`` (may be none), oldest first."""
    image_now = image_id(host, want.image) if want.image else None
    return [c for c in all_containers(host, include_stopped=not want.running) if _matches(c, want, image_now)]


def find_container(host, want: Want) -> dict:
    """The newest container matching ``want``, or a FAIL that says what was looked for and what is there."""
    found = find_containers(host, want)
    if not found:
        seen = all_containers(host, include_stopped=True)
        there = ", ".join(f"{c['Name'][1:]} ({c['Config']['Image']}, {c['State']['Status']})" for c in seen[-8:]) or "none"
        raise AssertionError(f"no {want.describe()} on {host.name} (containers there: {there})")
    return found[-1]


def docker_info(host) -> dict:
    """``docker info`` as JSON (a daemon that does not answer is an ERROR, see ``docker``)."""
    res = docker(host, "info --format '{{json .}}'")
    assert res.rc == 0, f"docker info on {host.name}: {res.stderr.strip()[:200]}"
    try:
        return json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"docker info on {host.name} printed no JSON: {res.stdout.strip()[:200]!r}") from None


def daemon_json(host, path: str) -> dict:
    """The host's daemon.json, or a FAIL saying it is missing, not valid JSON or not a JSON object."""
    res = host.run("cat %s", path)
    assert res.rc == 0, f"{path} does not exist on {host.name}"
    try:
        data = json.loads(res.stdout)
    except ValueError as exc:
        raise AssertionError(f"{path} on {host.name} is not valid JSON: {exc}") from None
    assert isinstance(data, dict), f"{path} on {host.name} is not a JSON object"
    return data


def port_bindings(c: dict, port: str) -> list[dict]:
    """How an inspected container publishes ``port`` ("80/tcp"): [{"HostIp": ..., "HostPort": ...}], or []."""
    return ((c.get("HostConfig") or {}).get("PortBindings") or {}).get(port) or []


def command_line(c: dict) -> list[str]:
    """An inspected container's command: its entrypoint, then its cmd."""
    return (c["Config"].get("Entrypoint") or []) + (c["Config"].get("Cmd") or [])


def comma_list(value: str) -> list[str]:
    """A course parameter holding several values ("a, b"): its values, blanks dropped."""
    return [v.strip() for v in value.split(",") if v.strip()]


MERGE = "/usr/local/bin/merge-daemon-json"
MERGE_SCRIPT = Path(__file__).parent / "files" / "merge-daemon-json.py"


def merge_daemon_json(h, daemon_json: str, keys: dict) -> None:
    """Merge ``keys`` into the host's daemon.json, keeping the keys already there (as a student edits
    it by hand: DK03's mirrors, DK24's insecure registries and DK33's bridge live in one file).
    Shared by every lab that edits daemon.json."""
    h.put_file(MERGE, MERGE_SCRIPT.read_bytes(), 0o755)
    h.check("%s %s %s", MERGE, daemon_json, json.dumps(keys))
