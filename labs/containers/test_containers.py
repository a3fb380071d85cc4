"""Checks of the containers family (catalog DK05, DK20, DK22, A09, B03, C08, C12).

Read-only on docker01: `docker inspect`/`ps`/`logs`/`top`/`diff` of the student's containers and
images, and files on the host; pages are fetched from the grader. Containers are found by the
image they were run from and what they run, or by the names the notes type (my_nginx02,
test_echo, test_ping). No check runs or enters a container.
"""

import ipaddress
import json

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import all_containers, command_line, container_or_none, docker, image_id, named, same_image


def _image_inspect(host, ref, how):
    res = docker(host, "image inspect %s", ref)
    assert res.rc == 0 and res.stdout.strip(), f"image {ref} does not exist on {host.name} ({how})"
    return json.loads(res.stdout)[0]


def _of_image(host, name):
    """Containers (any state) run from the image name ``name`` as typed (``ubuntu`` = ``ubuntu:latest``)."""
    return [c for c in all_containers(host, include_stopped=True) if same_image(c["Config"]["Image"], name)]


def _bridge_ip(c):
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    return next((n["IPAddress"] for n in nets.values() if n.get("IPAddress")), "")


def _bridge_subnet(docker01):
    out = docker(docker01, "network inspect bridge -f '{{(index .IPAM.Config 0).Subnet}}'").stdout.strip()
    return ipaddress.ip_network(out) if out else None


def _describe(cs):
    return ", ".join(f"{c['Name'][1:]} ({' '.join(command_line(c))[:40]}, {c['State']['Status']} {c['State']['ExitCode']})" for c in cs[-6:]) or "none"


# --------------------------------------------------------------------------- DK20: one-shot and interactive


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run ubuntu /bin/echo 'Hello world'：容器执行完 echo 就退出，docker logs 可看到 Hello world",
                  en="docker run ubuntu /bin/echo 'Hello world': the container exits after echo; docker logs shows Hello world")
def test_dk20_one_shot_echo(docker01, params):
    """A container of ubuntu ran /bin/echo 'Hello world', exited 0 and logged Hello world."""
    seen = _of_image(docker01, params.echo_image)
    for c in seen:
        if command_line(c) == ["/bin/echo", "Hello world"] and (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 0):
            logs = docker(docker01, "logs %s", c["Id"])
            if logs.stdout.strip() == "Hello world":
                return
    raise AssertionError(f"no container of {params.echo_image} ran /bin/echo 'Hello world' and exited 0 "
                         f"(containers of {params.echo_image}: {_describe(seen)})")


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -it ubuntu /bin/bash：-i 保持标准输入、-t 分配终端，才能在容器里交互执行命令，exit 后容器退出",
                  en="docker run -it ubuntu /bin/bash: -i keeps stdin open and -t gives a terminal, so the shell waits for your commands; exit stops it")
def test_dk20_interactive_shell(docker01, params):
    """A container of ubuntu ran /bin/bash with -i (and -t) and has exited: the shell the student typed into."""
    seen = [c for c in _of_image(docker01, params.echo_image) if command_line(c) == ["/bin/bash"]]
    ok = [c for c in seen if c["Config"].get("OpenStdin") and c["State"]["Status"] == "exited"]
    assert ok, (f"no exited container of {params.echo_image} ran /bin/bash interactively (docker run -it {params.echo_image} "
                f"/bin/bash; without -it the shell exits at once): {_describe(seen)}")


# --------------------------------------------------------------------------- DK05, DK20, DK22: my_nginx02


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --rm --name my_nginx02 -d -p 80:80 nginx：后台运行，停止后自动删除",
                  en="docker run --rm --name my_nginx02 -d -p 80:80 nginx: detached, removed automatically when it stops")
