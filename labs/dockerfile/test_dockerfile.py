"""Checks of the Dockerfile lab (catalog DK13-DK19, A10, C04, C16). Read-only on docker01 except `docker run --rm`
probes, which leave nothing behind; pages are fetched from the grader's side."""

import json
from pathlib import Path
import re

import pytest

from harness.probes import http_get
from labs.common.docker import container as _container, image as _inspect_image


def _image(docker01, name):
    """The image's config, or a FAIL saying it was never built."""
    return _inspect_image(docker01, name, f"was it built with `docker build -t {name}`?")["Config"]


# --------------------------------------------------------------------------- DK13


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 Dockerfile 构建镜像：RUN 一行写入 index.html，然后 docker build -t dk13-nginx .",
                  en="Build the image from the Dockerfile whose RUN line writes index.html: docker build -t dk13-nginx .")
def test_dk13_image_built_from_dockerfile(docker01, params):
    """The nginx image was built from the course's Dockerfile (its RUN line is in the history)."""
    _image(docker01, params.nginx_image)
    history = docker01.run("docker history --no-trunc --format '{{.CreatedBy}}' %s", params.nginx_image).stdout
    assert "echo '<meta charset=utf8>" in history, "the image history has no layer made by the course's RUN echo line"


@pytest.mark.points(1)
@pytest.mark.hint(zh="容器要用 -p 80:80 运行，宿主机的 80 端口才会映射到容器的 80 端口",
                  en="Run the container with -p 80:80 so the host's port 80 maps to the container's port 80")
def test_dk13_port_published(docker01, params):
    """A container of the nginx image runs with 0.0.0.0:80->80/tcp."""
    c = _container(docker01, params.nginx_container)
    assert c["State"]["Running"], f"container {params.nginx_container} is {c['State']['Status']}, not running"
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []
    assert any(b.get("HostPort") == str(params.nginx_port) for b in bindings), \
        f"port 80/tcp is not published on host port {params.nginx_port} (bindings: {bindings})"


@pytest.mark.points(2)
@pytest.mark.hint(zh="从别的机器访问 http://docker01/ 应该看到自定义页面；检查容器是否在运行、端口是否映射",
                  en="http://docker01/ fetched from another machine must show the custom page; check the container runs and the port is mapped")
def test_dk13_page_served(docker01, params):
    """The custom page is served on docker01's port 80, fetched from the grader."""
    res = http_get(f"http://{docker01.address}:{params.nginx_port}/")
    assert res.status == 200, f"no page: {res}"
    assert res.body.strip() == params.page, f"the page is {res.body.strip()[:200]!r}, expected {params.page!r}"


# --------------------------------------------------------------------------- DK14


@pytest.mark.points(1)
@pytest.mark.hint(zh="COPY 会保留文件权限，并支持通配符：COPY chaoge* /tmp/",
                  en="COPY keeps file permissions and expands wildcards: COPY chaoge* /tmp/")
def test_dk14_copy_keeps_mode_and_wildcards(docker01):
    """dk14-copy: /home/chaoge.py kept mode 755; the wildcard copied chaoge1.txt and chaoge2.txt to /tmp."""
    _image(docker01, "dk14-copy")
    mode = docker01.run("docker run --rm --pull never dk14-copy stat -c %a /home/chaoge.py")
    assert mode.rc == 0 and mode.stdout.strip() == "755", f"/home/chaoge.py mode: {mode.stdout.strip() or mode.stderr.strip()}"
    listing = docker01.run("docker run --rm --pull never dk14-copy ls /tmp").stdout.split()
    assert {"chaoge1.txt", "chaoge2.txt"} <= set(listing), f"/tmp holds {listing}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="ADD 会自动解压本地的 tar.gz；COPY 只复制文件本身",
                  en="ADD extracts a local tar.gz into the destination; COPY copies the archive as it is")
