"""Checks of the compose lab (catalog docker.md DK35-DK37, others.md C19-C22).

Containers are found by their compose labels, so a project made by Compose v1 or v2 passes
alike. Read-only on docker01 (inspect through templates, `docker logs`, `redis-cli get`, `mysql
-e SELECT`, `cat` in running containers, and `docker run --rm` of the built images); pages are
fetched from the grader's side, which is what makes the counters count.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

from harness.probes import http_get
from labs.compose import state

FILES = Path(__file__).parent / "files"
DK36_PAGE = re.compile(r"^Welcome to Chao Ge Class about docker-compose,this page has been visited (\d+) times$")


def _services(docker01, project):
    """service -> container of a compose project (the first one if scaled)."""
    out = {}
    for c in state.containers(docker01, project):
        out.setdefault(c["Labels"].get("com.docker.compose.service"), c)
    return out


def _service(docker01, project, service):
    c = _services(docker01, project).get(service)
    assert c is not None, f"project {project} has no container of service {service}"
    return c


def _bindings(c, port):
    return [b.get("HostPort") for b in ((c["HostConfig"].get("PortBindings") or {}).get(port) or [])]


def _ts(rfc3339: str) -> str:
    """Docker's RFC 3339 times with the fraction padded to 9 digits, so they compare as strings."""
    m = re.match(r"^(.*?T[\d:]+)(?:\.(\d+))?(Z|[+-][\d:]+)$", rfc3339)
    return f"{m.group(1)}.{(m.group(2) or '').ljust(9, '0')}{m.group(3)}" if m else rfc3339


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- DK35 / C19


@pytest.mark.points(1)
@pytest.mark.hint(zh="安装 docker-compose（pip 或下载二进制到 /usr/local/bin/docker-compose 并 chmod +x），或安装 compose 插件（docker compose）",
                  en="Install docker-compose (pip, or the binary in /usr/local/bin/docker-compose with chmod +x) or the Compose plugin (docker compose)")
def test_dk35_compose_installed(docker01):
    """A Compose implementation answers: `docker-compose version` or `docker compose version`."""
    v1 = docker01.run("docker-compose version")
    v2 = docker01.run("docker compose version")
    assert v1.rc == 0 or v2.rc == 0, f"neither docker-compose ({v1.stderr.strip()[:100]}) nor docker compose ({v2.stderr.strip()[:100]}) works"


# --------------------------------------------------------------------------- DK36


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 /chaoge_compose_app 中用课程的 Dockerfile 构建：docker build --no-cache -t chaoge/python_web .",
                  en="Build the course's Dockerfile in /chaoge_compose_app: docker build --no-cache -t chaoge/python_web .")
def test_dk36_image_built(docker01, params):
    """chaoge/python_web: MAINTAINER chaoge, WORKDIR /opt, the course's app.py, flask and redis importable."""
    res = docker01.run("docker image inspect -f %s %s", '{"Author":{{json .Author}},"WorkingDir":{{json .Config.WorkingDir}}}',
                       params.web_image)
    assert res.rc == 0, f"image {params.web_image} does not exist on docker01"
    img = json.loads(res.stdout)
    assert img["Author"] == "chaoge yc_uuu@163.com", f"Author (MAINTAINER) is {img['Author']!r}"
    assert img["WorkingDir"] == "/opt", f"WorkingDir is {img['WorkingDir']!r}"
    app = docker01.run("docker run --rm %s sh -c %s", params.web_image,
                       "python -c 'import flask, redis' && sha256sum /opt/app.py")
    want = _sha((FILES / "chaoge_compose_app" / "app.py").read_bytes())
    assert app.rc == 0 and app.stdout.split()[:1] == [want], \
        f"/opt/app.py is not the course's, or flask/redis are missing: {app.stdout.strip()[:100] or app.stderr.strip()[:300]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="先手工运行：docker run -d -p 6379:6379 --name redis redis；docker run -d -p 5000:5000 --link redis:redis --name flask_web chaoge/python_web python app.py",
                  en="First by hand: docker run -d -p 6379:6379 --name redis redis; docker run -d -p 5000:5000 --link redis:redis --name flask_web chaoge/python_web python app.py")
