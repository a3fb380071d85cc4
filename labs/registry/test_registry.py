"""Checks of the private registry family (catalog DK24, B04, C06; DK25's variant shares them).

Read-only: `docker inspect`/`docker info` on docker01 and the registry's HTTP API fetched from the grader.
The container is the one the notes name (`--name cc_registry`)."""

import json

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import comma_list, container as _container, daemon_json, docker_info, image as _image


def registry_addr(params, docker01) -> str:
    """The registry's address as the student types it: docker01's own address and port 5000 (the notes' 10.0.1.70:5000)."""
    return params.registry or f"{docker01.address}:{params.port}"


def _json_get(url):
    res = http_get(url)
    assert res.status == 200, f"{res}"
    return json.loads(res.body)


def _insecure_loaded(host, registry):
    index = docker_info(host)["RegistryConfig"].get("IndexConfigs") or {}
    assert registry in index and index[registry].get("Secure") is False, \
        f"dockerd on {host.name} does not treat {registry} as insecure (restart docker): {sorted(index)}"


def _manifest_digest(docker01, registry, repo, tag):
    """The registry's digest for repo:tag (schema 2), asked from docker01 with curl."""
    out = docker01.run("curl -sI -H %s http://%s/v2/%s/manifests/%s",
                       "Accept: application/vnd.docker.distribution.manifest.v2+json", registry, repo, tag).stdout
    for line in out.splitlines():
        if line.lower().startswith("docker-content-digest:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"the registry has no manifest for {repo}:{tag}")


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d --name cc_registry --restart=always -p 5000:5000 -v /opt/data/registry:/var/lib/registry registry",
                  en="docker run -d --name cc_registry --restart=always -p 5000:5000 -v /opt/data/registry:/var/lib/registry registry")
def test_dk24_registry_container(docker01, params):
    """cc_registry runs with restart policy always, 0.0.0.0:5000->5000 and /opt/data/registry bound on /var/lib/registry."""
    c = _container(docker01, params.container)
    assert c["State"]["Running"], f"{params.container} is {c['State']['Status']}"
    assert c["HostConfig"]["RestartPolicy"]["Name"] == "always", f"restart policy {c['HostConfig']['RestartPolicy']}"
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("5000/tcp") or []
    assert any(b.get("HostPort") == str(params.port) for b in bindings), f"5000/tcp bindings: {bindings}"
    mounts = [(m["Type"], m.get("Source"), m["Destination"]) for m in c["Mounts"]]
    assert ("bind", params.host_dir, "/var/lib/registry") in mounts, \
        f"no bind of {params.host_dir} on /var/lib/registry (the registry's storage): {mounts}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="私有仓库的 API：curl http://<docker01的IP>:5000/v2/ 应返回 200 和 {}",
                  en="The registry API: curl http://<docker01's IP>:5000/v2/ answers 200 with {}")
def test_dk24_registry_api(docker01, params):
    """GET http://docker01:5000/v2/ (from the grader) answers 200."""
    res = http_get(f"http://{docker01.address}:{params.port}/v2/")
    assert res.status == 200, str(res)


@pytest.mark.points(2)
@pytest.mark.hint(zh="daemon.json 里在保留 registry-mirrors 的同时加入 \"insecure-registries\":[\"<docker01的IP>:5000\"]，重启 docker；否则 push 报 server gave HTTP response to HTTPS client",
                  en="Keep registry-mirrors in daemon.json and add \"insecure-registries\":[\"<docker01's IP>:5000\"], then restart docker; otherwise push fails with server gave HTTP response to HTTPS client")
def test_dk24_insecure_registry(docker01, params):
    """docker01's daemon.json lists the registry as insecure and keeps registry-mirrors; dockerd treats it as insecure."""
    registry = registry_addr(params, docker01)
    cfg = daemon_json(docker01, params.daemon_json)
    assert registry in (cfg.get("insecure-registries") or []), \
        f"{params.daemon_json} on {docker01.name}: insecure-registries is {cfg.get('insecure-registries')}, without {registry}"
    for m in comma_list(params.mirrors):
        assert m in (cfg.get("registry-mirrors") or []), f"registry-mirrors lost {m}: {cfg.get('registry-mirrors')}"
    _insecure_loaded(docker01, registry)


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker tag hello-world <IP>:5000/cc-hello-world:latest 再 docker push；curl <IP>:5000/v2/_catalog 能看到 cc-hello-world",
                  en="docker tag hello-world <IP>:5000/cc-hello-world:latest, then docker push; curl <IP>:5000/v2/_catalog lists cc-hello-world")
def test_dk24_pushed(docker01, params):
    """The catalog API lists cc-hello-world and its tags list is [latest] (fetched from the grader)."""
    base = f"http://{docker01.address}:{params.port}/v2"
    repos = _json_get(f"{base}/_catalog").get("repositories") or []
    assert params.repo in repos, f"_catalog lists {repos}"
    tags = _json_get(f"{base}/{params.repo}/tags/list")
    assert tags == {"name": params.repo, "tags": ["latest"]}, f"tags/list: {tags}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="仓库数据要保存在宿主机 /opt/data/registry（挂载到容器的 /var/lib/registry，不是旧版的 /tmp/registry）",
                  en="The registry's data must be on the host in /opt/data/registry (bound on /var/lib/registry, not the v1 path /tmp/registry)")
def test_dk24_persisted_on_host(docker01, params):
    """/opt/data/registry/docker/registry/v2/repositories/cc-hello-world exists on docker01."""
    path = f"{params.host_dir}/docker/registry/v2/repositories/{params.repo}"
    assert docker01.run("test -d %s", path).rc == 0, f"{path} does not exist on docker01"


@pytest.mark.points(2)
@pytest.mark.hint(zh="删除本地标签后 docker pull <IP>:5000/cc-hello-world 能从私有仓库拉回镜像",
                  en="After removing the local tag, docker pull <IP>:5000/cc-hello-world brings the image back from the registry")
def test_dk24_pulled_back(docker01, params):
    """<registry>/cc-hello-world:latest on docker01 carries the registry's digest for cc-hello-world:latest."""
    registry = registry_addr(params, docker01)
    img = _image(docker01, f"{registry}/{params.repo}:latest")
    digest = _manifest_digest(docker01, registry, params.repo, "latest")
    assert f"{registry}/{params.repo}@{digest}" in (img.get("RepoDigests") or []), \
        f"RepoDigests {img.get('RepoDigests')} lack the registry's {digest}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="localhost:5000 默认就是不安全仓库，可以直接 push；同一个镜像的三个名字 ID 相同",
                  en="localhost:5000 is insecure by default, so pushing there needs no configuration; the three names share one image ID")
def test_c06_localhost_push(docker01, params):
    """nginx:alpine was pushed as localhost:5000/nginx:alpine (tags list) and tagged for the registry's address: one image ID."""
    name, tag = params.c06_image.split(":")
    tags = _json_get(f"http://{docker01.address}:{params.port}/v2/{name}/tags/list").get("tags") or []
    assert tag in tags, f"{name} tags in the registry: {tags}"
    registry = registry_addr(params, docker01)
    ids = {ref: _image(docker01, ref)["Id"] for ref in
           (params.c06_image, f"localhost:{params.port}/{params.c06_image}", f"{registry}/{params.c06_image}")}
    assert len(set(ids.values())) == 1, f"image IDs differ: {ids}"
