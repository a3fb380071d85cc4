"""The course's Remote API steps (DK34), as the harness performs them in validate mode.

The notes edit ExecStart in docker.service; the host containers have no systemd, and their
dockerd arguments live in /run/labharness-dockerd.args (one per line), which is what
`labharness-dockerd restart` starts dockerd with. The solution adds `-H tcp://0.0.0.0:2375`
there and keeps the unix socket, as the catalog's drop-in does (`-H fd:// -H tcp://...`).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from harness.wait import wait_until

solution = Solution()


def _listen(env: LabEnv, url: str) -> None:
    p, h = env.params, env["docker01"]
    h.check("printf '%%s\\n' -H %s >> %s", url, p.dockerd_args_file)
    h.check("labharness-dockerd restart", timeout=120)
    wait_until(lambda: h.run("curl -sf http://127.0.0.1:%s/_ping", str(p.port)).rc == 0, timeout=30,
               what="dockerd answering on TCP")


@solution.step("DK34: dockerd -H tcp://0.0.0.0:2375 (ExecStart), daemon-reload, restart docker")
def dk34_listen(env: LabEnv) -> None:
    _listen(env, env.params.listen)


@solution.step("DK34: curl http://127.0.0.1:2375/info, /images/json, /containers/json; docker -H 127.0.0.1:2375 ps")
def dk34_local_api(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    for path in ("info", "images/json", "containers/json"):
        h.check("curl -sf http://127.0.0.1:%s/%s", str(p.port), path)
    h.check("docker -H 127.0.0.1:%s ps", str(p.port))


@solution.step("DK34: curl -X POST /containers/create -d '{\"image\":\"centos\"}', then curl -X DELETE /containers/ID?v=1")
def dk34_create_delete(env: LabEnv) -> None:
    import json

    p, h = env.params, env["docker01"]
    out = h.check("curl -s -X POST -H 'Content-Type:application/json' http://127.0.0.1:%s/containers/create -d %s",
                  str(p.port), json.dumps({"image": p.create_image}))
    cid = json.loads(out)["Id"]
    h.check("curl -sf -X DELETE http://127.0.0.1:%s/containers/%s?v=1", str(p.port), cid)


@solution.step("DK34 (client): docker -H 10.0.1.70:2375 images; run -d -P training/webapp python app.py; ps")
def dk34_client(env: LabEnv) -> None:
    p, c = env.params, env["client01"]
    remote = f"{env['docker01'].address}:{p.port}"
    c.check("docker -H %s images", remote)
    c.check("docker -H %s run -d -P %s python app.py", remote, p.remote_image)
    c.check("docker -H %s ps", remote)


# --------------------------------------------------------------------------- typical mistakes


def _loopback_only(env: LabEnv) -> None:
    """Listened on tcp://127.0.0.1:2375: the notes' local curl works, nobody else gets in."""
    p, h = env.params, env["docker01"]
    remote = h.check("docker ps -q --filter ancestor=%s", p.remote_image).split()
    h.check("sed -i '/^tcp:/d; /^-H$/{N; /\\ntcp:/d}' %s", p.dockerd_args_file)
    _listen(env, f"tcp://127.0.0.1:{p.port}")
    for cid in remote:  # the student starts the remote container again from docker01
        h.check("docker start %s", cid)


def _remote_container_missing(env: LabEnv) -> None:
    """Never ran the training/webapp container from the client (or removed it)."""
    p, h = env.params, env["docker01"]
    for cid in h.check("docker ps -aq --filter ancestor=%s", p.remote_image).split():
        h.check("docker rm -f %s", cid)


MISTAKES = (
    Mistake("loopback_only", "made dockerd listen on tcp://127.0.0.1:2375 only", _loopback_only,
            frozenset({"test_dk34_listener", "test_dk34_ping_from_outside", "test_dk34_remote_cli"})),
    Mistake("remote_container_missing", "did not start training/webapp through the remote API", _remote_container_missing,
            frozenset({"test_dk34_remote_container"})),
)