def test_dk36_manual_link(docker01, params):
    """By hand: redis publishes 6379 and runs; flask_web (python app.py) is linked to it and published on 5000."""
    redis = state.container(docker01, params.manual_redis)
    assert redis is not None, f"there is no container {params.manual_redis}"
    assert redis["State"]["Running"], f"{params.manual_redis} is {redis['State']['Status']}"
    assert _bindings(redis, "6379/tcp") == [str(params.redis_port)], f"{params.manual_redis} publishes 6379 on {_bindings(redis, '6379/tcp')}"
    web = state.container(docker01, params.manual_web)
    assert web is not None, f"there is no container {params.manual_web}"
    links = web["HostConfig"].get("Links") or []
    assert f"/{params.manual_redis}:/{params.manual_web}/redis" in links, f"{params.manual_web}'s links: {links}"
    assert _bindings(web, "5000/tcp") == [str(params.web_port)], f"{params.manual_web} publishes 5000 on {_bindings(web, '5000/tcp')}"
    assert web["Image"] == params.web_image and web["Cmd"] == ["python", "app.py"], f"{params.manual_web} runs {web['Image']} {web['Cmd']}"


@pytest.mark.points(3)
@pytest.mark.hint(zh="在 /chaoge_compose_app 中执行 docker-compose up -d；web 发布 5000:5000，redis 不发布端口",
                  en="Run docker-compose up -d in /chaoge_compose_app; web publishes 5000:5000, redis publishes nothing")
def test_dk36_compose_services_up(docker01, params):
    """Project chaoge_compose_app: web (chaoge/python_web, python app.py, 5000:5000) and redis run."""
    svcs = _services(docker01, params.project)
    assert set(svcs) >= {"web", "redis"}, f"project {params.project} has services {sorted(svcs)}"
    down = {s: c["State"]["Status"] for s, c in svcs.items() if s in ("web", "redis") and not c["State"]["Running"]}
    assert not down, f"not running: {down}"
    web, redis = svcs["web"], svcs["redis"]
    assert web["Image"] == params.web_image and web["Cmd"] == ["python", "app.py"], f"web runs {web['Image']} {web['Cmd']}"
    assert _bindings(web, "5000/tcp") == [str(params.web_port)], f"web publishes 5000 on {_bindings(web, '5000/tcp')}"
    assert not any(redis["HostConfig"].get("PortBindings") or {}), f"redis publishes {redis['HostConfig'].get('PortBindings')}"


@pytest.mark.points(3)
@pytest.mark.hint(zh="每次刷新页面计数加一：计数保存在 compose 的 redis 中（键 hits）",
                  en="Each visit adds one: the count lives in the compose project's redis (key hits)")
def test_dk36_counter_increments(docker01, params):
    """Two visits from the grader show consecutive counts, and the compose redis holds the last one."""
    counts = []
    for _ in range(2):
        res = http_get(f"http://{docker01.address}:{params.web_port}/")
        m = DK36_PAGE.match(res.body.strip()) if res.status == 200 else None
        assert m, f"the page is not the counter: {res} {res.body.strip()[:200]!r}"
        counts.append(int(m.group(1)))
    assert counts[1] == counts[0] + 1, f"counts {counts}: the second visit should add one"
    redis = _service(docker01, params.project, "redis")
    hits = docker01.run("docker exec %s redis-cli get hits", redis["Id"])
    assert hits.stdout.strip() == str(counts[1]), f"the compose redis says hits={hits.stdout.strip() or hits.stderr.strip()}, the page said {counts[1]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="在项目目录中执行 docker-compose ps（v2：docker compose ps），两个服务都应是 Up",
                  en="docker-compose ps (v2: docker compose ps) in the project directory lists both services Up")
