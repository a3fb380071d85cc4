"""The course's registry steps (DK24, with C06's localhost push), as the harness performs them.

No systemd in the host containers: `systemctl restart docker` is `labharness-dockerd restart`.
"""

from __future__ import annotations

import json

from harness.lab import LabEnv, Mistake, Solution
from harness.wait import wait_until
from labs.common.docker import merge_daemon_json

solution = Solution()


def registry_addr(params, docker01) -> str:
    return params.registry or f"{docker01.address}:{params.port}"


def mirrors(params) -> list[str]:
    return [m.strip() for m in params.mirrors.split(",") if m.strip()]


def _restart_docker(h) -> None:
    h.check("labharness-dockerd restart", timeout=120)


def _registry_up(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    wait_until(lambda: h.run("curl -sf http://127.0.0.1:%s/v2/", str(p.port)).rc == 0, timeout=60,
               what="the registry answering on /v2/")


def _run_registry(env: LabEnv, volume: str) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name %s --restart=always -p %s:5000 -v %s %s",
            p.container, str(p.port), volume, p.image)
    _registry_up(env)


@solution.step("DK24: docker run -d --name cc_registry --restart=always -p 5000:5000 -v /opt/data/registry:/var/lib/registry registry")
def dk24_run(env: LabEnv) -> None:
    _run_registry(env, f"{env.params.host_dir}:/var/lib/registry")


@solution.step("C06: docker tag nginx:alpine localhost:5000/nginx:alpine; docker push (localhost needs no configuration)")
def c06_localhost(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    local = f"localhost:{p.port}/{p.c06_image}"
    h.check("docker tag %s %s && docker push %s", p.c06_image, local, local, timeout=300)


@solution.step("DK24: insecure-registries (next to registry-mirrors) in daemon.json, restart docker")
def dk24_insecure(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    merge_daemon_json(h, p.daemon_json, {"registry-mirrors": mirrors(p), "insecure-registries": [registry_addr(p, h)]})
    _restart_docker(h)
    _registry_up(env)  # --restart=always brings cc_registry back


@solution.step("DK24: docker tag hello-world 10.0.1.70:5000/cc-hello-world:latest; docker push; C06: the same for nginx:alpine")
def dk24_push(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    addr = registry_addr(p, h)
    h.check("docker tag %s %s/%s:latest && docker push %s/%s", p.source_image, addr, p.repo, addr, p.repo, timeout=300)
    h.check("docker tag %s %s/%s && docker push %s/%s", p.c06_image, addr, p.c06_image, addr, p.c06_image, timeout=300)


@solution.step("DK24: docker rmi the local tag, docker pull 10.0.1.70:5000/cc-hello-world")
def dk24_pull(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    addr = registry_addr(p, h)
    h.check("docker rmi %s/%s:latest", addr, p.repo)
    h.check("docker pull %s/%s", addr, p.repo, timeout=300)


@solution.step("DK24 (second host): insecure-registries on client01, restart docker, docker pull from docker01")
def dk24_client(env: LabEnv) -> None:
    p, c = env.params, env["client01"]
    addr = registry_addr(p, env["docker01"])
    merge_daemon_json(c, p.daemon_json, {"insecure-registries": [addr]})
    _restart_docker(c)
    c.check("docker pull %s/%s", addr, p.repo, timeout=300)


# --------------------------------------------------------------------------- typical mistakes


def _registry_v1_path(env: LabEnv) -> None:
    """Ran the registry with B04's `-v /opt/data/registry:/tmp/registry` (the v1 registry's path):
    the images live in an anonymous volume and nothing reaches the host directory."""
    p, h = env.params, env["docker01"]
    addr = registry_addr(p, h)
    h.check("docker rm -f -v %s && rm -rf %s", p.container, p.host_dir)
    _run_registry(env, f"{p.host_dir}:/tmp/registry")
    for ref in (f"{addr}/{p.repo}", f"localhost:{p.port}/{p.c06_image}", f"{addr}/{p.c06_image}"):
        h.check("docker push %s", ref, timeout=300)


def _client_not_insecure(env: LabEnv) -> None:
    """client01's daemon.json lost its insecure-registries entry (overwritten), docker restarted."""
    c = env["client01"]
    c.put_file(env.params.daemon_json, b"{}\n")
    _restart_docker(c)


def _mirrors_dropped(env: LabEnv) -> None:
    """Wrote docker01's daemon.json from scratch with insecure-registries only: the mirror is gone."""
    p, h = env.params, env["docker01"]
    h.put_file(p.daemon_json, (json.dumps({"insecure-registries": [registry_addr(p, h)]}) + "\n").encode())
    _restart_docker(h)
    _registry_up(env)


MISTAKES = (
    Mistake("registry_v1_path", "mounted the host directory on /tmp/registry (the v1 path): nothing persists on the host",
            _registry_v1_path, frozenset({"test_dk24_registry_container", "test_dk24_persisted_on_host"})),
    Mistake("client_not_insecure", "client01 does not list docker01's registry as insecure", _client_not_insecure,
            frozenset({"test_dk24_second_host_insecure"})),
    Mistake("mirrors_dropped", "rewrote daemon.json with insecure-registries only, dropping registry-mirrors",
            _mirrors_dropped, frozenset({"test_dk24_insecure_registry"})),
)
