"""Compose projects as the engine sees them: containers found by their compose labels.

Compose v1 (`docker-compose`) names containers `project_service_1`, v2 (`docker compose`)
`project-service-1`; both put the labels com.docker.compose.project/service on them, so the
checks find containers by label and never care which CLI made them. Inspections print only
the fields the checks need through a template (no Config.Env: the WordPress stack's database
passwords must not end up in a report).
"""

from __future__ import annotations

import json

from harness.errors import UsageError

CLIS = ("docker-compose", "docker compose")

CONTAINER = ('{"Id":{{json .Id}},"Name":{{json .Name}},"State":{{json .State}},"Image":{{json .Config.Image}},'
             '"Cmd":{{json .Config.Cmd}},"Labels":{{json .Config.Labels}},"WorkingDir":{{json .Config.WorkingDir}},'
             # keys the engine omits when empty: `index` gives null instead of a template error
             '"ExposedPorts":{{json (index .Config "ExposedPorts")}},"Healthcheck":{{json (index .Config "Healthcheck")}},'
             '"StopSignal":{{json (index .Config "StopSignal")}},"StopTimeout":{{json (index .Config "StopTimeout")}},'
             '"HostConfig":{{json .HostConfig}},"Mounts":{{json .Mounts}},"Networks":{{json .NetworkSettings.Networks}}}')


def cli(value: str) -> str:
    """A Compose CLI from the two the lab knows: it is pasted into shell commands."""
    if value not in CLIS:
        raise UsageError(f"compose CLI {value!r}: use one of {', '.join(CLIS)}")
    return value


def is_v1(value: str) -> bool:
    return cli(value) == "docker-compose"


def containers(host, project: str, service: str | None = None) -> list[dict]:
    """Containers (running or not) of a compose project, optionally of one service."""
    flt = [f"label=com.docker.compose.project={project}"]
    if service:
        flt.append(f"label=com.docker.compose.service={service}")
    cmd = "docker ps -aq" + " --filter %s" * len(flt) + " | xargs -r docker inspect -f %s"
    res = host.run(cmd, *flt, CONTAINER)
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()] if res.rc == 0 else []


def container(host, name: str) -> dict | None:
    res = host.run("docker inspect --type container -f %s %s", CONTAINER, name)
    return json.loads(res.stdout) if res.rc == 0 and res.stdout.strip() else None


def env_values(host, container_id: str, *names: str) -> dict[str, str]:
    """The values of the named environment variables only (never the whole environment)."""
    pattern = "^(" + "|".join(names) + ")="
    res = host.run("docker inspect -f %s %s | grep -E %s", "{{range .Config.Env}}{{println .}}{{end}}",
                   container_id, pattern)
    return dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