def test_dk14_add_extracts_copy_does_not(docker01):
    """dk14-add: ADD extracted app.tar.gz into /opt/app; COPY left /srv/app.tar.gz as an archive."""
    _image(docker01, "dk14-add")
    res = docker01.run("docker run --rm --pull never dk14-add sh -c %s",
                       "cat /opt/app/hello.txt; test -f /srv/app.tar.gz && echo COPIED; test -e /srv/app || echo NOT-EXTRACTED")
    assert "hello from the tarball" in res.stdout, "ADD did not extract app.tar.gz into /opt"
    assert "COPIED" in res.stdout and "NOT-EXTRACTED" in res.stdout, "COPY should keep /srv/app.tar.gz as an archive"


@pytest.mark.points(1)
@pytest.mark.hint(zh="CMD 的 shell 写法会被转换为 [\"/bin/sh\",\"-c\",...]",
                  en="A shell-form CMD is stored as [\"/bin/sh\",\"-c\",...]")
def test_dk14_shell_form_stored_as_exec_form(docker01):
    """dk14-shellcmd: `CMD echo $PATH` is stored as ["/bin/sh","-c","echo $PATH"]."""
    cfg = _image(docker01, "dk14-shellcmd")
    assert cfg["Cmd"] == ["/bin/sh", "-c", "echo $PATH"], f"Cmd is {cfg['Cmd']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="容器的主进程必须在前台运行：CMD [\"nginx\",\"-g\",\"daemon off;\"]（注意用双引号）；systemctl start 会让容器立即退出",
                  en="The main process must stay in the foreground: CMD [\"nginx\",\"-g\",\"daemon off;\"] (double quotes); systemctl start makes the container exit at once")
def test_dk14_foreground_rule(docker01):
    """dk14-bg (CMD systemctl start nginx) exited; dk14-fg (nginx in the foreground) runs and serves HTTP."""
    bg = _container(docker01, "dk14-bg")
    assert not bg["State"]["Running"], "dk14-bg should have exited: its main process does not stay in the foreground"
    fg = _container(docker01, "dk14-fg")
    assert fg["State"]["Running"], f"dk14-fg is {fg['State']['Status']} (exit code {fg['State']['ExitCode']}), it should keep running"
    ip = next(iter(fg["NetworkSettings"]["Networks"].values()))["IPAddress"]
    page = docker01.run("curl -s -o /dev/null -w %%{http_code} --max-time 5 http://%s/", ip)
    assert page.stdout.strip() == "200", f"dk14-fg does not answer HTTP on port 80 ({page.stdout.strip() or page.stderr.strip()})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run 镜像 后面的参数会替换 CMD", en="Arguments after the image name in docker run replace CMD")
def test_dk14_arguments_replace_cmd(docker01):
    """`docker run --rm centos:7 cat /etc/os-release` runs cat instead of the image's CMD."""
    res = docker01.run("docker run --rm --pull never centos:7 cat /etc/os-release")
    assert res.rc == 0 and re.search(r"^NAME=", res.stdout, re.M), f"exit {res.rc}: {res.stderr.strip()[:200]}"


# --------------------------------------------------------------------------- DK15


@pytest.mark.points(1)
@pytest.mark.hint(zh="第一个版本用 CMD [\"curl\",\"-s\",\"http://ipinfo.io/ip\"]，没有 ENTRYPOINT",
                  en="The first version uses CMD [\"curl\",\"-s\",\"http://ipinfo.io/ip\"] and no ENTRYPOINT")
def test_dk15_cmd_image(docker01, params):
    """The CMD build of myip: Cmd is the curl command, Entrypoint is empty."""
    cfg = _image(docker01, params.myip_cmd_tag)
    assert cfg["Cmd"] == ["curl", "-s", "http://ipinfo.io/ip"], f"Cmd is {cfg['Cmd']}"
    assert not cfg["Entrypoint"], f"Entrypoint is {cfg['Entrypoint']}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="镜像作为命令运行时打印本机的公网 IP（实验里由 ipinfo.io 替身应答）",
                  en="Run as a command, the image prints the caller's IP (answered by the in-lab ipinfo.io stand-in)")
def test_dk15_cmd_prints_ip(docker01, params):
    """`docker run --rm myip:cmd` exits 0 and prints an IPv4 address."""
    res = docker01.run("docker run --rm --pull never --network %s %s", params.ipinfo_network, params.myip_cmd_tag)
    assert res.rc == 0, f"exit {res.rc}: {res.stderr.strip()[:200]}"
    assert re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}\s*", res.stdout), f"printed {res.stdout[:100]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 CMD 时，docker run myip -I 会把 -I 当成要执行的命令，因此报错 executable file not found",
                  en="With CMD, `docker run myip -I` runs `-I` as the command: executable file not found")
