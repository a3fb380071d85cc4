"""Checks of the Dockerfile lab (catalog DK13-DK19, A10): what the notes' own lines leave on docker01.

Images and containers are found as a trainer finds them: DK13's and DK16's images are unnamed in
the notes (run by ID), so they are found by what they are (the history line that writes DK13's
page, MAINTAINER chaoge with the two volumes); containers by the image they run, their published
port or their mount; only names the notes type (`myip`, `web01`, `nginx01`, `chaoge01/my_flask`,
`my-imge`, `mycentos:v1`) are looked up by name. Read-only on docker01 except `docker run --rm`
probes of an image, which leave nothing behind; pages are fetched from the grader's side.
"""

import json
import re
from pathlib import Path

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import Want, all_containers, container as _container, docker, find_container, image as _inspect_image, running

FILES = Path(__file__).parent / "files"
URL = "http://ipinfo.io/ip"
CURL = ["curl", "-s", URL]


def _image(docker01, name):
    """The image's config, or a FAIL saying it was never built."""
    return _inspect_image(docker01, name, f"was it built with `docker build -t {name}`?")["Config"]


def _all_images(h) -> list[dict]:
    """Inspect JSON of every image on the host, dangling ones included (the notes build `myip` twice)."""
    res = docker(h, "image ls -aq --no-trunc")
    assert res.rc == 0, f"`docker image ls` failed on {h.name}: {res.stderr.strip()[:200]}"
    ids = sorted(set(res.stdout.split()))
    if not ids:
        return []
    res = docker(h, "image inspect " + " ".join(["%s"] * len(ids)), *ids)
    if res.rc == 0:
        return json.loads(res.stdout)
    found = []
    for i in ids:  # one was removed between ls and inspect
        r = docker(h, "image inspect %s", i)
        if r.rc == 0:
            found.extend(json.loads(r.stdout))
    return found


def _logs(h, cid) -> str:
    res = docker(h, "logs %s", cid)
    return res.stdout + res.stderr


# --------------------------------------------------------------------------- DK13


def _dk13_images(docker01, params) -> list[str]:
    """IDs of the images whose history has the RUN line that writes the notes' page (the notes run it as `10a`)."""
    docker(docker01, "version --format '{{.Server.Version}}'")  # a daemon that does not answer is ERROR
    res = docker01.run("for i in $(docker image ls -aq --no-trunc | sort -u); do docker history --no-trunc "
                       "--format '{{.CreatedBy}}' $i | grep -qF %s && echo $i; done", params.page)
    return res.stdout.split()


def _dk13_image(docker01, params) -> set[str]:
    """The images built from DK13's Dockerfile (a rebuild, or a longer Dockerfile's later steps, make more than one)."""
    ids = _dk13_images(docker01, params)
    assert ids, (f"no image on {docker01.name} was built from the Dockerfile `FROM nginx` + `RUN echo '{params.page}' > "
                 "/usr/share/nginx/html/index.html` (no image history has that RUN line)")
    return set(ids)


@pytest.mark.points(1)
@pytest.mark.hint(zh="在 /my_docker 写 Dockerfile（FROM nginx，RUN echo 写入 index.html），然后 docker build .",
                  en="Write the Dockerfile in /my_docker (FROM nginx, RUN echo into index.html), then docker build .")
def test_dk13_image_built_from_dockerfile(docker01, params):
    """An image was built from the notes' Dockerfile: its history has the RUN echo line, on top of nginx."""
    ids = _dk13_image(docker01, params)
    base = _inspect_image(docker01, "nginx", "the course's nginx image")["RootFS"]["Layers"]
    on_nginx = [i for i in ids if (_inspect_image(docker01, i).get("RootFS") or {}).get("Layers", [])[:len(base)] == base]
    assert on_nginx, f"image(s) {sorted(i[7:19] for i in ids)} have the RUN line but are not built FROM nginx"


@pytest.mark.points(1)
@pytest.mark.hint(zh="运行容器时要加 -p 80:80：docker run -d -p80:80 <镜像ID>，宿主机的 80 端口才会映射到容器的 80 端口",
                  en="Run the container with -p 80:80 (docker run -d -p80:80 <image ID>) so the host's port 80 maps to the container's 80")
