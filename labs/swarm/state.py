"""Reading a swarm's state through the docker CLI on a node, as JSON.

Shared by the checks and the solution's waits. Every read selects its fields with a Go
template, so no container environment (the stack's database passwords) and no join token
ever reaches a report: only what a check needs is printed, and printed output is evidence.
"""

from __future__ import annotations

import json

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


def swarm_info(host) -> dict:
    """`docker info`'s Swarm section of this host's engine ({} when the engine does not answer)."""
    res = host.run("docker info --format %s", "{{json .Swarm}}")
    return json.loads(res.stdout) if res.rc == 0 and res.stdout.strip() else {}


def nodes(manager) -> list[dict]:
    """The swarm's nodes as the manager sees them; [] when it is no manager."""
    res = manager.run("docker node ls -q | xargs -r docker node inspect -f %s", NODE)
    return _lines(res.stdout) if res.rc == 0 else []


def service(manager, name: str) -> dict | None:
    res = manager.run("docker service inspect -f %s %s", SERVICE, name)
    return _lines(res.stdout)[0] if res.rc == 0 and res.stdout.strip() else None


def services(manager, stack: str) -> list[dict]:
    """The services of a stack (label com.docker.stack.namespace)."""
    res = manager.run("docker service ls -q --filter %s | xargs -r docker service inspect -f %s",
                      f"label=com.docker.stack.namespace={stack}", SERVICE)
    return _lines(res.stdout) if res.rc == 0 else []


def tasks(manager, name: str) -> list[dict]:
    """Every task of a service, history included (desired state shutdown for replaced ones)."""
    res = manager.run("docker service ps -q --no-trunc %s | xargs -r docker inspect --type task -f %s", name, TASK)
    return _lines(res.stdout) if res.rc == 0 else []


def node_tasks(manager, node: str) -> list[dict]:
    """Every task the swarm ever assigned to a node (history included)."""
    res = manager.run("docker node ps -q --no-trunc %s | xargs -r docker inspect --type task -f %s", node, TASK)
    return _lines(res.stdout) if res.rc == 0 else []


def running(tasks_: list[dict]) -> list[dict]:
    """Tasks meant to run that do run."""
    return [t for t in tasks_ if t["DesiredState"] == "running" and t["Status"]["State"] == "running"]


def hostnames(manager) -> dict[str, str]:
    """Node ID -> hostname."""
    return {n["ID"]: n["Hostname"] for n in nodes(manager)}


def published_ports(task: dict) -> list[dict]:
    return ((task["Status"].get("PortStatus") or {}).get("Ports")) or []


def overlay_addresses(task: dict, network: str) -> list[str]:
    """The task's addresses (without prefix length) on the named network."""
    out = []
    for att in task.get("Networks") or []:
        if att["Network"]["Spec"]["Name"] == network:
            out += [a.split("/")[0] for a in att.get("Addresses") or []]
    return out
