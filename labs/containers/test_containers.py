"""Checks of the containers family (catalog DK05, DK10, DK11, DK20, DK22, A09, B03, B05, B09, C08, C12).

Read-only on docker01: `docker inspect/logs/top/stats/exec` of the student's containers and
`docker run --rm --pull never` probes of committed images; pages are fetched from the grader."""

import ipaddress
import json
import re

import pytest

from harness.probes import http_get
from harness.errors import WaitTimeout
from harness.wait import wait_until
from labs.common.docker import container as _container, image as _image


def _containers_of(docker01, image):
    ids = docker01.run("docker ps -aq --filter ancestor=%s", image).stdout.split()
    return [json.loads(docker01.run("docker container inspect %s 2>/dev/null", cid).stdout)[0] for cid in ids]


def _bridge_ip(c):
    nets = c["NetworkSettings"]["Networks"] or {}
    return next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), "")


def _logs_with(docker01, cmd, name, text, timeout=10.0):
    """The container's logs once they show ``text`` (the access log is written just after the
    response), or the last logs seen after ``timeout``."""
    seen = {}

    def probe():
        seen["out"] = docker01.run(cmd + " 2>&1", name).stdout
        return text in seen["out"]

    try:
        wait_until(probe, timeout=timeout, what=f"{text!r} in the logs of {name}")
    except WaitTimeout:
        pass
    return seen.get("out", "")


def _bridge_subnet(docker01):
    out = docker01.run("docker network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}'").stdout.strip()
    return ipaddress.ip_network(out)


# --------------------------------------------------------------------------- DK10, DK20: one-shot containers


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run centos:7.2.1511 会执行默认的 /bin/bash，没有终端时立即以 0 退出（docker ps -a 可见 Exited (0)）",
                  en="docker run centos:7.2.1511 runs the default /bin/bash, which exits 0 at once without a terminal (docker ps -a: Exited (0))")
def test_dk10_default_command_exits(docker01, params):
    """A container of centos:7.2.1511 ran its default /bin/bash and exited 0."""
    seen = []
    for c in _containers_of(docker01, params.exit_image):
        seen.append((c["Name"], c["Config"]["Cmd"], c["State"]["Status"], c["State"]["ExitCode"]))
        if c["Config"]["Cmd"] == ["/bin/bash"] and c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 0:
            return
    raise AssertionError(f"no exited-0 container of {params.exit_image} with its default /bin/bash: {seen}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run ubuntu /bin/echo 'Hello world'：容器执行完 echo 就退出，docker logs 可看到 Hello world",
                  en="docker run ubuntu /bin/echo 'Hello world': the container exits after echo; docker logs shows Hello world")
def test_dk20_one_shot_echo(docker01, params):
    """A container of ubuntu ran /bin/echo 'Hello world', exited 0 and logged Hello world."""
    seen = []
    for c in _containers_of(docker01, params.echo_image):
        seen.append((c["Name"], c["Config"]["Cmd"], c["State"]["Status"]))
        if c["Config"]["Cmd"] == ["/bin/echo", "Hello world"] and c["State"]["ExitCode"] == 0 \
                and c["State"]["Status"] == "exited":
            logs = docker01.run("docker logs %s 2>&1", c["Id"]).stdout
            if logs.strip() == "Hello world":
                return
    raise AssertionError(f"no exited-0 ubuntu container that ran /bin/echo 'Hello world': {seen}")


# --------------------------------------------------------------------------- DK05, DK20, DK22: my_nginx02


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --rm --name my_nginx02 -d -p 80:80 nginx：后台运行，停止后自动删除",
                  en="docker run --rm --name my_nginx02 -d -p 80:80 nginx: detached, removed automatically when it stops")
def test_dk20_detached_autoremove(docker01, params):
    """my_nginx02 runs detached from nginx with --rm and 0.0.0.0:80->80/tcp."""
    c = _container(docker01, params.web)
    assert c["State"]["Running"], f"{params.web} is {c['State']['Status']}"
    assert c["Config"]["Image"] in ("nginx", "nginx:latest"), f"{params.web} runs {c['Config']['Image']}"
    assert c["HostConfig"]["AutoRemove"] is True, f"{params.web} was not started with --rm"
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []
    assert any(b.get("HostPort") == str(params.web_port) for b in bindings), f"80/tcp bindings: {bindings}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="从其他机器访问 http://docker01/ 应看到 Welcome to nginx!（容器要运行并映射 80 端口）",
                  en="http://docker01/ from another machine must show Welcome to nginx! (the container runs and maps port 80)")