def test_dk36_compose_ps(docker01, params):
    """`docker-compose ps` (or `docker compose ps`, whichever made the project) lists web and redis Up."""
    svcs = _services(docker01, params.project)
    assert svcs, f"project {params.project} has no containers"
    made_by = next(iter(svcs.values()))["Labels"].get("com.docker.compose.version", "")
    cli = "docker-compose" if made_by.startswith("1.") else "docker compose"
    res = docker01.run(f"cd %s && {cli} ps", params.app_dir)
    assert res.rc == 0, f"{cli} ps failed: {res.stderr.strip()[:300]}"
    for s in ("web", "redis"):
        name = svcs[s]["Name"].lstrip("/") if s in svcs else f"{params.project}_{s}_1"
        line = next((line for line in res.stdout.splitlines() if name in line), "")
        assert line and "Up" in line.split(name, 1)[1], f"{cli} ps shows {s} as {line.strip() or 'missing'!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker-compose logs web 显示每次访问页面的请求（\"GET / HTTP/1.1\" 200）",
                  en="docker-compose logs web shows each page visit (\"GET / HTTP/1.1\" 200)")
def test_dk36_compose_logs(docker01, params):
    """The compose web's logs show page visits ("GET / HTTP/1.1" 200)."""
    web = _service(docker01, params.project, "web")
    res = docker01.run("docker logs --tail 200 %s", web["Id"])
    assert '"GET / HTTP/1.1" 200' in res.stdout + res.stderr, "web's logs show no page visit; open http://docker01:5000/"


# --------------------------------------------------------------------------- DK37


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 /chaoge_compose_app/wordpress 中 docker-compose up -d：db 用 mysql:8.0，wordpress 用 wordpress:latest 并发布 8000:80，两者 restart: always",
                  en="docker-compose up -d in /chaoge_compose_app/wordpress: db from mysql:8.0, wordpress from wordpress:latest published 8000:80, both restart: always")
def test_dk37_wordpress_services(docker01, params):
    """Project wordpress: db (mysql:8.0) and wordpress (wordpress:latest, 8000:80) run with restart always."""
    svcs = _services(docker01, params.wp_project)
    for s, image in (("db", "mysql:8.0"), ("wordpress", "wordpress:latest")):
        c = svcs.get(s)
        assert c is not None, f"project {params.wp_project} has no service {s} (services: {sorted(svcs)})"
        assert c["State"]["Running"], f"{s} is {c['State']['Status']}"
        assert c["Image"] == image, f"{s} runs {c['Image']}, expected {image}"
        assert (c["HostConfig"].get("RestartPolicy") or {}).get("Name") == "always", f"{s} restart policy {c['HostConfig'].get('RestartPolicy')}"
    assert _bindings(svcs["wordpress"], "80/tcp") == [str(params.wp_port)], f"wordpress publishes 80 on {_bindings(svcs['wordpress'], '80/tcp')}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="db 的 command 要包含 --default_authentication_plugin=mysql_native_password、--character-set-server=utf8mb4、--collation-server=utf8mb4_unicode_ci",
                  en="db's command must hold --default_authentication_plugin=mysql_native_password, --character-set-server=utf8mb4, --collation-server=utf8mb4_unicode_ci")
def test_dk37_db_command(docker01, params):
    """db runs with the three server options of the compose file."""
    db = _service(docker01, params.wp_project, "db")
    want = ["--default_authentication_plugin=mysql_native_password", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci"]
    missing = [o for o in want if o not in (db["Cmd"] or [])]
    assert not missing, f"db's command {db['Cmd']} lacks {missing}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="命名卷 db_data 由 compose 创建为 wordpress_db_data，挂载到 db 的 /var/lib/mysql",
                  en="The named volume db_data becomes wordpress_db_data, mounted at /var/lib/mysql in db")
def test_dk37_db_volume(docker01, params):
    """Volume wordpress_db_data is mounted at /var/lib/mysql in db."""
    db = _service(docker01, params.wp_project, "db")
    m = next((m for m in db["Mounts"] if m["Destination"] == "/var/lib/mysql"), None)
    assert m and m["Type"] == "volume" and m.get("Name") == f"{params.wp_project}_db_data", f"/var/lib/mysql is mounted from {m}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="MySQL 初始化需要时间；用 wordpress/wordpress 登录数据库 wordpress，字符集应为 utf8mb4",
                  en="MySQL needs time to initialise; user wordpress must log in to database wordpress, and the charset is utf8mb4")
