"""Reading a swarm's state through the docker CLI on a node, as JSON.

Shared by the checks and the solution's waits. Every read goes through
``labs.common.docker.docker``: a daemon that does not answer raises DockerUnavailable (ERROR);
one that answers "not a swarm manager" or "no such service" is the student's state (FAIL in the
check). Every read selects its fields with a Go template, so no container environment (the stack's database passwords) and no join token
ever reaches a report: only what a check needs is printed, and printed output is evidence.
"""

from __future__ import annotations

import json

from labs.common.docker import DockerUnavailable, docker

NODE = ('{"ID":{{json .ID}},"Hostname":{{json .Description.Hostname}},"Role":{{json .Spec.Role}},'
        '"Availability":{{json .Spec.Availability}},"State":{{json .Status.State}},"Addr":{{json .Status.Addr}},'
        '"Leader":{{if .ManagerStatus}}{{json .ManagerStatus.Leader}}{{else}}false{{end}},'
        '"Engine":{{json .Description.Engine.EngineVersion}}}')

SERVICE = ('{"ID":{{json .ID}},"Name":{{json .Spec.Name}},"Labels":{{json .Spec.Labels}},"Mode":{{json .Spec.Mode}},'
           '"Image":{{json .Spec.TaskTemplate.ContainerSpec.Image}},'
           '"Mounts":{{json .Spec.TaskTemplate.ContainerSpec.Mounts}},'
           '"Placement":{{json .Spec.TaskTemplate.Placement}},"UpdateConfig":{{json .Spec.UpdateConfig}},'
           '"EndpointSpec":{{json .Spec.EndpointSpec}},"Endpoint":{{json .Endpoint}},'
           '"PreviousImage":{{if .PreviousSpec}}{{json .PreviousSpec.TaskTemplate.ContainerSpec.Image}}{{else}}null{{end}},'
           '"UpdateStatus":{{json .UpdateStatus}}}')

TASK = ('{"ID":{{json .ID}},"ServiceID":{{json .ServiceID}},"NodeID":{{json .NodeID}},"Slot":{{json .Slot}},'
        '"DesiredState":{{json .DesiredState}},"Status":{{json .Status}},"Image":{{json .Spec.ContainerSpec.Image}},'
        '"Networks":{{json .NetworksAttachments}}}')


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def _ids(host, command: str, *args: str) -> list[str] | None:
    """IDs a listing prints; None when the daemon answered that this node cannot list them (no manager)."""
    res = docker(host, command, *args)
    return res.stdout.split() if res.rc == 0 else None


def _inspect(host, verb: str, template: str, ids: list[str]) -> list[dict]:
    """Inspect each ID with the template (one by one if one went away meanwhile)."""
    if not ids:
        return []
    res = docker(host, f"{verb} -f %s" + " %s" * len(ids), template, *ids)
    if res.rc == 0:
        return _lines(res.stdout)
    out = []
    for i in ids:
        one = docker(host, f"{verb} -f %s %s", template, i)
        if one.rc == 0:
            out += _lines(one.stdout)
    return out


def swarm_info(host) -> dict:
    """`docker info`'s Swarm section of this host's engine (DockerUnavailable when it does not answer)."""
    res = docker(host, "info --format %s", "{{json .Swarm}}")
    if res.rc != 0 or not res.stdout.strip():
        raise DockerUnavailable(f"{host.name}: `docker info` failed: {res.stderr.strip()[:300]}")
    return json.loads(res.stdout)


def nodes(manager) -> list[dict]:
    """The swarm's nodes as the manager sees them; [] when it is no manager."""
    return _inspect(manager, "node inspect", NODE, _ids(manager, "node ls -q") or [])


def service(manager, name: str) -> dict | None:
    found = _inspect(manager, "service inspect", SERVICE, [name]) if _ids(manager, "service ls -q") is not None else []
    return found[0] if found else None


def services(manager, stack: str) -> list[dict]:
    """The services of a stack (label com.docker.stack.namespace)."""
    ids = _ids(manager, "service ls -q --filter %s", f"label=com.docker.stack.namespace={stack}") or []
    return _inspect(manager, "service inspect", SERVICE, ids)


def tasks(manager, name: str) -> list[dict]:
    """Every task of a service, history included (desired state shutdown for replaced ones)."""
    ids = _ids(manager, "service ps -q --no-trunc %s", name) or []
    return _inspect(manager, "inspect --type task", TASK, ids)


def running(tasks_: list[dict]) -> list[dict]:
    """Tasks meant to run that do run."""
    return [t for t in tasks_ if t["DesiredState"] == "running" and t["Status"]["State"] == "running"]


def hostnames(manager) -> dict[str, str]:
    """Node ID -> hostname."""
    return {n["ID"]: n["Hostname"] for n in nodes(manager)}