def test_dk05_page_served(docker01, params):
    """http://docker01:80/ (fetched from the grader) shows nginx's welcome page."""
    res = http_get(f"http://{docker01.address}:{params.web_port}/")
    assert res.status == 200 and "Welcome to nginx!" in res.body, f"{res}: {res.body[:200]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs my_nginx02 查看访问日志；docker logs -t 在每行前加时间戳",
                  en="docker logs my_nginx02 shows the access log; docker logs -t prefixes every line with a timestamp")
def test_dk20_logs(docker01, params):
    """After a request from the grader, docker logs my_nginx02 has `"GET / HTTP/1.1" 200`, and -t adds timestamps."""
    _container(docker01, params.web)
    http_get(f"http://{docker01.address}:{params.web_port}/")
    logs = _logs_with(docker01, "docker logs %s", params.web, '"GET / HTTP/1.1" 200')
    assert '"GET / HTTP/1.1" 200' in logs, f"no access log line in: {logs[-500:]!r}"
    stamped = docker01.run("docker logs -t --tail 5 %s 2>&1", params.web)
    lines = [ln for ln in (stamped.stdout + stamped.stderr).splitlines() if ln.strip()]
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ln) for ln in lines), f"docker logs -t: {lines[:3]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker top 查看容器进程（nginx master 和 worker），docker stats --no-stream 查看资源，docker inspect 查看容器 IP",
                  en="docker top shows the container's processes (nginx master and workers), docker stats --no-stream its resources, docker inspect its IP")
def test_dk22_top_stats_inspect(docker01, params):
    """docker top my_nginx02 shows the nginx master and a worker; stats has one line; its IP is on the bridge subnet."""
    top = docker01.run("docker top %s 2>&1", params.web)
    assert top.rc == 0, f"docker top: {top.stdout.strip()[:200]}"
    assert "nginx: master process" in top.stdout and "nginx: worker process" in top.stdout, top.stdout[-500:]
    stats = docker01.run("docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' %s 2>&1", params.web).stdout.strip()
    assert stats.startswith(params.web + " ") and "/" in stats, f"docker stats printed {stats!r}"
    ip = _bridge_ip(_container(docker01, params.web))
    assert ip and ipaddress.ip_address(ip) in _bridge_subnet(docker01), f"IP {ip!r} is not on the bridge subnet"


# --------------------------------------------------------------------------- DK11: lifecycle


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker create -it 创建（不启动），start 启动，pause/unpause，restart，最后 docker kill：退出码 137",
                  en="docker create -it (not started), start, pause/unpause, restart, then docker kill: exit code 137")
def test_dk11_lifecycle_killed(docker01, params):
    """lc was created with -it, started, and killed: exited with code 137 (SIGKILL)."""
    c = _container(docker01, params.lifecycle)
    assert c["Config"]["Tty"] and c["Config"]["OpenStdin"], "lc was not created with -it"
    assert not c["State"]["StartedAt"].startswith("0001-"), "lc was never started"
    assert (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 137), \
        f"lc is {c['State']['Status']} with exit code {c['State']['ExitCode']}, expected exited 137 (docker kill)"


# --------------------------------------------------------------------------- C08: PID 1


@pytest.mark.points(1)
@pytest.mark.hint(zh="镜像后面的命令会替换 CMD 并成为 1 号进程：echo 1 执行完，容器就退出",
                  en="The command after the image replaces CMD and becomes PID 1: when echo 1 ends, the container exits")
def test_c08_echo_pid1_exits(docker01):
    """test_echo ran `echo 1` as its command, printed 1 and exited 0."""
    c = _container(docker01, "test_echo")
    assert c["Config"]["Cmd"] == ["echo", "1"], f"Cmd is {c['Config']['Cmd']}"
    assert (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 0), c["State"]["Status"]
    assert docker01.run("docker logs test_echo 2>&1").stdout.strip() == "1"


