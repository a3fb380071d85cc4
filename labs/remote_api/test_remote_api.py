"""Checks of the Remote API lab (catalog DK34): what the student set up and did, observed on docker01.

- how dockerd is configured to start (the -H in its ExecStart, a drop-in or daemon.json's hosts)
  and what the running daemon listens on;
- that docker01's API answers from outside (the grader fetches /_ping from docker01's address);
- what the student did through the API: the training/webapp container the remote client started,
  and the container the notes create with POST /containers/create and remove with DELETE (seen in
  dockerd's event log: created, never started, destroyed).

Read-only: the checks never create or delete anything. The engine is read over its unix socket or,
where the student's ExecStart dropped it (the notes' literal edit), over 127.0.0.1:2375."""

import json
import re
import time
import urllib.parse

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import DockerUnavailable

UNIT_PATHS = ("/usr/lib/systemd/system/docker.service", "/lib/systemd/system/docker.service",
              "/etc/systemd/system/docker.service", "/etc/systemd/system/docker.service.d/*.conf")


def _api(h, params, path):
    """GET PATH from docker01's engine: (status, parsed JSON or text). Raises DockerUnavailable if it never answers."""
    for base in ("--unix-socket /var/run/docker.sock http://docker", f"http://127.0.0.1:{params.port}"):
        res = h.run("curl -s --max-time 20 -w '\\n%%{http_code}' " + base + "/%s", path)
        body, _, code = res.stdout.rpartition("\n")
        if res.rc == 0 and code.strip().isdigit() and code.strip() != "000":
            try:
                return int(code), json.loads(body)
            except ValueError:
                return int(code), body
    raise DockerUnavailable(f"{h.name}: dockerd answers neither on /var/run/docker.sock nor on 127.0.0.1:{params.port}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="把 docker.service 的 ExecStart 改成 /usr/bin/dockerd -H tcp://0.0.0.0:2375（或加一个 drop-in），systemctl daemon-reload 后重启 docker",
                  en="Change docker.service's ExecStart to /usr/bin/dockerd -H tcp://0.0.0.0:2375 (or add a drop-in), then systemctl daemon-reload and restart docker")
def test_dk34_startup_config(docker01, params):
    """dockerd's start-up configuration (its systemd ExecStart, a drop-in, daemon.json's hosts, or the harness
    hosts' argument file) names -H tcp://0.0.0.0:2375, so the listener survives a restart."""
    tcp = rf"tcp://(0\.0\.0\.0)?:{params.port}\b"
    found = []
    # systemd's effective ExecStart (the unit with its drop-ins) where there is systemd
    effective = docker01.run("systemctl show -p ExecStart docker 2>/dev/null").stdout
    if "argv[]=" in effective:
        argv = effective.split("argv[]=", 1)[1].split(";", 1)[0]
        if re.search(rf"(-H|--host)[= ]{tcp}", argv):
            return
        found.append(f"systemctl show -p ExecStart docker: {argv.strip()[:160]}")
    for path in (*UNIT_PATHS, params.dockerd_args_file):
        res = docker01.run("cat " + path + " 2>/dev/null") if "*" in path else docker01.run("cat %s 2>/dev/null", path)
        text = res.stdout
        if path.endswith((".service", ".conf")):
            text = "\n".join(ln for ln in text.splitlines() if ln.strip().startswith("ExecStart="))
        else:
            text = " ".join(text.split())
        if text.strip():
            found.append(f"{path}: {text.strip()[:160]}")
        if re.search(rf"(-H|--host)[= ]{tcp}", text):
            return
    daemon_json = docker01.run("cat /etc/docker/daemon.json 2>/dev/null").stdout
    try:
        hosts = json.loads(daemon_json).get("hosts") or [] if daemon_json.strip() else []
    except ValueError:
        hosts = []
    if any(re.fullmatch(tcp, h) for h in hosts):
        return
    raise AssertionError(f"dockerd's start-up configuration on {docker01.name} has no -H tcp://0.0.0.0:{params.port} "
                         f"(ExecStart, drop-in, daemon.json hosts): {'; '.join(found) or 'nothing found'}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="重启 docker 后 ss -ltnp 应看到 dockerd 监听 0.0.0.0:2375（不是 127.0.0.1）",
                  en="After restarting docker, ss -ltnp shows dockerd listening on 0.0.0.0:2375 (not 127.0.0.1)")
def test_dk34_listener(docker01, params):
    """The running dockerd listens on port 2375 of every address."""
    listening = [ln for ln in docker01.run("ss -ltnp").stdout.splitlines() if f":{params.port} " in ln]
    assert any(re.search(rf"(0\.0\.0\.0|\*|\[::\]):{params.port} ", ln) and "dockerd" in ln for ln in listening), \
        (f"dockerd on {docker01.name} does not listen on all addresses, port {params.port}: "
         f"{[' '.join(ln.split()[3:6]) for ln in listening] or 'nothing listens there'}")