def test_dk15_cmd_replaced_by_arguments(docker01, params):
    """`docker run --rm myip:cmd -I` fails with exit 127: -I replaced the whole CMD."""
    res = docker01.run("docker run --rm --pull never --network %s %s -I", params.ipinfo_network, params.myip_cmd_tag)
    assert res.rc == 127 and "executable file not found" in res.stderr, f"exit {res.rc}: {res.stderr.strip()[:300]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="最终的 myip 镜像要用 ENTRYPOINT [\"curl\",\"-s\",\"http://ipinfo.io/ip\"]，这样 docker run 的参数会追加在后面",
                  en="The final myip image must use ENTRYPOINT [\"curl\",\"-s\",\"http://ipinfo.io/ip\"] so docker run arguments are appended")
def test_dk15_entrypoint_image(docker01, params):
    """myip: Entrypoint is the curl command and Cmd is empty (ENTRYPOINT resets the inherited CMD)."""
    cfg = _image(docker01, params.myip_image)
    assert cfg["Entrypoint"] == ["curl", "-s", "http://ipinfo.io/ip"], f"Entrypoint is {cfg['Entrypoint']}"
    assert not cfg["Cmd"], f"Cmd is {cfg['Cmd']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="ENTRYPOINT 镜像：docker run myip -I 应返回 HTTP 响应头（-I 被追加给 curl）",
                  en="With ENTRYPOINT, `docker run myip -I` prints HTTP headers (-I is appended to curl)")
def test_dk15_arguments_appended(docker01, params):
    """`docker run --rm myip -I` prints an HTTP 200 status line: -I was appended to curl."""
    res = docker01.run("docker run --rm --pull never --network %s %s -I", params.ipinfo_network, params.myip_image)
    first = res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""
    assert res.rc == 0 and re.match(r"HTTP/\S+ 200", first), f"exit {res.rc}, first line {first!r}, stderr {res.stderr.strip()[:200]!r}"


# --------------------------------------------------------------------------- DK16


@pytest.mark.points(1)
@pytest.mark.hint(zh="ENV NAME=\"chaoge nb\" 和 ENV MYSQL_VERSION=5.6 会出现在容器的环境变量里",
                  en="ENV NAME=\"chaoge nb\" and ENV MYSQL_VERSION=5.6 are in the container's environment")
def test_dk16_env(docker01, params):
    """dk16c's environment has NAME=chaoge nb and MYSQL_VERSION=5.6."""
    c = _container(docker01, params.instr_container)
    env = c["Config"]["Env"] or []
    assert "NAME=chaoge nb" in env and "MYSQL_VERSION=5.6" in env, f"Env is {env}"
    out = docker01.run("docker exec %s sh -c %s", params.instr_container, "echo $NAME")
    assert out.stdout.strip() == "chaoge nb", f"echo $NAME printed {out.stdout.strip()!r} ({out.stderr.strip()[:100]})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="ARG 只在构建时存在，不会进入容器的环境变量", en="ARG exists at build time only; it is not in the container's environment")
def test_dk16_arg_is_build_only(docker01, params):
    """BUILD_VER is not in dk16c's environment, but the build used it: /build.txt says `build 1.0 mysql 5.6`."""
    c = _container(docker01, params.instr_container)
    assert not any(e.startswith("BUILD_VER=") for e in c["Config"]["Env"] or []), "BUILD_VER leaked into the environment"
    out = docker01.run("docker exec %s cat /build.txt", params.instr_container)
    assert out.stdout.strip() == "build 1.0 mysql 5.6", f"/build.txt: {out.stdout.strip() or out.stderr.strip()}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="VOLUME [\"/data1\",\"/data2\"] 让容器运行时自动挂载两个匿名卷，用 docker inspect 查看 Mounts",
                  en="VOLUME [\"/data1\",\"/data2\"] gives the container two anonymous volumes; see Mounts in docker inspect")