def test_dk13_port_published(docker01, params):
    """A container of DK13's image was run with -p 80:80 (it may be stopped since: DK17's web01 takes port 80)."""
    ids = _dk13_image(docker01, params)
    iid = sorted(ids)[0]
    mine = [c for c in all_containers(docker01, include_stopped=True) if c["Image"] in ids]
    assert mine, f"no container was run from DK13's image {iid[7:19]} on {docker01.name} (docker run -d -p80:80 {iid[7:10]})"
    bound = [c for c in mine if any(str(b.get("HostPort")) == str(params.nginx_port)
                                    for b in ((c["HostConfig"].get("PortBindings") or {}).get("80/tcp") or []))]
    assert bound, (f"no container of DK13's image {iid[7:19]} publishes 80/tcp on host port {params.nginx_port}: "
                   + ", ".join(f"{c['Name'][1:]} {c['HostConfig'].get('PortBindings') or 'no -p'}" for c in mine))


@pytest.mark.points(2)
@pytest.mark.hint(zh="RUN 那一行要把页面写进 /usr/share/nginx/html/index.html，容器里的首页就是这句话",
                  en="The RUN line must write the page into /usr/share/nginx/html/index.html: that is the container's home page")
def test_dk13_page_in_container(docker01, params):
    """The container of DK13's image holds the notes' page as /usr/share/nginx/html/index.html (read with docker cp)."""
    ids = _dk13_image(docker01, params)
    mine = [c for c in all_containers(docker01, include_stopped=True) if c["Image"] in ids]
    assert mine, f"no container was run from DK13's image {sorted(ids)[0][7:19]} on {docker01.name}"
    pages = []
    for c in mine:
        page = docker01.run("docker cp %s - | tar -xO", f"{c['Id']}:/usr/share/nginx/html/index.html").stdout.strip()
        if page == params.page:
            return
        pages.append(page[:100])
    raise AssertionError(f"index.html in the containers of DK13's image is {pages}, expected {params.page!r}")


# --------------------------------------------------------------------------- DK15


def _cmd_images(images) -> set[str]:
    """The first `myip` build (CMD, no ENTRYPOINT): dangling once the second build took the tag."""
    return {i["Id"] for i in images if i["Config"].get("Cmd") == CURL and not i["Config"].get("Entrypoint")}


def _need_cmd_image(docker01) -> set[str]:
    ids = _cmd_images(_all_images(docker01))
    assert ids, (f"no image on {docker01.name} has CMD [\"curl\",\"-s\",\"{URL}\"] without ENTRYPOINT "
                 "(the first `docker build -t myip .`, dangling after the second)")
    return ids


@pytest.mark.points(1)
@pytest.mark.hint(zh="第一个版本的 Dockerfile 用 CMD [\"curl\",\"-s\",\"http://ipinfo.io/ip\"]，没有 ENTRYPOINT；docker build -t myip .",
                  en="The first Dockerfile uses CMD [\"curl\",\"-s\",\"http://ipinfo.io/ip\"] and no ENTRYPOINT; docker build -t myip .")
def test_dk15_cmd_image(docker01, params):
    """The CMD build of myip exists (tagged or dangling): Cmd is the curl command, no Entrypoint."""
    _need_cmd_image(docker01)


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run myip 运行 CMD 里的 curl，打印本机的公网 IP 后退出（Exited (0)），docker logs 能看到这个 IP",
                  en="docker run myip runs the CMD's curl, prints the public IP and exits (Exited (0)); docker logs shows the IP")
def test_dk15_cmd_prints_ip(docker01, params):
    """A container of the CMD build, run with its own CMD, exited 0 and its log is an IPv4 address."""
    ids = _need_cmd_image(docker01)
    runs = [c for c in all_containers(docker01, include_stopped=True)
            if c["Image"] in ids and [c["Path"], *c["Args"]] == CURL]
    assert runs, f"no container was run from the CMD build of myip with its own command (docker run myip) on {docker01.name}"
    seen = []
    for c in runs:
        log = _logs(docker01, c["Id"]).strip()
        if c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 0 and re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", log):
            return
        seen.append(f"{c['Name'][1:]}: {c['State']['Status']} ({c['State']['ExitCode']}), log {log[:80]!r}")
    raise AssertionError("no `docker run myip` printed an IP address and exited 0: " + "; ".join(seen))


@pytest.mark.points(1)
@pytest.mark.hint(zh="用 CMD 时，docker run myip -I 会把 -I 当成要执行的命令，因此报错 executable file not found",
                  en="With CMD, `docker run myip -I` runs `-I` as the command: executable file not found")