@pytest.mark.points(1)
@pytest.mark.hint(zh="ping 一直运行，所以 test_ping 不会退出；1 号进程结束（例如 Ctrl+C）容器就停止",
                  en="ping keeps running, so test_ping stays up; when PID 1 ends (e.g. Ctrl+C) the container stops")
def test_c08_ping_pid1_keeps_running(docker01):
    """test_ping is running and its PID 1 is ping."""
    c = _container(docker01, "test_ping")
    assert c["State"]["Running"], f"test_ping is {c['State']['Status']} (exit code {c['State']['ExitCode']})"
    cmdline = docker01.run("docker exec test_ping cat /proc/1/cmdline 2>&1").stdout.replace("\0", " ")
    assert cmdline.startswith("ping"), f"PID 1 of test_ping is {cmdline!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --name nginx -d -p 8080:80 nginx:alpine，把容器 80 端口映射到宿主机 8080",
                  en="docker run --name nginx -d -p 8080:80 nginx:alpine maps the container's port 80 to host port 8080")
def test_c08_port_8080(docker01, params):
    """The nginx container publishes 8080->80 and answers on docker01:8080 (from the grader)."""
    c = _container(docker01, params.c12)
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []
    assert any(b.get("HostPort") == str(params.c12_port) for b in bindings), f"80/tcp bindings: {bindings}"
    res = http_get(f"http://{docker01.address}:{params.c12_port}/")
    assert res.status == 200, str(res)


@pytest.mark.points(1)
@pytest.mark.hint(zh="-P 把镜像 EXPOSE 的所有端口随机映射到宿主机端口（在 ip_local_port_range 范围内），用 docker port 查看",
                  en="-P maps every EXPOSEd port to a random host port (within ip_local_port_range); see docker port")
def test_b09_publish_all(docker01, params):
    """b09p was run with -P: 80/tcp got a random host port in ip_local_port_range, and it answers there."""
    c = _container(docker01, params.publish_all)
    assert c["HostConfig"]["PublishAllPorts"], f"{params.publish_all} was not started with -P"
    ports = (c["NetworkSettings"]["Ports"] or {}).get("80/tcp") or []
    assert ports, f"80/tcp of {params.publish_all} is not published"
    port = int(ports[0]["HostPort"])
    low, high = (int(x) for x in docker01.run("cat /proc/sys/net/ipv4/ip_local_port_range").stdout.split())
    assert low <= port <= high, f"host port {port} is outside {low}-{high}"
    res = http_get(f"http://{docker01.address}:{port}/")
    assert res.status == 200, str(res)


# --------------------------------------------------------------------------- C12: cp, logs, exec, inspect


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker cp /tmp/test.txt nginx:/tmp 复制进容器；docker cp nginx:/tmp/test.txt ./ 复制回宿主机当前目录",
                  en="docker cp /tmp/test.txt nginx:/tmp copies into the container; docker cp nginx:/tmp/test.txt ./ copies it back to the current directory")
def test_c12_cp_both_ways(docker01, params):
    """/tmp/test.txt (123) is in the nginx container, and was copied back to root's home directory."""
    inside = docker01.run("docker exec %s cat /tmp/test.txt 2>&1", params.c12)
    assert inside.rc == 0 and inside.stdout.strip() == params.cp_content, \
        f"/tmp/test.txt in {params.c12}: {inside.stdout.strip() or inside.stderr.strip()[:200]}"
    back = docker01.run("cat %s/test.txt", params.cp_back_dir)
    assert back.rc == 0 and back.stdout.strip() == params.cp_content, \
        f"{params.cp_back_dir}/test.txt on docker01: {back.stdout.strip() or back.stderr.strip()[:200]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs --tail=100 nginx 查看最近的日志（访问记录）", en="docker logs --tail=100 nginx shows the latest log lines (the access log)")
