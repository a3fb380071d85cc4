"""Checks of the Remote API family (catalog DK34).

The API is exercised as the notes do: with curl on docker01 against 127.0.0.1:2375, from the
grader against docker01's address, and with `docker -H` on client01. Only
test_dk34_create_and_delete changes anything, and it removes the container it creates."""

import json
import re

import pytest

from harness.probes import http_get


def _api(docker01, params, path):
    """GET http://127.0.0.1:2375/<path> on docker01 (as the notes' curl does): parsed JSON."""
    res = docker01.run("curl -s --max-time 10 -w '\\n%%{http_code}' http://127.0.0.1:%s/%s", str(params.port), path)
    body, _, code = res.stdout.rpartition("\n")
    assert res.rc == 0 and code.strip() == "200", f"GET 127.0.0.1:{params.port}/{path} on docker01: {code.strip() or res.rc} {body[:200]!r}"
    return json.loads(body)


def _call(docker01, params, method, path, data=None):
    """(status, body) of an API call made with curl on docker01."""
    if data is None:
        res = docker01.run("curl -s --max-time 10 -X %s -w '\\n%%{http_code}' http://127.0.0.1:%s/%s", method,
                           str(params.port), path)
    else:
        res = docker01.run("curl -s --max-time 10 -X %s -H 'Content-Type: application/json' -d %s "
                           "-w '\\n%%{http_code}' http://127.0.0.1:%s/%s", method, json.dumps(data), str(params.port), path)
    body, _, code = res.stdout.rpartition("\n")
    assert code.strip().isdigit(), f"{method} /{path}: no HTTP answer on 127.0.0.1:{params.port} ({res.stderr.strip()[:200]})"
    return int(code), body


@pytest.mark.points(1)
@pytest.mark.hint(zh="dockerd 启动参数加上 -H tcp://0.0.0.0:2375（docker.service 的 ExecStart），重启后 ss -ltnp 能看到 dockerd 监听 2375",
                  en="Add -H tcp://0.0.0.0:2375 to dockerd's arguments (docker.service's ExecStart); after a restart ss -ltnp shows dockerd on 2375")
def test_dk34_listener(docker01, params):
    """dockerd runs with -H tcp://0.0.0.0:2375 and listens on port 2375 of every address."""
    args = docker01.run("ps -o args= -C dockerd").stdout
    assert re.search(rf"(-H|--host)[= ]tcp://(0\.0\.0\.0)?:{params.port}\b", args), f"dockerd runs as: {args.strip()[:300]}"
    listening = [ln for ln in docker01.run("ss -ltnp").stdout.splitlines() if f":{params.port} " in ln]
    assert any(re.search(rf"(0\.0\.0\.0|\*|\[::\]):{params.port} ", ln) and "dockerd" in ln for ln in listening), \
        f"no dockerd listening on all addresses, port {params.port}: {listening}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="从其他机器访问 http://<docker01的IP>:2375/_ping 返回 OK，/version 里有 ApiVersion",
                  en="From another machine, http://<docker01's IP>:2375/_ping answers OK and /version has ApiVersion")
def test_dk34_ping_from_outside(docker01, params):
    """GET /_ping and /version on docker01's address (from the grader): OK and an ApiVersion."""
    ping = http_get(f"http://{docker01.address}:{params.port}/_ping")
    assert ping.status == 200 and ping.body.strip() == "OK", str(ping)
    version = http_get(f"http://{docker01.address}:{params.port}/version")
    assert version.status == 200 and json.loads(version.body).get("ApiVersion"), str(version)


@pytest.mark.points(2)
@pytest.mark.hint(zh="在另一台机器上 docker -H <docker01的IP>:2375 info/images/ps 操作 docker01 的 docker",
                  en="On another machine, docker -H <docker01's IP>:2375 info/images/ps drives docker01's engine")
def test_dk34_remote_cli(client01, docker01, params):
    """On client01, docker -H tcp://docker01:2375 info names docker01."""
    res = client01.run("docker -H tcp://%s:%s info --format '{{.Name}}' 2>&1", docker01.address, str(params.port))
    assert res.rc == 0 and res.stdout.strip() == "docker01", f"exit {res.rc}: {res.stdout.strip()[-300:]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="在客户端执行 docker -H <docker01的IP>:2375 run -d -P training/webapp python app.py，容器运行在 docker01 上",
                  en="On the client run docker -H <docker01's IP>:2375 run -d -P training/webapp python app.py; the container runs on docker01")