def test_dk16_volumes(docker01, params):
    """The image declares /data1 and /data2; dk16c has an anonymous volume on each."""
    cfg = _image(docker01, params.instr_image)
    assert set(cfg["Volumes"] or {}) == {"/data1", "/data2"}, f"image Volumes: {cfg['Volumes']}"
    mounts = {m["Destination"]: m for m in _container(docker01, params.instr_container)["Mounts"]}
    for d in ("/data1", "/data2"):
        assert d in mounts and mounts[d]["Type"] == "volume", f"{d} is not a volume mount: {mounts.get(d)}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -v /my_data:/data 镜像 ：把宿主机 /my_data 挂载到容器 /data",
                  en="docker run -d -v /my_data:/data IMAGE binds the host's /my_data to /data in the container")
def test_dk16_bind_mount(docker01, params):
    """A container binds the host's /my_data to /data, read-write."""
    mounts = _container(docker01, params.bind_container)["Mounts"]
    match = [m for m in mounts if m["Destination"] == "/data"]
    assert match, f"{params.bind_container} has no mount on /data ({[m['Destination'] for m in mounts]})"
    m = match[0]
    assert (m["Type"], m["Source"], m["RW"]) == ("bind", params.bind_source, True), f"mount is {m}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="EXPOSE 8080 声明端口；docker run -P 会把它随机映射到宿主机端口",
                  en="EXPOSE 8080 declares the port; docker run -P maps it to a random host port")
def test_dk16_expose(docker01, params):
    """The image exposes 8080/tcp and `-P` mapped it to a host port."""
    cfg = _image(docker01, params.instr_image)
    assert cfg.get("ExposedPorts") == {"8080/tcp": {}}, f"ExposedPorts: {cfg.get('ExposedPorts')}"
    port = docker01.run("docker port %s 8080/tcp", params.instr_container)
    assert port.rc == 0 and re.search(r":\d+$", port.stdout.strip().splitlines()[0] if port.stdout.strip() else ""), \
        f"8080/tcp is not published: {port.stdout.strip() or port.stderr.strip()}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="WORKDIR /opt 设置容器的工作目录", en="WORKDIR /opt sets the container's working directory")
def test_dk16_workdir(docker01, params):
    """WorkingDir is /opt and `pwd` in dk16c prints /opt."""
    assert _image(docker01, params.instr_image)["WorkingDir"] == "/opt"
    out = docker01.run("docker exec %s pwd", params.instr_container)
    assert out.stdout.strip() == "/opt", f"pwd printed {out.stdout.strip()!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="USER chaoge 之前要先 useradd chaoge；容器以 chaoge 身份运行",
                  en="Create the user (useradd chaoge) before USER chaoge; the container then runs as chaoge")
def test_dk16_user(docker01, params):
    """User is chaoge and `whoami` in dk16c prints chaoge."""
    assert _image(docker01, params.instr_image)["User"] == "chaoge"
    out = docker01.run("docker exec %s whoami", params.instr_container)
    assert out.stdout.strip() == "chaoge", f"whoami printed {out.stdout.strip()!r}"


# --------------------------------------------------------------------------- DK17 (docker commit)


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --name web01 -d -p 80:80 nginx，然后用 docker exec 修改首页为 <h1>welcome~everyone</h1>",
                  en="docker run --name web01 -d -p 80:80 nginx, then change its page to <h1>welcome~everyone</h1> with docker exec")
def test_dk17_web01_edited(docker01, params):
    """web01 runs nginx with its port published, and serves <h1>welcome~everyone</h1> (fetched from the grader)."""
    c = _container(docker01, params.web01)
    assert c["State"]["Running"] and c["Config"]["Image"] in ("nginx", "nginx:latest"), \
        f"web01 is {c['State']['Status']} from {c['Config']['Image']}"
    res = http_get(f"http://{docker01.address}:{params.web01_port}/")
    assert res.status == 200 and res.body.strip() == params.web01_page, f"{res}: {res.body.strip()[:200]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker diff web01 显示容器相对镜像的改动：C /usr/share/nginx/html/index.html",
                  en="docker diff web01 lists the container's changes to its image: C /usr/share/nginx/html/index.html")