def test_dk37_database_ready(docker01, params):
    """In db, user wordpress reaches database wordpress and the server's charset is utf8mb4."""
    db = _service(docker01, params.wp_project, "db")
    # passwords come from the container's own environment: they never appear in the report
    res = docker01.run("docker exec %s sh -c %s", db["Id"],
                       'mysql -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" -Nse "SELECT DATABASE(), @@character_set_server" "$MYSQL_DATABASE"')
    assert res.rc == 0, f"user $MYSQL_USER cannot reach its database: {res.stderr.strip()[:300]}"
    assert res.stdout.split() == ["wordpress", "utf8mb4"], f"database and charset: {res.stdout.strip()!r}"
    env = state.env_values(docker01, db["Id"], "MYSQL_USER", "MYSQL_DATABASE")
    assert env == {"MYSQL_USER": "wordpress", "MYSQL_DATABASE": "wordpress"}, f"db's MYSQL_USER/MYSQL_DATABASE: {env}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="wordpress 的环境变量：WORDPRESS_DB_HOST=db:3306，WORDPRESS_DB_USER/WORDPRESS_DB_PASSWORD 与 db 的 MYSQL_USER/MYSQL_PASSWORD 相同",
                  en="wordpress's environment: WORDPRESS_DB_HOST=db:3306, WORDPRESS_DB_USER/PASSWORD equal to db's MYSQL_USER/PASSWORD")
def test_dk37_wordpress_wiring(docker01, params):
    """wordpress points at db:3306 with db's user, and its password equals db's MYSQL_PASSWORD."""
    wp = _service(docker01, params.wp_project, "wordpress")
    db = _service(docker01, params.wp_project, "db")
    env = state.env_values(docker01, wp["Id"], "WORDPRESS_DB_HOST", "WORDPRESS_DB_USER")
    assert env == {"WORDPRESS_DB_HOST": "db:3306", "WORDPRESS_DB_USER": "wordpress"}, f"wordpress's environment: {env}"
    # compare the passwords on docker01 without printing them
    tmpl = "{{range .Config.Env}}{{println .}}{{end}}"
    same = docker01.run('a=$(docker inspect -f %s %s | sed -n "s/^WORDPRESS_DB_PASSWORD=//p"); '
                        'b=$(docker inspect -f %s %s | sed -n "s/^MYSQL_PASSWORD=//p"); '
                        '[ -n "$a" ] && [ "$a" = "$b" ] && echo same || echo different', tmpl, wp["Id"], tmpl, db["Id"])
    assert same.stdout.strip() == "same", "WORDPRESS_DB_PASSWORD is not db's MYSQL_PASSWORD"


@pytest.mark.points(3)
@pytest.mark.hint(zh="浏览器打开 http://docker01:8000/ 应跳转到 WordPress 安装页面，而不是 Error establishing a database connection",
                  en="http://docker01:8000/ must lead to the WordPress installer, not to 'Error establishing a database connection'")
def test_dk37_site_installer(docker01, params):
    """http://docker01:8000/ redirects to the WordPress installer (the database is reachable), from the grader."""
    res = http_get(f"http://{docker01.address}:{params.wp_port}/")
    assert "Error establishing a database connection" not in res.body, "WordPress cannot reach its database"
    assert res.status == 200 and "WordPress" in res.body and "install" in res.body, f"{res} {res.body.strip()[:200]!r}"


# --------------------------------------------------------------------------- C21


def _ct_image(docker01, params):
    """composetest's web image: composetest-web (Compose v2) or composetest_web (v1)."""
    for name in (f"{params.ct_project}-web", f"{params.ct_project}_web"):
        res = docker01.run("docker image inspect -f %s %s", "{{json .Config}}", name)
        if res.rc == 0:
            return name, json.loads(res.stdout)
    return None, None


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 composetest 目录中 docker compose up -d 会用 Dockerfile 构建 web 镜像（WORKDIR /code，ENV FLASK_APP，CMD flask run）",
                  en="docker compose up -d in composetest builds web from the Dockerfile (WORKDIR /code, ENV FLASK_APP, CMD flask run)")
