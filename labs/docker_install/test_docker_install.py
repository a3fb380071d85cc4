"""Checks of the installation family (catalog DK02-DK05, A01, C01, C04). Read-only on docker01; the
quick-start page is fetched from the grader's side. Containers are found by image and published
port (the notes run them without --name)."""

import json
import re

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import Want, comma_list, daemon_json, docker, docker_info, find_container, find_containers

SYSCTL = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.default.rp_filter": "0", "net.ipv4.conf.all.rp_filter": "0"}


# --------------------------------------------------------------------------- DK02


@pytest.mark.points(2)
@pytest.mark.hint(zh="安装并启动 docker 服务（systemctl enable --now docker），docker version 要能显示 Server 部分",
                  en="Install and start the docker service (systemctl enable --now docker); docker version must show the Server part")
def test_dk02_daemon_up(docker01):
    """dockerd answers: docker version shows a server version and the API version."""
    res = docker01.run("docker version --format '{{json .Server}}'")
    assert res.rc == 0 and res.stdout.strip() not in ("", "null"), \
        f"docker version shows no server: dockerd is not running ({res.stderr.strip()[:300]})"
    try:
        server = json.loads(res.stdout)
    except ValueError:
        raise AssertionError(f"docker version printed {res.stdout.strip()[:200]!r}") from None
    assert isinstance(server, dict) and server.get("Version") and server.get("ApiVersion"), f"docker version's server part: {server}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="内核参数要生效：net.ipv4.ip_forward = 1，两个 rp_filter = 0（写入 /etc/sysctl.conf 后执行 sysctl -p）",
                  en="The kernel must use net.ipv4.ip_forward = 1 and both rp_filter = 0 (write /etc/sysctl.conf, then run sysctl -p)")
def test_dk02_sysctl_runtime(docker01):
    """The running kernel has ip_forward = 1 and rp_filter = 0 (default and all)."""
    for key, want in SYSCTL.items():
        got = docker01.run("sysctl -n %s", key).stdout.strip()
        assert got == want, f"{key} = {got!r}, expected {want}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="参数要写进 /etc/sysctl.conf（或 /etc/sysctl.d/ 下的文件），重启后才会保留；dockerd 自己也会打开 ip_forward，所以只看运行值不够",
                  en="Write the parameters to /etc/sysctl.conf (or a file in /etc/sysctl.d/) so they survive a reboot; dockerd turns ip_forward on by itself")
def test_dk02_sysctl_persisted(docker01, params):
    """/etc/sysctl.conf (or /etc/sysctl.d/*.conf) sets ip_forward = 1 and both rp_filter = 0."""
    text = docker01.run("cat %s /etc/sysctl.d/*.conf 2>/dev/null", params.sysctl_file).stdout
    for key, want in SYSCTL.items():
        pattern = rf"^\s*{re.escape(key)}\s*=\s*{want}\s*$"
        assert re.search(pattern, text, re.M), f"no line `{key} = {want}` in {params.sysctl_file} or /etc/sysctl.d/"


# --------------------------------------------------------------------------- DK03 (daemon.json)


@pytest.mark.points(1)
@pytest.mark.hint(zh="/etc/docker/daemon.json 必须是合法的 JSON（注意不要有多余的逗号和中文引号），可用 python3 -m json.tool 检查",
                  en="/etc/docker/daemon.json must be valid JSON (no trailing comma, no full-width quotes); check it with python3 -m json.tool")
def test_dk03_daemon_json_valid(docker01, params):
    """/etc/docker/daemon.json exists and is a valid JSON object."""
    daemon_json(docker01, params.daemon_json)


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 daemon.json 的 registry-mirrors 里配置镜像加速器，并重启 docker 使其生效（docker info 里能看到 Registry Mirrors）",
                  en="Put the registry mirror in daemon.json's registry-mirrors and restart docker (docker info lists it under Registry Mirrors)")