def test_dk20_detached_autoremove(docker01, params):
    """my_nginx02 runs detached from nginx with --rm and 0.0.0.0:80->80/tcp."""
    c = named(docker01, params.web, f"docker run --rm --name {params.web} -d -p {params.web_port}:80 nginx")
    assert c["State"]["Running"], f"{params.web} is {c['State']['Status']}"
    assert same_image(c["Config"]["Image"], "nginx"), f"{params.web} runs {c['Config']['Image']}, not nginx"
    assert c["HostConfig"].get("AutoRemove") is True, f"{params.web} was not started with --rm"
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []
    assert any(b.get("HostPort") == str(params.web_port) for b in bindings), \
        f"{params.web} does not publish 80/tcp on host port {params.web_port} ({bindings or 'not published'})"


@pytest.mark.points(2)
@pytest.mark.hint(zh="从其他机器访问 http://docker01/ 应看到 Welcome to nginx!（容器要运行并映射 80 端口）",
                  en="http://docker01/ from another machine must show Welcome to nginx! (the container runs and maps port 80)")
def test_dk05_page_served(docker01, params):
    """http://docker01:80/ (fetched from the grader) shows nginx's welcome page."""
    res = http_get(f"http://{docker01.address}:{params.web_port}/")
    assert res.status == 200 and "Welcome to nginx!" in res.body, \
        f"http://{docker01.name}:{params.web_port}/ answered {res} {res.body[:120]!r}, not nginx's welcome page"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker top 查看容器进程（nginx master 和 worker），docker inspect 查看容器 IP",
                  en="docker top shows the container's processes (nginx master and workers), docker inspect its IP")
def test_dk22_top_stats_inspect(docker01, params):
    """docker top my_nginx02 shows the nginx master and a worker; its IP is on the default bridge's subnet."""
    c = named(docker01, params.web, f"docker run --rm --name {params.web} -d -p {params.web_port}:80 nginx")
    assert c["State"]["Running"], f"{params.web} is {c['State']['Status']}"
    top = docker(docker01, "top %s", params.web)
    assert top.rc == 0, f"docker top {params.web}: {top.stderr.strip()[:200]}"
    assert "nginx: master process" in top.stdout and "nginx: worker process" in top.stdout, \
        f"docker top {params.web} shows no nginx master and worker: {top.stdout.strip()[-300:]!r}"
    ip, subnet = _bridge_ip(c), _bridge_subnet(docker01)
    assert ip and subnet and ipaddress.ip_address(ip) in subnet, f"{params.web}'s IP {ip!r} is not on the bridge subnet {subnet}"


# --------------------------------------------------------------------------- C08: PID 1


@pytest.mark.points(1)
@pytest.mark.hint(zh="镜像后面的命令会替换 CMD 并成为 1 号进程：echo 1 执行完，容器就退出",
                  en="The command after the image replaces CMD and becomes PID 1: when echo 1 ends, the container exits")
def test_c08_echo_pid1_exits(docker01):
    """test_echo ran `echo 1` as its command, printed 1 and exited 0."""
    c = named(docker01, "test_echo", "docker run -d --name test_echo nginx:alpine echo 1")
    assert c["Config"]["Cmd"] == ["echo", "1"], f"test_echo's command is {c['Config']['Cmd']}, not echo 1"
    assert (c["State"]["Status"], c["State"]["ExitCode"]) == ("exited", 0), \
        f"test_echo is {c['State']['Status']} with exit code {c['State']['ExitCode']}"
    out = docker(docker01, "logs %s", c["Id"]).stdout.strip()
    assert out == "1", f"test_echo printed {out[:80]!r}, not 1"


@pytest.mark.points(1)
@pytest.mark.hint(zh="ping 一直运行，所以 test_ping 不会退出；1 号进程结束（例如 Ctrl+C）容器就停止",
                  en="ping keeps running, so test_ping stays up; when PID 1 ends (e.g. Ctrl+C) the container stops")
def test_c08_ping_pid1_keeps_running(docker01):
    """test_ping's command (its PID 1) is ping, and it is still running."""
    c = named(docker01, "test_ping", "docker run -d --name test_ping nginx:alpine ping www.baidu.com")
    cmd = command_line(c)
    assert cmd and cmd[0].rsplit("/", 1)[-1] == "ping", f"test_ping's command is {cmd}, not ping"
    assert c["State"]["Running"], f"test_ping is {c['State']['Status']} (exit code {c['State']['ExitCode']}): its PID 1, ping, ended"