def test_dk15_cmd_replaced_by_arguments(docker01, params):
    """`docker run myip -I` on the CMD build failed: -I replaced the whole CMD (exit 127, executable file not found)."""
    ids = _need_cmd_image(docker01)
    tried = [c for c in all_containers(docker01, include_stopped=True) if c["Image"] in ids and c["Path"] == "-I"]
    assert tried, f"no `docker run myip -I` of the CMD build on {docker01.name}"
    assert any(c["State"]["ExitCode"] == 127 or "executable file not found" in (c["State"].get("Error") or "") for c in tried), \
        f"`docker run myip -I` did not fail as the notes show: {[(c['State']['Status'], c['State']['ExitCode']) for c in tried]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="最终的 myip 镜像要用 ENTRYPOINT [\"curl\",\"-s\",\"http://ipinfo.io/ip\"]，这样 docker run 的参数会追加在后面",
                  en="The final myip image must use ENTRYPOINT [\"curl\",\"-s\",\"http://ipinfo.io/ip\"] so docker run arguments are appended")
def test_dk15_entrypoint_image(docker01, params):
    """myip: Entrypoint is the curl command and Cmd is empty (ENTRYPOINT resets the inherited CMD)."""
    cfg = _image(docker01, params.myip_image)
    assert cfg.get("Entrypoint") == CURL, f"myip's Entrypoint is {cfg.get('Entrypoint')}, Cmd {cfg.get('Cmd')}"
    assert not cfg.get("Cmd"), f"myip's Cmd is {cfg['Cmd']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="ENTRYPOINT 镜像：docker run myip -I 应返回 HTTP 响应头（-I 被追加给 curl）",
                  en="With ENTRYPOINT, `docker run myip -I` prints HTTP headers (-I is appended to curl)")
def test_dk15_arguments_appended(docker01, params):
    """A `docker run myip -I` of the image myip names now exited 0 and printed an HTTP 200 status line."""
    iid = _inspect_image(docker01, params.myip_image, "docker build -t myip .")["Id"]
    tried = [c for c in all_containers(docker01, include_stopped=True) if c["Image"] == iid and c["Config"].get("Cmd") == ["-I"]]
    assert tried, f"no `docker run myip -I` of the image myip names now ({iid[7:19]}) on {docker01.name}"
    seen = []
    for c in tried:
        first = (_logs(docker01, c["Id"]).strip().splitlines() or [""])[0]
        if c["State"]["ExitCode"] == 0 and re.match(r"HTTP/\S+ 200", first):
            return
        seen.append(f"{c['Name'][1:]}: exit {c['State']['ExitCode']}, first line {first[:80]!r}")
    raise AssertionError("`docker run myip -I` did not print HTTP headers: " + "; ".join(seen))


# --------------------------------------------------------------------------- DK16


def _volume_images(docker01) -> set[str]:
    return {i["Id"] for i in _all_images(docker01)
            if i.get("Author") == "chaoge" and set(i["Config"].get("Volumes") or {}) == {"/data1", "/data2"}}


@pytest.mark.points(1)
@pytest.mark.hint(zh="测试用的 Dockerfile：FROM centos、MAINTAINER chaoge、VOLUME [\"/data1\",\"/data2\"]，然后 docker build .",
                  en="The test Dockerfile: FROM centos, MAINTAINER chaoge, VOLUME [\"/data1\",\"/data2\"]; then docker build .")
def test_dk16_volume_image(docker01, params):
    """An image from the notes' VOLUME Dockerfile: Author chaoge, Volumes /data1 and /data2."""
    assert _volume_images(docker01), (f"no image on {docker01.name} has MAINTAINER chaoge and VOLUME [\"/data1\",\"/data2\"] "
                                      "(the notes' test Dockerfile)")


@pytest.mark.points(2)
@pytest.mark.hint(zh="VOLUME [\"/data1\",\"/data2\"] 让容器运行时自动挂载两个匿名卷，用 docker inspect 查看 Mounts",
                  en="VOLUME [\"/data1\",\"/data2\"] gives the container two anonymous volumes; see Mounts in docker inspect")
