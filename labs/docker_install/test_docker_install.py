"""Checks of the installation family (catalog DK02-DK05, A01, B01, C01, C03, C04). Read-only on
docker01; the quick-start page is fetched from the grader's side."""

import json
import re

import pytest

from harness.probes import http_get
from labs.docker_install.solution import insecure_registry, mirrors

SYSCTL = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.default.rp_filter": "0", "net.ipv4.conf.all.rp_filter": "0"}


def _info(docker01) -> dict:
    res = docker01.run("docker info --format '{{json .}}'")
    assert res.rc == 0, f"docker info failed: the daemon does not answer ({res.stderr.strip()[:300]})"
    return json.loads(res.stdout)


def _daemon_json(docker01, params) -> dict:
    res = docker01.run("cat %s", params.daemon_json)
    assert res.rc == 0, f"{params.daemon_json} does not exist"
    try:
        data = json.loads(res.stdout)
    except ValueError as exc:
        raise AssertionError(f"{params.daemon_json} is not valid JSON: {exc}") from None
    assert isinstance(data, dict), f"{params.daemon_json} is not a JSON object"
    return data


# --------------------------------------------------------------------------- B01, DK02


@pytest.mark.points(1)
@pytest.mark.hint(zh="Docker 需要 64 位 CPU、3.10 以上内核，并且内核要支持 namespaces 和 cgroups",
                  en="Docker needs a 64-bit CPU, a kernel >= 3.10, namespaces and cgroups")
def test_b01_host_requirements(docker01):
    """64-bit machine, kernel >= 3.10, the six namespaces and the memory and cpu cgroup controllers."""
    arch = docker01.run("uname -m").stdout.strip()
    assert arch in ("x86_64", "aarch64"), f"uname -m is {arch!r}"
    release = docker01.run("uname -r").stdout.strip()
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", release).groups())
    assert (major, minor) >= (3, 10), f"kernel {release} is older than 3.10"
    ns = docker01.run("ls /proc/self/ns").stdout.split()
    assert {"pid", "net", "ipc", "mnt", "uts", "user"} <= set(ns), f"/proc/self/ns has {ns}"
    cgroups = docker01.run("cat /proc/cgroups").stdout
    enabled = {line.split()[0] for line in cgroups.splitlines()[1:] if line.split() and line.split()[-1] == "1"}
    fs = docker01.run("stat -fc %T /sys/fs/cgroup").stdout.strip()
    assert fs == "cgroup2fs" or {"memory", "cpu"} <= enabled, f"cgroup fs {fs}, enabled controllers {sorted(enabled)}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="安装并启动 docker 服务（systemctl enable --now docker），docker version 要能显示 Server 部分",
                  en="Install and start the docker service (systemctl enable --now docker); docker version must show the Server part")
def test_dk02_daemon_up(docker01):
    """dockerd answers: docker version shows a server version and the API version."""
    res = docker01.run("docker version --format '{{json .Server}}'")
    assert res.rc == 0 and res.stdout.strip() not in ("", "null"), f"no server: {res.stderr.strip()[:300]}"
    server = json.loads(res.stdout)
    assert server.get("Version") and server.get("ApiVersion"), f"server: {server}"


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


# --------------------------------------------------------------------------- DK03, DK24 (daemon.json)


@pytest.mark.points(1)
@pytest.mark.hint(zh="/etc/docker/daemon.json 必须是合法的 JSON（注意不要有多余的逗号和中文引号），可用 python3 -m json.tool 检查",
                  en="/etc/docker/daemon.json must be valid JSON (no trailing comma, no full-width quotes); check it with python3 -m json.tool")
def test_dk03_daemon_json_valid(docker01, params):
    """/etc/docker/daemon.json exists and is a valid JSON object."""
    _daemon_json(docker01, params)


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 daemon.json 的 registry-mirrors 里配置镜像加速器，并重启 docker 使其生效（docker info 里能看到 Registry Mirrors）",
                  en="Put the registry mirror in daemon.json's registry-mirrors and restart docker (docker info lists it under Registry Mirrors)")