@pytest.mark.points(2)
@pytest.mark.hint(zh="从其他机器访问 http://<docker01的IP>:2375/_ping 应返回 OK（-H tcp://0.0.0.0:2375，而不是 127.0.0.1）",
                  en="From another machine, http://<docker01's IP>:2375/_ping must answer OK (-H tcp://0.0.0.0:2375, not 127.0.0.1)")
def test_dk34_ping_from_outside(docker01, params):
    """GET /_ping and /version on docker01's address, from the grader: OK and an ApiVersion."""
    ping = http_get(f"http://{docker01.address}:{params.port}/_ping")
    assert ping.status == 200 and ping.body.strip() == "OK", \
        f"docker01's API is not reachable from outside on {docker01.address}:{params.port}: {ping.error or ping.status}"
    version = http_get(f"http://{docker01.address}:{params.port}/version")
    assert version.status == 200 and json.loads(version.body).get("ApiVersion"), f"/version: {version.status} {version.body[:100]!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="在客户端执行 docker -H <docker01的IP>:2375 run -d -P training/webapp python app.py，容器运行在 docker01 上，5000 端口随机映射",
                  en="On the client run docker -H <docker01's IP>:2375 run -d -P training/webapp python app.py: it runs on docker01 with 5000 published at random")
def test_dk34_remote_container(docker01, params):
    """A running training/webapp container runs `python app.py` with -P: 5000/tcp published on a host port."""
    _, containers = _api(docker01, params, "containers/json")
    webapps = [c for c in containers if c["Image"] in (params.remote_image, f"{params.remote_image}:latest")
               or c["Image"].startswith(f"{params.remote_image}@")]
    assert webapps, (f"no running {params.remote_image} container on {docker01.name} "
                     f"(running: {[c['Image'] for c in containers] or 'none'})")
    ok = [c for c in webapps if c.get("Command") == "python app.py"
          and any(p.get("PrivatePort") == 5000 and p.get("PublicPort") for p in c.get("Ports") or [])]
    assert ok, (f"no {params.remote_image} container runs `python app.py` with 5000/tcp published (-P): "
                f"{[(c.get('Command'), c.get('Ports')) for c in webapps]}")


def _api_created(docker01, params):
    """(created never started, destroyed) container IDs of image centos in dockerd's event log."""
    filters = json.dumps({"type": ["container"]})
    q = urllib.parse.urlencode({"since": "1", "until": str(int(time.time()) + 1), "filters": filters})
    code, body = _api(docker01, params, f"events?{q}")
    assert code == 200, f"GET /events on {docker01.name}: {code} {str(body)[:200]}"
    if isinstance(body, dict):
        events = [body]
    elif isinstance(body, list):
        events = body
    else:
        events = [json.loads(ln) for ln in str(body).splitlines() if ln.strip()]
    created, started, destroyed = [], set(), set()
    for e in events:
        cid, action = e.get("id") or (e.get("Actor") or {}).get("ID"), e.get("Action") or e.get("status")
        image = ((e.get("Actor") or {}).get("Attributes") or {}).get("image") or e.get("from")
        if action == "create" and image in (params.create_image, f"{params.create_image}:latest"):
            created.append(cid)
        elif action == "start":
            started.add(cid)
        elif action == "destroy":
            destroyed.add(cid)
    return [c for c in created if c not in started], destroyed


@pytest.mark.points(2)
@pytest.mark.hint(zh="curl -X POST -H \"Content-Type:application/json\" http://127.0.0.1:2375/containers/create -d '{\"image\":\"centos\"}'（镜像必须本地存在）",
                  en="curl -X POST -H \"Content-Type:application/json\" http://127.0.0.1:2375/containers/create -d '{\"image\":\"centos\"}' (the image must be local)")
def test_dk34_api_create(docker01, params):
    """dockerd's event log shows a centos container created and never started: POST /containers/create.

    dockerd keeps its events in memory (the last 256, since it started): a daemon restarted after
    the exercise has forgotten it."""
    created, _ = _api_created(docker01, params)
    assert created, (f"dockerd's events on {docker01.name} show no {params.create_image} container created without being "
                     "started (POST /containers/create) since dockerd started")


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 curl -X DELETE http://127.0.0.1:2375/containers/<容器ID>?v=1 删除用 API 创建的容器",
                  en="Remove the container created through the API: curl -X DELETE http://127.0.0.1:2375/containers/<ID>?v=1")
def test_dk34_api_delete(docker01, params):
    """The container(s) created through the API are gone again (destroyed: DELETE /containers/<id>?v=1)."""
    created, destroyed = _api_created(docker01, params)
    assert created, f"no {params.create_image} container was created through the API on {docker01.name}, nothing to delete"
    left = [c[:12] for c in created if c not in destroyed or _api(docker01, params, f"containers/{c}/json")[0] == 200]
    assert not left, f"the container(s) created through the API are still there on {docker01.name}: {left} (DELETE /containers/<id>?v=1)"