def test_dk17_diff(docker01, params):
    """docker diff web01 shows the changed index.html."""
    out = docker01.run("docker diff %s 2>&1", params.web01)
    assert out.rc == 0, f"docker diff {params.web01}: {out.stderr.strip()[:200]}"
    assert "C /usr/share/nginx/html/index.html" in out.stdout.splitlines(), out.stdout[:500]


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01",
                  en="docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01")
def test_dk17_commit_metadata(docker01, params):
    """nginx01's Author and Comment are the course's, and docker history shows the comment on top."""
    img = docker01.run("docker image inspect %s", params.commit_image)
    assert img.rc == 0, f"image {params.commit_image} does not exist (docker commit web01 nginx01)"
    data = json.loads(img.stdout)[0]
    assert data["Author"] == params.commit_author, f"Author is {data['Author']!r}"
    assert data["Comment"] == params.commit_message, f"Comment is {data['Comment']!r}"
    top = docker01.run("docker history --format '{{.Comment}}' %s", params.commit_image).stdout.splitlines()
    assert top and top[0] == params.commit_message, f"history: {top[:2]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="commit 在 nginx 镜像的层之上只加了一层，并继承了 nginx 的 CMD",
                  en="commit adds exactly one layer on top of nginx's and inherits nginx's CMD")
def test_dk17_commit_layering(docker01, params):
    """nginx01 = nginx's layers plus exactly one, and the CMD nginx -g 'daemon off;' is inherited."""
    base = json.loads(docker01.run("docker image inspect nginx").stdout)[0]
    img = docker01.run("docker image inspect %s", params.commit_image)
    assert img.rc == 0, f"image {params.commit_image} does not exist"
    data = json.loads(img.stdout)[0]
    layers, base_layers = data["RootFS"]["Layers"], base["RootFS"]["Layers"]
    assert layers[:-1] == base_layers and len(layers) == len(base_layers) + 1, \
        f"{params.commit_image} has {len(layers)} layers, nginx {len(base_layers)}: not one commit on top of nginx"
    assert data["Config"]["Cmd"] == ["nginx", "-g", "daemon off;"], f"Cmd is {data['Config']['Cmd']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="用新镜像运行容器 docker run --name nginx01 -d -p 81:80 nginx01，访问 81 端口看到修改后的首页",
                  en="Run the new image: docker run --name nginx01 -d -p 81:80 nginx01; port 81 shows the changed page")
def test_dk17_nginx01_served(docker01, params):
    """A container of nginx01 serves <h1>welcome~everyone</h1> on port 81 (from the grader)."""
    c = _container(docker01, params.commit_image)
    assert c["Config"]["Image"] == params.commit_image, f"container nginx01 runs {c['Config']['Image']}"
    res = http_get(f"http://{docker01.address}:{params.nginx01_port}/")
    assert res.status == 200 and res.body.strip() == params.web01_page, f"{res}: {res.body.strip()[:200]!r}"


# --------------------------------------------------------------------------- DK18 (flask)


@pytest.mark.points(2)
@pytest.mark.hint(zh="Dockerfile：COPY app.py /opt、WORKDIR /opt、EXPOSE 8080、CMD [\"python\",\"app.py\"]，docker build -t chaoge01/my_flask .",
                  en="Dockerfile: COPY app.py /opt, WORKDIR /opt, EXPOSE 8080, CMD [\"python\",\"app.py\"]; docker build -t chaoge01/my_flask .")
def test_dk18_flask_image(docker01, params):
    """chaoge01/my_flask exposes 8080, works in /opt, runs python app.py, and holds the course's app.py with Flask importable."""
    cfg = _image(docker01, params.flask_image)
    assert cfg.get("ExposedPorts") == {"8080/tcp": {}}, f"ExposedPorts: {cfg.get('ExposedPorts')}"
    assert cfg["WorkingDir"] == "/opt" and cfg["Cmd"] == ["python", "app.py"], f"WorkingDir {cfg['WorkingDir']}, Cmd {cfg['Cmd']}"
    app = docker01.run("docker run --rm --pull never %s cat /opt/app.py", params.flask_image)
    expected = (Path(__file__).parent / "files" / "dk18" / "app.py").read_text()
    assert app.rc == 0 and app.stdout == expected, f"/opt/app.py differs from the course's: {app.stdout[:200]!r}"
    flask = docker01.run("docker run --rm --pull never %s python -c 'import flask'", params.flask_image)
    assert flask.rc == 0, f"import flask failed: {flask.stderr.strip()[-200:]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --name flask01 -d -p 85:8080 chaoge01/my_flask：宿主机 85 映射到容器 8080",
                  en="docker run --name flask01 -d -p 85:8080 chaoge01/my_flask maps host port 85 to the container's 8080")