def test_dk03_registry_mirrors(docker01, params):
    """daemon.json's registry-mirrors has the course's mirror, and the running daemon uses it."""
    configured = _daemon_json(docker01, params).get("registry-mirrors") or []
    loaded = _info(docker01)["RegistryConfig"].get("Mirrors") or []
    for m in mirrors(params):
        assert m in configured or m.rstrip("/") + "/" in configured, f"registry-mirrors in daemon.json is {configured}, no {m}"
        assert m.rstrip("/") + "/" in loaded, f"the daemon's mirrors are {loaded}: restart docker after editing daemon.json"


@pytest.mark.points(2)
@pytest.mark.hint(zh="daemon.json 要同时保留 registry-mirrors 并加入 \"insecure-registries\": [\"<docker01的IP>:5000\"]（合并键，不要整个覆盖文件），然后重启 docker",
                  en="daemon.json must keep registry-mirrors and add \"insecure-registries\": [\"<docker01's IP>:5000\"] (merge keys, do not overwrite the file), then restart docker")
def test_dk24_insecure_registry(docker01, params):
    """daemon.json lists docker01's registry (address:5000) as insecure, and the daemon treats it as insecure."""
    registry = insecure_registry(params, docker01)
    configured = _daemon_json(docker01, params).get("insecure-registries") or []
    assert registry in configured, f"insecure-registries in daemon.json is {configured}, no {registry}"
    index = _info(docker01)["RegistryConfig"].get("IndexConfigs") or {}
    assert registry in index and index[registry].get("Secure") is False, \
        f"the daemon does not treat {registry} as insecure (restart docker): {sorted(index)}"


# --------------------------------------------------------------------------- DK04, C03, C04


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker info 中 Docker Root Dir 应为 /var/lib/docker，Storage Driver 应为 overlay2",
                  en="docker info must show Docker Root Dir /var/lib/docker and Storage Driver overlay2")
def test_dk04_storage_driver(docker01, params):
    """Data root /var/lib/docker, storage driver overlay2, one JSON file per image under imagedb."""
    info = _info(docker01)
    assert info["DockerRootDir"] == params.data_root, f"Docker Root Dir is {info['DockerRootDir']}"
    assert info["Driver"] in (params.storage_driver, "overlayfs"), f"Storage Driver is {info['Driver']}"
    if info["Driver"] == "overlay2":
        imagedb = f"{params.data_root}/image/overlay2/imagedb/content/sha256"
        listing = docker01.run("ls %s", imagedb).stdout.split()
        assert listing, f"{imagedb} is empty"


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 docker info 查看：日志驱动 json-file、运行时 runc、cgroup 驱动、不安全仓库默认含 127.0.0.0/8",
                  en="docker info shows logging driver json-file, runtime runc, the cgroup driver, and 127.0.0.0/8 among insecure registries")
def test_c04_docker_info_fields(docker01):
    """docker info: json-file logging, runc, Linux, swarm inactive, cgroup driver and version, 127.0.0.0/8 insecure."""
    info = _info(docker01)
    seen = {k: info.get(k) for k in ("LoggingDriver", "DefaultRuntime", "OSType", "CgroupDriver", "CgroupVersion")}
    assert seen["LoggingDriver"] == "json-file" and seen["DefaultRuntime"] == "runc" and seen["OSType"] == "linux", seen
    assert seen["CgroupDriver"] in ("cgroupfs", "systemd") and str(seen["CgroupVersion"]) in ("1", "2"), seen
    assert info["Swarm"]["LocalNodeState"] == "inactive", f"swarm is {info['Swarm']['LocalNodeState']}"
    assert "127.0.0.0/8" in (info["RegistryConfig"].get("InsecureRegistryCIDRs") or []), info["RegistryConfig"]