def test_dk16_volumes(docker01, params):
    """A container of that image has an anonymous volume on /data1 and on /data2."""
    ids = _volume_images(docker01)
    assert ids, f"no image with MAINTAINER chaoge and VOLUME [\"/data1\",\"/data2\"] on {docker01.name}"
    mine = [c for c in all_containers(docker01, include_stopped=True) if c["Image"] in ids]
    assert mine, f"no container was run from the VOLUME test image on {docker01.name}"
    for c in mine:
        mounts = {m["Destination"]: m.get("Type") for m in c.get("Mounts") or []}
        if mounts.get("/data1") == "volume" and mounts.get("/data2") == "volume":
            return
    raise AssertionError(f"no container of the VOLUME test image has volumes on /data1 and /data2: "
                         f"{[[m['Destination'] for m in c.get('Mounts') or []] for c in mine]}")


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run -d -v /my_data:/data <镜像>：把宿主机 /my_data 挂载到容器 /data",
                  en="docker run -d -v /my_data:/data <image> binds the host's /my_data to /data in the container")
def test_dk16_bind_mount(docker01, params):
    """A container binds the host's /my_data to /data, read-write."""
    c = find_container(docker01, Want(mount="/data", running=False))
    m = next(m for m in c["Mounts"] if m["Destination"] == "/data")
    assert (m["Type"], m["Source"], m["RW"]) == ("bind", params.bind_source, True), \
        f"{c['Name'][1:]}'s mount on /data is {m['Type']} from {m.get('Source')} (rw {m['RW']}), expected a bind of {params.bind_source}"


# --------------------------------------------------------------------------- DK17 (docker commit)


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --name web01 -d -p 80:80 nginx，然后用 docker exec 修改首页为 <h1>welcome~everyone</h1>",
                  en="docker run --name web01 -d -p 80:80 nginx, then change its page to <h1>welcome~everyone</h1> with docker exec")
def test_dk17_web01_edited(docker01, params):
    """web01 runs nginx with its port published, and serves <h1>welcome~everyone</h1> (fetched from the grader)."""
    c = running(docker01, params.web01)
    assert c["Config"]["Image"] in ("nginx", "nginx:latest"), \
        f"web01 is {c['State']['Status']} from {c['Config']['Image']}"
    res = http_get(f"http://{docker01.address}:{params.web01_port}/")
    assert res.status == 200 and res.body.strip() == params.web01_page, \
        f"{res.url} (from the grader) answers {res.status or res.error} with {res.body.strip()[:120]!r}, expected {params.web01_page!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker diff web01 显示容器相对镜像的改动：C /usr/share/nginx/html/index.html",
                  en="docker diff web01 lists the container's changes to its image: C /usr/share/nginx/html/index.html")
def test_dk17_diff(docker01, params):
    """docker diff web01 shows the changed index.html."""
    _container(docker01, params.web01)
    out = docker(docker01, "diff %s", params.web01)
    assert out.rc == 0, f"docker diff {params.web01}: {out.stderr.strip()[:200]}"
    assert "C /usr/share/nginx/html/index.html" in out.stdout.splitlines(), \
        f"docker diff web01 does not show index.html changed: {out.stdout[-300:]!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01",
                  en="docker commit --author \"chaoge <yc_uuu@163.com>\" --message \"修改首页欢迎页面\" web01 nginx01")
def test_dk17_commit_metadata(docker01, params):
    """nginx01's Author and Comment are the course's, and docker history shows the comment on top."""
    data = _inspect_image(docker01, params.commit_image, "docker commit ... web01 nginx01")
    assert data.get("Author") == params.commit_author, f"nginx01's Author is {data.get('Author')!r}, expected {params.commit_author!r}"
    assert data.get("Comment") == params.commit_message, f"nginx01's Comment is {data.get('Comment')!r}, expected {params.commit_message!r}"
    top = docker01.run("docker history --format '{{.Comment}}' %s", params.commit_image).stdout.splitlines()
    assert top and top[0] == params.commit_message, f"docker history nginx01 does not show the commit message on top: {top[:2]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="commit 在 nginx 镜像的层之上只加了一层，并继承了 nginx 的 CMD",
                  en="commit adds exactly one layer on top of nginx's and inherits nginx's CMD")