def test_dk18_flask01_published(docker01, params):
    """flask01 runs chaoge01/my_flask with 0.0.0.0:85->8080/tcp."""
    c = _container(docker01, params.flask_container)
    assert c["State"]["Running"], f"flask01 is {c['State']['Status']}"
    assert c["Config"]["Image"] == params.flask_image, f"flask01 runs {c['Config']['Image']}"
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("8080/tcp") or []
    assert any(b.get("HostPort") == str(params.flask_port) for b in bindings), \
        f"8080/tcp is not published on {params.flask_port}: {c['HostConfig'].get('PortBindings')}"


@pytest.mark.points(4)
@pytest.mark.hint(zh="浏览器访问 http://docker01:85/ 应显示 hello docker,i am chaoge.（app.py 监听 8080，端口映射要对应）",
                  en="http://docker01:85/ must show hello docker,i am chaoge. (app.py listens on 8080: map 85 to 8080)")
def test_dk18_page_served(docker01, params):
    """http://docker01:85/ (fetched from the grader) answers exactly `hello docker,i am chaoge.`."""
    res = http_get(f"http://{docker01.address}:{params.flask_port}/")
    assert res.status == 200 and res.body == params.flask_page, f"{res}: {res.body[:200]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs flask01 可以看到 Flask 的启动信息 Running on http://...:8080",
                  en="docker logs flask01 shows Flask's start-up line Running on http://...:8080")
def test_dk18_logs(docker01, params):
    """docker logs flask01 shows Flask running on port 8080."""
    logs = docker01.run("docker logs %s 2>&1", params.flask_container)
    text = logs.stdout + logs.stderr
    assert re.search(r"Running on http://\S+:8080", text), f"no `Running on http://...:8080` in: {text[-400:]!r}"


# --------------------------------------------------------------------------- DK19, A10, C16, C04


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker2 目录下的 dockerfile：WORKDIR /testdir、RUN touch tmpfile1、COPY tmpfile2、ADD test.tar.gz（自动解压）",
                  en="The dockerfile in docker2/: WORKDIR /testdir, RUN touch tmpfile1, COPY tmpfile2, ADD test.tar.gz (extracted)")
def test_dk19_my_imge(docker01, params):
    """my-imge: Author steven, WorkingDir /testdir holding tmpfile1, tmpfile2 and the extracted test.tar.gz."""
    cfg_all = docker01.run("docker image inspect %s", params.s4_image)
    assert cfg_all.rc == 0, f"image {params.s4_image} does not exist"
    data = json.loads(cfg_all.stdout)[0]
    assert data["Author"] == "steven" and data["Config"]["WorkingDir"] == "/testdir", \
        f"Author {data['Author']!r}, WorkingDir {data['Config']['WorkingDir']!r}"
    listing = docker01.run("docker run --rm --pull never %s ls -A /testdir", params.s4_image).stdout.split()
    want = {"tmpfile1", "tmpfile2", "testfile_a", "testdir_b"}
    assert want <= set(listing) and "test.tar.gz" not in listing, f"/testdir holds {listing}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="多个 CMD 只有最后一个生效；ENV MYPATH /usr/local 配合 WORKDIR $MYPATH 设置默认目录；MAINTAINER 写入作者",
                  en="Of several CMDs only the last counts; ENV MYPATH /usr/local with WORKDIR $MYPATH sets the working directory; MAINTAINER sets the author")