def test_dk34_remote_container(docker01, params):
    """GET /containers/json lists a running training/webapp with 5000/tcp published on a host port."""
    containers = _api(docker01, params, "containers/json")
    webapps = [c for c in containers if c["Image"] in (params.remote_image, f"{params.remote_image}:latest")]
    assert webapps, f"no running {params.remote_image} container: {[c['Image'] for c in containers]}"
    assert any(p.get("PrivatePort") == 5000 and p.get("PublicPort") for c in webapps for p in c["Ports"]), \
        f"5000/tcp is not published: {[c['Ports'] for c in webapps]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="curl http://127.0.0.1:2375/images/json 返回的镜像和 docker -H 127.0.0.1:2375 images 一致",
                  en="curl http://127.0.0.1:2375/images/json returns the same images as docker -H 127.0.0.1:2375 images")
def test_dk34_images_json(docker01, params):
    """GET /images/json lists the same tags as `docker -H 127.0.0.1:2375 images` on docker01."""
    api = {t for img in _api(docker01, params, "images/json") for t in (img.get("RepoTags") or []) if t != "<none>:<none>"}
    cli = docker01.run("docker -H 127.0.0.1:%s images --format '{{.Repository}}:{{.Tag}}' 2>&1", str(params.port))
    tags = {t for t in cli.stdout.split() if "<none>" not in t}
    assert api and api == tags, f"API {sorted(api)[:5]}..., CLI {sorted(tags)[:5]}..."


@pytest.mark.points(1)
@pytest.mark.hint(zh="curl http://127.0.0.1:2375/containers/json 只返回运行中的容器，数量等于 docker ps -q 的行数",
                  en="curl http://127.0.0.1:2375/containers/json returns the running containers, as many as docker ps -q lines")
def test_dk34_containers_json(docker01, params):
    """GET /containers/json lists exactly the containers of `docker -H 127.0.0.1:2375 ps -q` (the running ones)."""
    api = {c["Id"][:12] for c in _api(docker01, params, "containers/json")}
    ps = docker01.run("docker -H 127.0.0.1:%s ps -q 2>&1", str(params.port))
    assert ps.rc == 0 and api == set(ps.stdout.split()), f"API lists {sorted(api)}, docker ps -q {ps.stdout.split()}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="POST /containers/create 返回 201 和容器 Id（状态 created），DELETE /containers/<Id>?v=1 返回 204",
                  en="POST /containers/create answers 201 with the container's Id (state created); DELETE /containers/<Id>?v=1 answers 204")
def test_dk34_create_and_delete(docker01, params):
    """POST /containers/create {"image":"centos"} -> 201 + Id, state created; DELETE ?v=1 -> 204, then GET -> 404 (it removes what it creates)."""
    code, body = _call(docker01, params, "POST", "containers/create", {"image": params.create_image})
    assert code == 201, f"create: {code} {body[:200]}"
    cid = json.loads(body)["Id"]
    try:
        assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
        assert _api(docker01, params, f"containers/{cid}/json")["State"]["Status"] == "created"
    finally:
        code, body = _call(docker01, params, "DELETE", f"containers/{cid}?v=1")
    assert code == 204, f"delete: {code} {body[:200]}"
    assert _call(docker01, params, "GET", f"containers/{cid}/json")[0] == 404


@pytest.mark.points(1)
@pytest.mark.hint(zh="大坑：/containers/create 不会自动拉取镜像，本地没有镜像时返回 404 No such image",
                  en="The trap: /containers/create never pulls; with the image missing locally it answers 404 No such image")
def test_dk34_create_needs_local_image(docker01, params):
    """POST /containers/create with an image that is not local -> 404 `No such image` (nothing is pulled)."""
    code, body = _call(docker01, params, "POST", "containers/create", {"image": "labharness-no-such-image:never"})
    assert code == 404 and "No such image" in body, f"{code} {body[:200]}"