def test_dk17_commit_layering(docker01, params):
    """nginx01 = nginx's layers plus exactly one, and the CMD nginx -g 'daemon off;' is inherited."""
    base = _inspect_image(docker01, "nginx", "the course's nginx image")
    data = _inspect_image(docker01, params.commit_image, "docker commit ... web01 nginx01")
    layers, base_layers = data["RootFS"]["Layers"], base["RootFS"]["Layers"]
    assert layers[:-1] == base_layers and len(layers) == len(base_layers) + 1, \
        f"{params.commit_image} has {len(layers)} layers, nginx {len(base_layers)}: not one commit on top of nginx"
    assert data["Config"]["Cmd"] == ["nginx", "-g", "daemon off;"], f"Cmd is {data['Config']['Cmd']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="用新镜像运行容器 docker run --name nginx01 -d -p 81:80 nginx01，访问 81 端口看到修改后的首页",
                  en="Run the new image: docker run --name nginx01 -d -p 81:80 nginx01; port 81 shows the changed page")
def test_dk17_nginx01_served(docker01, params):
    """A container of nginx01 serves <h1>welcome~everyone</h1> on port 81 (from the grader)."""
    find_container(docker01, Want(image=params.commit_image, publishes="80/tcp", host_port=params.nginx01_port))
    res = http_get(f"http://{docker01.address}:{params.nginx01_port}/")
    assert res.status == 200 and res.body.strip() == params.web01_page, \
        f"{res.url} (from the grader) answers {res.status or res.error} with {res.body.strip()[:120]!r}, expected {params.web01_page!r}"


# --------------------------------------------------------------------------- DK18 (flask)


@pytest.mark.points(2)
@pytest.mark.hint(zh="Dockerfile：COPY app.py /opt、WORKDIR /opt、EXPOSE 8080、CMD [\"python\",\"app.py\"]，docker build -t chaoge01/my_flask .",
                  en="Dockerfile: COPY app.py /opt, WORKDIR /opt, EXPOSE 8080, CMD [\"python\",\"app.py\"]; docker build -t chaoge01/my_flask .")
def test_dk18_flask_image(docker01, params):
    """chaoge01/my_flask exposes 8080, works in /opt, runs python app.py, and holds the course's app.py with Flask importable."""
    cfg = _image(docker01, params.flask_image)
    assert cfg.get("ExposedPorts") == {"8080/tcp": {}}, f"chaoge01/my_flask exposes {cfg.get('ExposedPorts')}, expected 8080/tcp"
    assert cfg.get("WorkingDir") == "/opt" and cfg.get("Cmd") == ["python", "app.py"], \
        f"chaoge01/my_flask: WorkingDir {cfg.get('WorkingDir')!r}, Cmd {cfg.get('Cmd')} (WORKDIR /opt, CMD [\"python\",\"app.py\"])"
    app = docker01.run("docker run --rm --pull never %s cat /opt/app.py", params.flask_image)
    expected = (FILES / "dk18" / "app.py").read_text()
    assert app.rc == 0 and app.stdout == expected, f"/opt/app.py differs from the course's: {app.stdout[:200]!r}"
    flask = docker01.run("docker run --rm --pull never %s python -c 'import flask'", params.flask_image)
    assert flask.rc == 0, f"import flask failed: {flask.stderr.strip()[-200:]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker run --name flask01 -d -p 85:8080 chaoge01/my_flask：宿主机 85 映射到容器 8080",
                  en="docker run --name flask01 -d -p 85:8080 chaoge01/my_flask maps host port 85 to the container's 8080")
def test_dk18_flask01_published(docker01, params):
    """flask01 runs chaoge01/my_flask with 0.0.0.0:85->8080/tcp."""
    c = find_container(docker01, Want(image=params.flask_image))
    bindings = (c["HostConfig"].get("PortBindings") or {}).get("8080/tcp") or []
    assert any(b.get("HostPort") == str(params.flask_port) for b in bindings), \
        f"8080/tcp is not published on {params.flask_port}: {c['HostConfig'].get('PortBindings')}"


@pytest.mark.points(4)
@pytest.mark.hint(zh="浏览器访问 http://docker01:85/ 应显示 hello docker,i am chaoge.（app.py 监听 8080，端口映射要对应）",
                  en="http://docker01:85/ must show hello docker,i am chaoge. (app.py listens on 8080: map 85 to 8080)")
def test_dk18_page_served(docker01, params):
    """http://docker01:85/ (fetched from the grader) answers exactly `hello docker,i am chaoge.`."""
    res = http_get(f"http://{docker01.address}:{params.flask_port}/")
    assert res.status == 200 and res.body == params.flask_page, \
        f"{res.url} (from the grader) answers {res.status or res.error} with {res.body[:120]!r}, expected {params.flask_page!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker logs flask01 可以看到 Flask 的启动信息 Running on http://...:8080",
                  en="docker logs flask01 shows Flask's start-up line Running on http://...:8080")
