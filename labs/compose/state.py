"""Compose projects as the engine sees them: containers found by their compose labels and images.

Compose v1 (`docker-compose`) names containers `project_service_1`, v2 (`docker compose`)
`project-service-1`; both put the labels com.docker.compose.project/service on them, so the
checks find containers by label and image and never care which CLI made them, nor the name of
the directory a student ran it in. Inspections print only the fields the checks need through a
template (no Config.Env: the WordPress stack's database passwords must not end up in a report).

Every read goes through ``labs.common.docker.docker``: a daemon that does not answer raises
DockerUnavailable (ERROR); a daemon that answers "nothing" is the student's state (FAIL).
"""

from __future__ import annotations

import json

from harness.core.errors import UsageError
from labs.common.docker import DockerUnavailable, docker

CLIS = ("docker-compose", "docker compose")

CONTAINER = ('{"Id":{{json .Id}},"Name":{{json .Name}},"Created":{{json .Created}},"State":{{json .State}},'
             '"Image":{{json .Config.Image}},"ImageId":{{json .Image}},'
             '"Cmd":{{json .Config.Cmd}},"Labels":{{json .Config.Labels}},"WorkingDir":{{json .Config.WorkingDir}},'
             '"HostConfig":{{json .HostConfig}},"Mounts":{{json .Mounts}},"Networks":{{json .NetworkSettings.Networks}}}')

PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"


def cli(value: str) -> str:
    """A Compose CLI from the two the lab knows: it is pasted into shell commands."""
    if value not in CLIS:
        raise UsageError(f"compose CLI {value!r}: use one of {', '.join(CLIS)}")
    return value


def _inspect(host, ids: list[str]) -> list[dict]:
    if not ids:
        return []
    res = docker(host, "inspect --type container -f %s" + " %s" * len(ids), CONTAINER, *ids)
    if res.rc != 0:  # one went away between ps and inspect: one by one
        out = []
        for i in ids:
            one = docker(host, "inspect --type container -f %s %s", CONTAINER, i)
            if one.rc == 0 and one.stdout.strip():
                out.append(json.loads(one.stdout))
        return out
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


def containers(host, project: str | None = None, service: str | None = None) -> list[dict]:
    """Compose-made containers (running or not), oldest first, optionally of one project/service."""
    flt = [f"label={PROJECT}={project}" if project else f"label={PROJECT}"]
    if service:
        flt.append(f"label={SERVICE}={service}")
    res = docker(host, "ps -aq --no-trunc" + " --filter %s" * len(flt), *flt)
    if res.rc != 0:
        raise DockerUnavailable(f"{host.name}: `docker ps` failed: {res.stderr.strip()[:300]}")
    return sorted(_inspect(host, res.stdout.split()), key=lambda c: c["Created"])


def image_id(host, ref: str) -> str | None:
    """The ID the tag names now, or None (the daemon answered: no such image)."""
    res = docker(host, "image inspect -f %s %s", "{{.Id}}", ref)
    return res.stdout.strip() if res.rc == 0 and res.stdout.strip() else None


def is_image(c: dict, ref: str, ref_id: str | None) -> bool:
    """The container was run from ``ref`` (by name, or the image that tag names now)."""
    def norm(r: str) -> str:
        r = r.removeprefix("docker.io/").removeprefix("library/")
        return r if ":" in r.rsplit("/", 1)[-1] else r + ":latest"
    return norm(c["Image"]) == norm(ref) or (ref_id is not None and c["ImageId"] == ref_id)


def compose_service(host, service: str, image: str) -> list[dict]:
    """Compose containers of service ``service`` run from ``image``, any project, oldest first."""
    ref_id = image_id(host, image)
    return [c for c in containers(host, service=service) if is_image(c, image, ref_id)]


def container(host, name: str) -> dict | None:
    """A container by the name the notes type, or None when the daemon says there is none."""
    res = docker(host, "inspect --type container -f %s %s", CONTAINER, name)
    return json.loads(res.stdout) if res.rc == 0 and res.stdout.strip() else None


def env_values(host, container_id: str, *names: str) -> dict[str, str]:
    """The values of the named environment variables only (never the whole environment)."""
    quoted = " ".join(json.dumps(n) for n in names)
    tmpl = '{{range .Config.Env}}{{$kv := split . "="}}{{if eq (index $kv 0) ' + quoted + '}}{{println .}}{{end}}{{end}}'
    res = docker(host, "inspect --type container -f %s %s", tmpl, container_id)
    if res.rc != 0:
        return {}
    return dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)


def same_env(host, a: str, var_a: str, b: str, var_b: str) -> bool:
    """Container a's $var_a equals container b's $var_b (non-empty), compared on the host: neither is printed."""
    assert var_a.isidentifier() and var_b.isidentifier()
    docker(host, "inspect --type container -f %s %s %s", "{{.Id}}", a, b)  # raises if the daemon is gone
    tmpl = "{{range .Config.Env}}{{println .}}{{end}}"
    res = host.run(f'a=$(docker inspect -f %s %s | sed -n "s/^{var_a}=//p"); '
                   f'b=$(docker inspect -f %s %s | sed -n "s/^{var_b}=//p"); '
                   '[ -n "$a" ] && [ "$a" = "$b" ] && echo same || echo different', tmpl, a, tmpl, b)
    return res.stdout.strip() == "same"