def test_dk03_registry_mirrors(docker01, params):
    """daemon.json's registry-mirrors has the course's mirror, and the running daemon uses it."""
    configured = daemon_json(docker01, params.daemon_json).get("registry-mirrors") or []
    assert isinstance(configured, list), f"registry-mirrors in {params.daemon_json} is not a list: {configured!r}"
    loaded = (docker_info(docker01).get("RegistryConfig") or {}).get("Mirrors") or []
    for m in comma_list(params.registry_mirrors):
        assert m in configured or m.rstrip("/") + "/" in configured, \
            f"registry-mirrors in {params.daemon_json} is {configured}, no {m}"
        assert m.rstrip("/") + "/" in loaded, \
            f"the running daemon's mirrors are {loaded}, no {m}: restart docker after editing daemon.json"


# --------------------------------------------------------------------------- DK04, C04


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker info 中 Docker Root Dir 应为 /var/lib/docker，Storage Driver 为 overlay2，日志驱动 json-file，运行时 runc",
                  en="docker info must show Docker Root Dir /var/lib/docker, Storage Driver overlay2, logging driver json-file and runtime runc")
def test_dk04_docker_info(docker01, params):
    """docker info: data root /var/lib/docker, overlay2 (one JSON file per image under imagedb), json-file, runc, Linux."""
    info = docker_info(docker01)
    assert info.get("DockerRootDir") == params.data_root, f"Docker Root Dir is {info.get('DockerRootDir')}, expected {params.data_root}"
    assert info.get("Driver") in (params.storage_driver, "overlayfs"), f"Storage Driver is {info.get('Driver')}, expected {params.storage_driver}"
    seen = {k: info.get(k) for k in ("LoggingDriver", "DefaultRuntime", "OSType")}
    assert seen == {"LoggingDriver": "json-file", "DefaultRuntime": "runc", "OSType": "linux"}, \
        f"docker info shows {seen}, expected json-file, runc, linux"
    if info.get("Driver") == "overlay2":
        imagedb = f"{params.data_root}/image/overlay2/imagedb/content/sha256"
        assert docker01.run("ls %s", imagedb).stdout.split(), f"{imagedb} is empty"


# --------------------------------------------------------------------------- A01, DK05, C01


@pytest.mark.points(2)
@pytest.mark.hint(zh="启动 docker 后运行 docker run hello-world，应输出 Hello from Docker!",
                  en="With docker started, run docker run hello-world: it prints Hello from Docker!")
def test_a01_hello_world(docker01):
    """A hello-world container ran, exited 0 and printed `Hello from Docker!`."""
    ran = find_containers(docker01, Want(image="hello-world", running=False))
    assert ran, "no container of image hello-world exists on docker01: run docker run hello-world"
    states = []
    for c in ran:
        logs = docker(docker01, "logs %s 2>&1", c["Id"])
        if c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 0 and "Hello from Docker!" in logs.stdout:
            return
        states.append(f"{c['Name'][1:]} {c['State']['Status']} (exit {c['State']['ExitCode']})")
    raise AssertionError(f"no hello-world container exited 0 printing `Hello from Docker!`: {', '.join(states)}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -p 80:80 nginx：宿主机 80 端口映射到容器 80 端口（docker ps 显示 0.0.0.0:80->80/tcp）",
                  en="docker run -d -p 80:80 nginx maps host port 80 to the container's port 80 (docker ps shows 0.0.0.0:80->80/tcp)")
def test_dk05_nginx_published(docker01, params):
    """A running container of image nginx publishes 80/tcp on host port 80."""
    _quickstart(docker01, params)


@pytest.mark.points(2)
@pytest.mark.hint(zh="进入 nginx 容器执行 echo 'docker nginx test' > /usr/share/nginx/html/index.html，再从别的机器 curl 宿主机 IP",
                  en="In the nginx container run echo 'docker nginx test' > /usr/share/nginx/html/index.html, then curl the host's IP from another machine")
def test_c01_page_served(docker01, params):
    """http://docker01/ (fetched from the grader) answers `docker nginx test`."""
    res = http_get(f"http://{docker01.address}:{params.nginx_port}/")
    assert res.status == 200, f"http://{docker01.address}:{params.nginx_port}/ gives no page: {res}"
    assert res.body.strip() == params.page, f"the page is {res.body.strip()[:200]!r}, expected {params.page!r}"


def _quickstart(docker01, params) -> dict:
    return find_container(docker01, Want(image="nginx", publishes="80/tcp", host_port=params.nginx_port))