def test_c21_compose_image(docker01, params):
    """Compose built composetest's web image: WORKDIR /code, FLASK_APP/FLASK_RUN_HOST, CMD flask run, the course's app.py."""
    name, cfg = _ct_image(docker01, params)
    assert name, f"no image {params.ct_project}-web or {params.ct_project}_web: compose never built composetest"
    assert cfg["WorkingDir"] == "/code", f"WorkingDir is {cfg['WorkingDir']!r}"
    assert {"FLASK_APP=app.py", "FLASK_RUN_HOST=0.0.0.0"} <= set(cfg["Env"] or []), "FLASK_APP/FLASK_RUN_HOST are not set"
    assert cfg["Cmd"] == ["flask", "run"], f"Cmd is {cfg['Cmd']}"
    app = docker01.run("docker run --rm %s sha256sum /code/app.py", name)
    assert app.stdout.split()[:1] == [_sha((FILES / "composetest" / "app.py").read_bytes())], \
        f"/code/app.py is not the course's: {app.stdout.strip()[:100] or app.stderr.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker compose down 会删除项目的容器和网络 composetest_default（镜像保留）；stop 只会停止容器",
                  en="docker compose down removes the project's containers and its network composetest_default (the image stays); stop only stops them")
def test_c21_compose_down(docker01, params):
    """composetest was built and run, then taken down: no container and no composetest_default network remain."""
    name, _ = _ct_image(docker01, params)
    assert name, "composetest was never built with compose, so there is nothing to take down"
    left = [c["Name"].lstrip("/") for c in state.containers(docker01, params.ct_project)]
    assert not left, f"containers of composetest remain: {left}"
    net = docker01.run("docker network inspect %s", f"{params.ct_project}_default")
    assert net.rc != 0, f"network {params.ct_project}_default remains"


# --------------------------------------------------------------------------- C22


def _web(docker01, params):
    return _service(docker01, params.keys_project, "web")


@pytest.mark.points(1)
@pytest.mark.hint(zh="container_name: my-web-container 固定容器名；command 覆盖镜像的默认命令",
                  en="container_name: my-web-container fixes the name; command overrides the image's default command")
def test_c22_compose_container_name_and_command(docker01, params):
    """web is named my-web-container; db runs the command given in the file."""
    web = _web(docker01, params)
    assert web["Name"] == "/my-web-container", f"web is named {web['Name']}"
    db = _service(docker01, params.keys_project, "db")
    want = ["sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]
    assert db["Cmd"] == want, f"db's command is {db['Cmd']}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="depends_on 决定启动顺序：先启动 db 和 redis，再启动 web",
                  en="depends_on orders the start: db and redis start before web")
def test_c22_compose_depends_on(docker01, params):
    """web started after db and redis (depends_on)."""
    svcs = _services(docker01, params.keys_project)
    assert {"web", "db", "redis"} <= set(svcs), f"services: {sorted(svcs)}"
    started = {s: _ts(svcs[s]["State"]["StartedAt"]) for s in ("web", "db", "redis")}
    assert started["web"] >= started["db"] and started["web"] >= started["redis"], f"start times: {started}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="cap_drop: - SYS_PTRACE 去掉容器的 ptrace 权限", en="cap_drop: - SYS_PTRACE removes the ptrace capability")
def test_c22_compose_cap_drop(docker01, params):
    """web drops CAP_SYS_PTRACE: in HostConfig, and bit 19 of its CapEff is 0."""
    web = _web(docker01, params)
    dropped = [c.upper().removeprefix("CAP_") for c in web["HostConfig"].get("CapDrop") or []]  # v2 writes CAP_SYS_PTRACE
    assert dropped == ["SYS_PTRACE"], f"CapDrop is {web['HostConfig'].get('CapDrop')}"
    res = docker01.run("docker exec %s sh -c %s", web["Id"], "grep CapEff /proc/1/status")
    assert res.rc == 0 and res.stdout.split()[1:], f"cannot read web's capabilities: {res.stderr.strip()[:200]}"
    assert not int(res.stdout.split()[1], 16) & (1 << 19), f"CAP_SYS_PTRACE is still effective ({res.stdout.strip()})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="environment 和 env_file（.env）里的变量都会进入容器环境；布尔值要加引号：SHOW: 'true'",
                  en="Variables from environment and from env_file (.env) reach the container; quote booleans: SHOW: 'true'")