# --------------------------------------------------------------------------- C12: cp


@pytest.mark.points(2)
@pytest.mark.hint(zh="echo '123'>/tmp/test.txt；docker cp /tmp/test.txt nginx:/tmp 复制进容器；在家目录 docker cp nginx:/tmp/test.txt ./ 复制回当前目录",
                  en="echo '123'>/tmp/test.txt; docker cp /tmp/test.txt nginx:/tmp copies it in; docker cp nginx:/tmp/test.txt ./ from your home directory copies it back")
def test_c12_cp_back(docker01, params):
    """/tmp/test.txt on docker01 holds 123, and the copy back from the container (./test.txt in root's home) too."""
    src = docker01.run("cat %s", params.cp_file)
    assert src.rc == 0 and src.stdout.strip() == params.cp_content, \
        f"{params.cp_file} on {docker01.name}: {src.stdout.strip()[:80]!r}" if src.rc == 0 else f"{params.cp_file} does not exist on {docker01.name}"
    back = docker01.run("cat %s/test.txt", params.cp_back_dir)
    assert back.rc == 0, f"{params.cp_back_dir}/test.txt does not exist on {docker01.name}: docker cp nginx:/tmp/test.txt ./ was not run there"
    assert back.stdout.strip() == params.cp_content, f"{params.cp_back_dir}/test.txt reads {back.stdout.strip()[:80]!r}, not {params.cp_content}"


# --------------------------------------------------------------------------- A09, B03: commit


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker commit -a \"cool\" -m \"this is test \" 容器 nginx:1.0：-a 作者，-m 说明",
                  en="docker commit -a \"cool\" -m \"this is test \" CONTAINER nginx:1.0: -a is the author, -m the message")
def test_a09_commit_metadata(docker01, params):
    """nginx:1.0 was committed from an nginx container (nginx's layers below its own) with Author cool and Comment `this is test `."""
    img = _image_inspect(docker01, params.a09_image, f"docker commit -a \"{params.a09_author}\" -m \"{params.a09_message}\" CONTAINER {params.a09_image}")
    base = image_id(docker01, "nginx:latest")
    base_layers = _image_inspect(docker01, base, "nginx's image")["RootFS"]["Layers"] if base else []
    layers = img["RootFS"].get("Layers") or []
    assert base_layers and layers[:len(base_layers)] == base_layers and len(layers) > len(base_layers), \
        f"{params.a09_image} is not a commit of an nginx container (its layers do not extend nginx's)"
    assert img.get("Author") == params.a09_author, f"{params.a09_image}'s Author is {img.get('Author')!r}, not {params.a09_author!r} (-a)"
    assert img.get("Comment") == params.a09_message, f"{params.a09_image}'s Comment is {img.get('Comment')!r}, not {params.a09_message!r} (-m)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 ubuntu:14.04 容器里 touch test，然后 docker commit -m \"Add a test file\" -a \"AZ\" 容器 test:0.1",
                  en="touch test in an ubuntu:14.04 container, then docker commit -m \"Add a test file\" -a \"AZ\" CONTAINER test:0.1")
def test_b03_commit_test_file(docker01, params):
    """test:0.1 has Author AZ and Comment `Add a test file`; the container it was committed from added /test (docker diff)."""
    img = _image_inspect(docker01, params.b03_image, f"docker commit -m \"Add a test file\" -a \"AZ\" CONTAINER {params.b03_image}")
    assert (img.get("Author"), img.get("Comment")) == ("AZ", "Add a test file"), \
        f"{params.b03_image}: Author {img.get('Author')!r}, Comment {img.get('Comment')!r} (expected AZ, Add a test file)"
    source = img.get("Container") or ""
    if source and container_or_none(docker01, source) is not None:
        diff = docker(docker01, "diff %s", source).stdout.split("\n")
        assert "A /test" in diff, f"the container {params.b03_image} was committed from did not add /test: {diff[:6]}"