def test_c12_logs_tail(docker01, params):
    """After a request from the grader, docker logs --tail=100 nginx shows `GET / HTTP/1.1`."""
    _container(docker01, params.c12)
    http_get(f"http://{docker01.address}:{params.c12_port}/")
    logs = _logs_with(docker01, "docker logs --tail=100 %s", params.c12, "GET / HTTP/1.1")
    assert "GET / HTTP/1.1" in logs, f"no request in the last 100 lines: {logs[-300:]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker exec nginx hostname 输出容器的主机名（容器 ID 前 12 位）；docker inspect 查看容器 IP",
                  en="docker exec nginx hostname prints the container's hostname (its short ID); docker inspect shows its IP")
def test_c12_exec_and_inspect(docker01, params):
    """docker exec nginx hostname equals its Config.Hostname, and its IP is on the default bridge."""
    c = _container(docker01, params.c12)
    out = docker01.run("docker exec %s hostname 2>&1", params.c12)
    assert out.rc == 0 and out.stdout.strip() == c["Config"]["Hostname"], f"hostname: {out.stdout.strip() or out.stderr.strip()}"
    ip = _bridge_ip(c)
    assert ip and ipaddress.ip_address(ip) in _bridge_subnet(docker01), f"IP {ip!r} is not on the bridge subnet"


# --------------------------------------------------------------------------- B05: exit codes


@pytest.mark.points(2)
@pytest.mark.hint(zh="126：命令无法执行（如 /etc 是目录）；127：容器内找不到命令；容器停在 Created 状态",
                  en="126: the command cannot be run (/etc is a directory); 127: the command is not found in the container; the container stays Created")
def test_b05_exit_codes_126_127(docker01, params):
    """b05e126 (busybox /etc) failed with 126 (permission denied), b05e127 (no-such-cmd) with 127 (not found)."""
    for name, code, words in ((params.exit126, 126, "permission denied"), (params.exit127, 127, "not found")):
        state = _container(docker01, name)["State"]
        assert state["ExitCode"] == code, f"{name} has exit code {state['ExitCode']}, expected {code}"
        assert words in state.get("Error", ""), f"{name}: error is {state.get('Error', '')[:200]!r}"


# --------------------------------------------------------------------------- A09, B03: commit


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker commit -a \"cool\" -m \"this is test \" 容器 nginx:1.0：-a 作者，-m 说明",
                  en="docker commit -a \"cool\" -m \"this is test \" CONTAINER nginx:1.0: -a is the author, -m the message")
def test_a09_commit_metadata(docker01, params):
    """nginx:1.0 has Author cool and Comment `this is test `, and keeps nginx's CMD."""
    img = _image(docker01, params.a09_image)
    assert img["Author"] == params.a09_author, f"Author is {img['Author']!r}"
    assert img["Comment"] == params.a09_message, f"Comment is {img['Comment']!r}"
    assert img["Config"]["Cmd"] == ["nginx", "-g", "daemon off;"], f"Cmd is {img['Config']['Cmd']}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="commit 会把容器里的修改（新首页）保存进镜像", en="commit keeps the container's changes (the new page) in the image")
def test_a09_commit_content(docker01, params):
    """A `docker run --rm` probe of nginx:1.0 shows the page written in the container before the commit."""
    _image(docker01, params.a09_image)
    out = docker01.run("docker run --rm --pull never %s cat /usr/share/nginx/html/index.html", params.a09_image)
    assert out.rc == 0 and out.stdout.strip() == params.a09_marker, f"index.html: {out.stdout.strip()[:100] or out.stderr.strip()[:200]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 ubuntu:14.04 容器里 touch test，然后 docker commit -m \"Add a test file\" -a \"AZ\" 容器 test:0.1",
                  en="touch test in an ubuntu:14.04 container, then docker commit -m \"Add a test file\" -a \"AZ\" CONTAINER test:0.1")
def test_b03_commit_test_file(docker01, params):
    """test:0.1 has Author AZ, Comment `Add a test file`, and /test (a `docker run --rm` probe)."""
    img = _image(docker01, params.b03_image)
    assert (img["Author"], img["Comment"]) == ("AZ", "Add a test file"), f"Author {img['Author']!r}, Comment {img['Comment']!r}"
    out = docker01.run("docker run --rm --pull never %s ls /test", params.b03_image)
    assert out.rc == 0, f"/test is not in {params.b03_image}: {out.stderr.strip()[:200]}"