def test_c22_compose_environment(docker01, params):
    """web's environment has RACK_ENV=development, SHOW=true (environment) and LAB_ENV_FILE=loaded (env_file)."""
    env = state.env_values(docker01, _web(docker01, params)["Id"], "RACK_ENV", "SHOW", "LAB_ENV_FILE")
    assert env == {"RACK_ENV": "development", "SHOW": "true", "LAB_ENV_FILE": "loaded"}, f"environment: {env}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="expose 只把端口暴露给关联的服务，不发布到宿主机（那是 ports 的作用）",
                  en="expose opens ports to linked services only and publishes nothing on the host (that is ports)")
def test_c22_compose_expose(docker01, params):
    """web exposes 3000/tcp and 8000/tcp without publishing any port."""
    web = _web(docker01, params)
    exposed = {p if "/" in p else f"{p}/tcp" for p in web["ExposedPorts"] or {}}  # v2 writes "3000"
    assert {"3000/tcp", "8000/tcp"} <= exposed, f"exposed ports: {sorted(exposed)}"
    published = {p: b for p, b in (web["HostConfig"].get("PortBindings") or {}).items() if b}
    assert not published, f"web publishes {published}: expose must not publish"


@pytest.mark.points(1)
@pytest.mark.hint(zh="extra_hosts 会写入容器的 /etc/hosts（相当于 docker run --add-host）",
                  en="extra_hosts lands in the container's /etc/hosts (like docker run --add-host)")
def test_c22_compose_extra_hosts(docker01, params):
    """web's /etc/hosts maps somehost to 162.242.195.82 and otherhost to 50.31.209.229."""
    res = docker01.run("docker exec %s cat /etc/hosts", _web(docker01, params)["Id"])
    entries = {tuple(line.split()[:2]) for line in res.stdout.splitlines() if line.strip() and not line.startswith("#")}
    missing = {("162.242.195.82", "somehost"), ("50.31.209.229", "otherhost")} - entries
    assert not missing, f"/etc/hosts lacks {sorted(missing)}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="dns 和 dns_search 设置容器的 DNS 服务器和搜索域（在 compose 网络里 resolv.conf 显示 127.0.0.11，由它转发）",
                  en="dns and dns_search set the container's DNS servers and search domains (on a compose network resolv.conf shows 127.0.0.11, which forwards)")
def test_c22_compose_dns(docker01, params):
    """web: DNS servers 8.8.8.8 and 9.9.9.9, search domains dc1/dc2.example.com (HostConfig and resolv.conf)."""
    web = _web(docker01, params)
    assert web["HostConfig"].get("Dns") == ["8.8.8.8", "9.9.9.9"], f"Dns is {web['HostConfig'].get('Dns')}"
    assert web["HostConfig"].get("DnsSearch") == ["dc1.example.com", "dc2.example.com"], f"DnsSearch is {web['HostConfig'].get('DnsSearch')}"
    res = docker01.run("docker exec %s cat /etc/resolv.conf", web["Id"])
    assert re.search(r"^search dc1\.example\.com dc2\.example\.com\s*$", res.stdout, re.M), f"resolv.conf: {res.stdout.strip()}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="healthcheck：test、interval 1m30s、timeout 10s、retries 3、start_period 40s",
                  en="healthcheck: test, interval 1m30s, timeout 10s, retries 3, start_period 40s")
def test_c22_compose_healthcheck(docker01, params):
    """web's healthcheck is curl -f http://localhost every 90s, timeout 10s, 3 retries, start period 40s."""
    hc = _web(docker01, params)["Healthcheck"] or {}
    want = {"Test": ["CMD", "curl", "-f", "http://localhost"], "Interval": 90_000_000_000, "Timeout": 10_000_000_000,
            "Retries": 3, "StartPeriod": 40_000_000_000}
    got = {k: hc.get(k) for k in want}
    assert got == want, f"healthcheck is {hc}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="logging 用 json-file 驱动，max-size 200k、max-file 10；restart: always",
                  en="logging: json-file driver with max-size 200k and max-file 10; restart: always")