@pytest.mark.points(1)
@pytest.mark.hint(zh="内核要打开 cgroup 支持：CONFIG_CGROUPS、CONFIG_MEMCG、CONFIG_CGROUP_PIDS 等（/boot/config-$(uname -r) 或 /proc/config.gz）",
                  en="The kernel needs cgroup support: CONFIG_CGROUPS, CONFIG_MEMCG, CONFIG_CGROUP_PIDS, ... (/boot/config-$(uname -r) or /proc/config.gz)")
def test_c03_cgroup_kernel_config(docker01):
    """The kernel config enables cgroups (CGROUPS, MEMCG, PIDS, DEVICE, SCHED, BLK, FREEZER) and /sys/fs/cgroup is mounted."""
    config = docker01.run("cat /boot/config-$(uname -r) 2>/dev/null || zcat /proc/config.gz 2>/dev/null")
    if not config.stdout.strip():
        pytest.skip("no kernel config on this host (/boot/config-* and /proc/config.gz are both missing)")
    for opt in ("CGROUPS", "MEMCG", "CGROUP_PIDS", "CGROUP_DEVICE", "CGROUP_SCHED", "BLK_CGROUP", "CGROUP_FREEZER"):
        assert re.search(rf"^CONFIG_{opt}=y$", config.stdout, re.M), f"CONFIG_{opt}=y is not in the kernel config"
    fs = docker01.run("stat -fc %T /sys/fs/cgroup").stdout.strip()
    assert fs in ("tmpfs", "cgroup2fs"), f"/sys/fs/cgroup is {fs!r}"


# --------------------------------------------------------------------------- A01, DK05, C01


@pytest.mark.points(2)
@pytest.mark.hint(zh="启动 docker 后运行 docker run hello-world，应输出 Hello from Docker!",
                  en="With docker started, run docker run hello-world: it prints Hello from Docker!")
def test_a01_hello_world(docker01):
    """A hello-world container ran, exited 0 and printed `Hello from Docker!`."""
    ids = docker01.run("docker ps -aq --filter ancestor=hello-world").stdout.split()
    assert ids, "no container of hello-world exists: run docker run hello-world"
    for cid in ids:
        state = json.loads(docker01.run("docker inspect -f '{{json .State}}' %s", cid).stdout)
        logs = docker01.run("docker logs %s 2>&1", cid)
        if state["Status"] == "exited" and state["ExitCode"] == 0 and "Hello from Docker!" in logs.stdout:
            return
    raise AssertionError(f"no hello-world container exited 0 with `Hello from Docker!` (last: {state})")


def _published_nginx(docker01, port):
    ids = docker01.run("docker ps -q --filter ancestor=nginx --filter status=running").stdout.split()
    for cid in ids:
        c = json.loads(docker01.run("docker inspect %s", cid).stdout)[0]
        for b in (c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []:
            if b.get("HostPort") == str(port) and b.get("HostIp", "") in ("", "0.0.0.0"):
                return c
    return None


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -p 80:80 nginx：宿主机 80 端口映射到容器 80 端口（docker ps 显示 0.0.0.0:80->80/tcp）",
                  en="docker run -d -p 80:80 nginx maps host port 80 to the container's port 80 (docker ps shows 0.0.0.0:80->80/tcp)")
def test_dk05_nginx_published(docker01, params):
    """A running nginx container publishes 0.0.0.0:80->80/tcp."""
    assert _published_nginx(docker01, params.nginx_port), \
        f"no running container of nginx publishes port 80/tcp on host port {params.nginx_port}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="进入 nginx 容器执行 echo 'docker nginx test' > /usr/share/nginx/html/index.html，再从别的机器 curl 宿主机 IP",
                  en="In the nginx container run echo 'docker nginx test' > /usr/share/nginx/html/index.html, then curl the host's IP from another machine")
def test_c01_page_served(docker01, params):
    """http://docker01/ (fetched from the grader) answers `docker nginx test`."""
    res = http_get(f"http://{docker01.address}:{params.nginx_port}/")
    assert res.status == 200, f"no page: {res}"
    assert res.body.strip() == params.page, f"the page is {res.body.strip()[:200]!r}, expected {params.page!r}"