def test_dk18_logs(docker01, params):
    """docker logs flask01 shows Flask running on port 8080."""
    c = find_container(docker01, Want(image=params.flask_image))
    text = _logs(docker01, c["Id"])
    assert re.search(r"Running on http://\S+:8080", text), f"no `Running on http://...:8080` in: {text[-400:]!r}"


# --------------------------------------------------------------------------- DK19 (seed 004), A10 (seed 001)


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker2 目录下的 dockerfile：MAINTAINER steven、WORKDIR /testdir、RUN touch tmpfile1、COPY tmpfile2、ADD test.tar.gz（自动解压），docker build -t my-imge .",
                  en="The dockerfile in docker2/: MAINTAINER steven, WORKDIR /testdir, RUN touch tmpfile1, COPY tmpfile2, ADD test.tar.gz (extracted); docker build -t my-imge .")
def test_dk19_my_imge(docker01, params):
    """my-imge: Author steven, WorkingDir /testdir holding tmpfile1, tmpfile2 and test.tar.gz's members, extracted."""
    data = _inspect_image(docker01, params.s4_image, "docker build -t my-imge . in docker2/")
    assert data.get("Author") == "steven" and data["Config"].get("WorkingDir") == "/testdir", \
        f"my-imge: Author {data.get('Author')!r}, WorkingDir {data['Config'].get('WorkingDir')!r}"
    res = docker(docker01, "run --rm --pull never --entrypoint ls %s -A /testdir", params.s4_image)
    listing = set(res.stdout.split())
    assert res.rc == 0 and {"tmpfile1", "tmpfile2"} <= listing, f"/testdir in my-imge holds {sorted(listing)}"
    assert "test.tar.gz" not in listing, "test.tar.gz was copied as an archive: ADD should have extracted it"
    # what the student's own archive holds (the notes do not show it), if it is still in the build context
    members = docker01.run("tar -tzf %s/test.tar.gz 2>/dev/null", params.s4_dir).stdout.split()
    top = {m.strip("/").split("/")[0] for m in members if m.strip("/") and m.strip("/") != "."}
    top = {m.removeprefix("./") for m in top} - {""}
    if top:
        assert top <= listing, f"/testdir lacks test.tar.gz's {sorted(top - listing)}: ADD did not extract it there"
    else:
        assert listing - {"tmpfile1", "tmpfile2"}, "/testdir holds nothing from test.tar.gz"


@pytest.mark.points(2)
@pytest.mark.hint(zh="多个 CMD 只有最后一个生效；ENV MYPATH /usr/local 配合 WORKDIR $MYPATH 设置默认目录；MAINTAINER 写入作者",
                  en="Of several CMDs only the last counts; ENV MYPATH /usr/local with WORKDIR $MYPATH sets the working directory; MAINTAINER sets the author")
def test_a10_mycentos(docker01, params):
    """mycentos:v1: Author cool, MYPATH=/usr/local, WorkingDir /usr/local, EXPOSE 80, CMD /bin/bash (the last); pwd prints /usr/local."""
    data = _inspect_image(docker01, params.a10_image, "docker build -t mycentos:v1 .")
    cfg = data.get("Config") or {}
    assert data.get("Author") == "cool", f"mycentos:v1's Author is {data.get('Author')!r}, expected cool (MAINTAINER cool)"
    assert "MYPATH=/usr/local" in (cfg.get("Env") or []) and cfg.get("WorkingDir") == "/usr/local", \
        f"mycentos:v1: Env {cfg.get('Env')}, WorkingDir {cfg.get('WorkingDir')!r} (ENV MYPATH /usr/local, WORKDIR $MYPATH)"
    assert cfg.get("ExposedPorts") == {"80/tcp": {}}, f"mycentos:v1 exposes {cfg.get('ExposedPorts')}, expected 80/tcp"
    assert cfg.get("Cmd") == ["/bin/sh", "-c", "/bin/bash"], f"mycentos:v1's Cmd is {cfg.get('Cmd')} (only the last CMD counts)"
    pwd = docker(docker01, "run --rm --pull never %s pwd", params.a10_image)
    assert pwd.stdout.strip() == "/usr/local", f"pwd in mycentos:v1 printed {pwd.stdout.strip()!r}, expected /usr/local"