def test_a10_mycentos(docker01, params):
    """mycentos:v1: Author cool, MYPATH=/usr/local, WorkingDir /usr/local, EXPOSE 80, CMD /bin/bash (the last); pwd prints /usr/local."""
    res = docker01.run("docker image inspect %s", params.a10_image)
    assert res.rc == 0, f"image {params.a10_image} does not exist"
    data = json.loads(res.stdout)[0]
    cfg = data["Config"]
    assert data["Author"] == "cool", f"Author {data['Author']!r}"
    assert "MYPATH=/usr/local" in (cfg["Env"] or []) and cfg["WorkingDir"] == "/usr/local", f"Env {cfg['Env']}, WorkingDir {cfg['WorkingDir']}"
    assert cfg.get("ExposedPorts") == {"80/tcp": {}}, f"ExposedPorts {cfg.get('ExposedPorts')}"
    assert cfg["Cmd"] == ["/bin/sh", "-c", "/bin/bash"], f"Cmd {cfg['Cmd']} (only the last CMD counts)"
    pwd = docker01.run("docker run --rm --pull never %s pwd", params.a10_image)
    assert pwd.stdout.strip() == "/usr/local", f"pwd printed {pwd.stdout.strip()!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="ADD hom* 通配、ADD 相对路径落在 WORKDIR 下、ENV 两种写法、EXPOSE 多端口和 udp、只有最后一个 ENTRYPOINT 生效且参数追加在后面",
                  en="ADD hom* wildcards, relative ADD lands under WORKDIR, both ENV forms, EXPOSE several ports and udp, only the last ENTRYPOINT counts and arguments are appended")
def test_c16_instruction_formats(docker01, params):
    """c16: MAINTAINER, ADD hom*, WORKDIR-relative ADD, RUN in WORKDIR, both ENV forms, EXPOSE tcp/udp, last ENTRYPOINT + CMD."""
    res = docker01.run("docker image inspect %s", params.c16_image)
    assert res.rc == 0, f"image {params.c16_image} does not exist"
    data = json.loads(res.stdout)[0]
    cfg = data["Config"]
    assert data["Author"] == "Yongxin Li <inspur_lyx@hotmail.com>", f"Author {data['Author']!r}"
    assert {"myName=John", "myCat=fluffy"} <= set(cfg["Env"] or []), f"Env {cfg['Env']}"
    assert set(cfg.get("ExposedPorts") or {}) == {"80/tcp", "443/tcp", "11211/tcp", "11211/udp"}, cfg.get("ExposedPorts")
    assert cfg["WorkingDir"] == "/w" and cfg["Entrypoint"] == ["echo", "hello"], f"WorkingDir {cfg['WorkingDir']}, Entrypoint {cfg['Entrypoint']}"
    files = docker01.run("docker run --rm --pull never --entrypoint sh %s -c %s", params.c16_image,
                         "ls /mydir; cat /pwd; ls /w/relativeDir").stdout.split()
    assert files == ["home.txt", "homer.txt", "/w", "test"], f"/mydir, /pwd, /w/relativeDir: {files}"
    run = docker01.run("docker run --rm --pull never %s", params.c16_image).stdout.strip()
    arg = docker01.run("docker run --rm --pull never %s docker", params.c16_image).stdout.strip()
    assert (run, arg) == ("hello world", "hello docker"), f"docker run printed {run!r}, with an argument {arg!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="只有改变文件系统的指令（COPY、RUN）才产生新的层；CMD 只增加一条 0B 的历史记录",
                  en="Only instructions that change the filesystem (COPY, RUN) add layers; CMD only adds a 0 B history entry")
def test_c04_layers(docker01, params):
    """c04-layers has busybox's layers plus two (COPY, RUN) and three more history rows (COPY, RUN, CMD)."""
    res = docker01.run("docker image inspect %s", params.c04_image)
    assert res.rc == 0, f"image {params.c04_image} does not exist"
    img = json.loads(res.stdout)[0]
    base = json.loads(docker01.run("docker image inspect busybox").stdout)[0]
    assert len(img["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 2, \
        f"{len(img['RootFS']['Layers'])} layers, busybox has {len(base['RootFS']['Layers'])}"
    rows = len(docker01.run("docker history -q %s", params.c04_image).stdout.split())
    base_rows = len(docker01.run("docker history -q busybox").stdout.split())
    assert rows == base_rows + 3, f"{rows} history rows, busybox has {base_rows}"
    assert docker01.run("docker run --rm --pull never %s", params.c04_image).rc == 0