def test_c22_compose_logging_and_restart(docker01, params):
    """web logs with json-file (max-size 200k, max-file 10) and restarts always."""
    hc = _web(docker01, params)["HostConfig"]
    assert hc.get("LogConfig") == {"Type": "json-file", "Config": {"max-size": "200k", "max-file": "10"}}, f"LogConfig is {hc.get('LogConfig')}"
    assert (hc.get("RestartPolicy") or {}).get("Name") == "always", f"RestartPolicy is {hc.get('RestartPolicy')}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="stop_signal: SIGUSR1，stop_grace_period: 1s（默认等待 10 秒再 SIGKILL）",
                  en="stop_signal: SIGUSR1 and stop_grace_period: 1s (the default wait before SIGKILL is 10 s)")
def test_c22_compose_stop_settings(docker01, params):
    """web stops with SIGUSR1 and a 1 s grace period."""
    web = _web(docker01, params)
    assert web["StopSignal"] == "SIGUSR1", f"StopSignal is {web['StopSignal']!r}"
    # Compose v2 stores the grace period in the container; v1 only applies it when it stops one
    if not web["Labels"].get("com.docker.compose.version", "").startswith("1."):
        assert web["StopTimeout"] == 1, f"StopTimeout is {web['StopTimeout']}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="sysctls 设置容器内核参数，ulimits 设置资源限制，tmpfs 挂载内存文件系统",
                  en="sysctls set the container's kernel parameters, ulimits its resource limits, tmpfs mounts memory file systems")
def test_c22_compose_kernel_settings(docker01, params):
    """web: somaxconn 1024 and tcp_syncookies 0, nproc 65535, nofile 10000/20000, tmpfs on /run and /tmp."""
    web = _web(docker01, params)
    res = docker01.run("docker exec %s sh -c %s", web["Id"],
                       "cat /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/tcp_syncookies; "
                       "awk '/^Max open files/ {print $4, $5} /^Max processes/ {print $3, $4}' /proc/1/limits; "
                       "awk '$3 == \"tmpfs\" {print $2}' /proc/mounts")
    lines = res.stdout.split()
    assert lines[:6] == ["1024", "0", "65535", "65535", "10000", "20000"], \
        f"somaxconn, tcp_syncookies, nproc soft/hard, nofile soft/hard: {lines[:6]} ({res.stderr.strip()[:200]})"
    assert {"/run", "/tmp"} <= set(lines[6:]), f"tmpfs mounts: {lines[6:]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="networks 下的 aliases 让同一网络的其他容器用别名访问该服务",
                  en="aliases under networks let other containers on that network reach the service by the alias")
def test_c22_compose_network_aliases(docker01, params):
    """web is on c22keys_some-network as alias1 and on c22keys_other-network as alias2."""
    nets = _web(docker01, params)["Networks"] or {}
    for net, alias in (("some-network", "alias1"), ("other-network", "alias2")):
        n = nets.get(f"{params.keys_project}_{net}")
        assert n is not None, f"web is not on {params.keys_project}_{net} (networks: {sorted(nets)})"
        assert alias in (n.get("Aliases") or []) + (n.get("DNSNames") or []), f"{net} aliases: {n.get('Aliases')}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="volumes 的 HOST:CONTAINER 绑定挂载；宿主机路径不存在时 Docker 会创建一个目录（即使名字像文件）",
                  en="HOST:CONTAINER volumes are bind mounts; a missing host path is created as a directory (even one named like a file)")
def test_c22_compose_volumes(docker01, params):
    """db binds /localhost/postgres.sock and /localhost/data; Docker created both host paths as directories."""
    db = _service(docker01, params.keys_project, "db")
    binds = {m["Source"]: m["Destination"] for m in db["Mounts"] if m["Type"] == "bind"}
    want = {"/localhost/postgres.sock": "/var/run/postgres/postgres.sock", "/localhost/data": "/var/lib/postgresql/data"}
    assert all(binds.get(k) == v for k, v in want.items()), f"db's bind mounts: {binds}"
    res = docker01.run("test -d /localhost/postgres.sock && test -d /localhost/data")
    assert res.rc == 0, "the host paths are not directories"
