"""Checks of the compose lab (catalog docker.md DK35-DK37, others.md C19-C22).

What the notes leave on docker01, found as a trainer would: Compose containers by their labels
(com.docker.compose.service) and the image the notes' files name, whatever directory (project)
or CLI (v1 `docker-compose`, v2 `docker compose`) made them; the containers the notes name
themselves (`redis`, `flask_web`) by those names. Read-only on docker01 (inspect through
templates, `redis-cli get`, `mysql -e SELECT`, `docker run --rm` of the built images); pages are
fetched from the grader's side. C20 (invalid YAML as printed) and C22 (a reference of keys, with
no file or command of its own) leave nothing on a student's host: they are not graded.
"""

import hashlib
import json
import re
from pathlib import Path

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import docker, port_bindings
from labs.compose import state

FILES = Path(__file__).parent / "files"
DK36_PAGE = re.compile(r"^Welcome to Chao Ge Class about docker-compose,this page has been visited (\d+) times$")


def _one(docker01, service, image, what):
    """The newest compose container of ``service`` run from ``image`` (running ones first)."""
    found = state.compose_service(docker01, service, image)
    assert found, f"no container made by Compose for service {service} from image {image} on docker01 ({what})"
    live = [c for c in found if c["State"]["Running"]]
    return (live or found)[-1]


def _sibling(docker01, c, service):
    """The container of ``service`` in the same compose project as ``c``."""
    project = c["Labels"].get(state.PROJECT, "")
    found = state.containers(docker01, project=project, service=service)
    assert found, f"compose project {project} has no container of service {service}"
    live = [x for x in found if x["State"]["Running"]]
    return (live or found)[-1]


def _host_ports(c, port):
    return [b.get("HostPort") for b in port_bindings(c, port)]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- DK35 / C19


@pytest.mark.points(1)
@pytest.mark.hint(zh="安装 docker-compose（pip install -U docker-compose，或下载二进制到 /usr/local/bin/docker-compose 并 chmod +x；注意文件名大小写，下载到的不能是 Not Found 页面）",
                  en="Install docker-compose (pip install -U docker-compose, or the binary in /usr/local/bin/docker-compose with chmod +x; mind the asset name's case: a saved 'Not Found' page is no program)")
def test_dk35_compose_installed(docker01):
    """`docker-compose version` (the notes' command in both courses) answers."""
    res = docker01.run("docker-compose version")
    where = docker01.run("command -v docker-compose").stdout.strip() or "not on PATH"
    assert res.rc == 0, f"`docker-compose version` fails on docker01 ({where}): {(res.stderr or res.stdout).strip()[:200]}"


# --------------------------------------------------------------------------- DK36


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 /chaoge_compose_app 中用课程的 Dockerfile 构建：docker build --no-cache -t chaoge/python_web .",
                  en="Build the course's Dockerfile in /chaoge_compose_app: docker build --no-cache -t chaoge/python_web .")
def test_dk36_image_built(docker01, params):
    """chaoge/python_web: MAINTAINER chaoge, WORKDIR /opt, the course's app.py, flask and redis importable."""
    res = docker(docker01, "image inspect -f %s %s", '{"Author":{{json .Author}},"WorkingDir":{{json .Config.WorkingDir}}}',
                 params.web_image)
    assert res.rc == 0, f"there is no image {params.web_image} on docker01 (docker build -t {params.web_image} .)"
    img = json.loads(res.stdout)
    assert img["Author"] == "chaoge yc_uuu@163.com", f"{params.web_image}'s Author (MAINTAINER) is {img['Author']!r}"
    assert img["WorkingDir"] == "/opt", f"{params.web_image}'s WorkingDir is {img['WorkingDir']!r}, expected /opt"
    app = docker(docker01, "run --rm %s sh -c %s", params.web_image, "python -c 'import flask, redis' && sha256sum /opt/app.py")
    want = _sha((FILES / "chaoge_compose_app" / "app.py").read_bytes())
    assert app.rc == 0 and app.stdout.split()[:1] == [want], \
        f"/opt/app.py in {params.web_image} is not the course's, or flask/redis are missing: " \
        f"{app.stdout.strip()[:100] or app.stderr.strip()[:300]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="先手工运行：docker run -d -p 6379:6379 --name redis redis；docker run -d -p 5000:5000 --link redis:redis --name flask_web chaoge/python_web python app.py",
                  en="First by hand: docker run -d -p 6379:6379 --name redis redis; docker run -d -p 5000:5000 --link redis:redis --name flask_web chaoge/python_web python app.py")
def test_dk36_manual_link(docker01, params):
    """By hand: redis (image redis) publishes 6379 and runs; flask_web (python app.py, linked to it) was run on port 5000."""
    redis = state.container(docker01, params.manual_redis)
    assert redis is not None, f"there is no container named {params.manual_redis} on docker01"
    assert state.is_image(redis, "redis", None), f"{params.manual_redis} runs image {redis['Image']}, expected redis"
    assert redis["State"]["Running"], f"{params.manual_redis} is {redis['State']['Status']}"
    assert _host_ports(redis, "6379/tcp") == [str(params.redis_port)], \
        f"{params.manual_redis} publishes 6379/tcp on {_host_ports(redis, '6379/tcp') or 'no host port'}, expected {params.redis_port}"
    # the notes stop flask_web before `docker-compose up` (port 5000): running or not, it must be there
    web = state.container(docker01, params.manual_web)
    assert web is not None, f"there is no container named {params.manual_web} on docker01"
    links = web["HostConfig"].get("Links") or []
    assert f"/{params.manual_redis}:/{params.manual_web}/redis" in links, f"{params.manual_web} is not linked to redis as redis (links: {links})"
    assert _host_ports(web, "5000/tcp") == [str(params.web_port)], \
        f"{params.manual_web} publishes 5000/tcp on {_host_ports(web, '5000/tcp') or 'no host port'}, expected {params.web_port}"
    assert web["Image"] == params.web_image and web["Cmd"] == ["python", "app.py"], \
        f"{params.manual_web} runs {web['Image']} {web['Cmd']}, expected {params.web_image} python app.py"


@pytest.mark.points(3)
@pytest.mark.hint(zh="在 /chaoge_compose_app 中执行 docker-compose up -d（不是前台 docker-compose up 后 Ctrl+C）；web 发布 5000:5000，redis 不发布端口",
                  en="Run docker-compose up -d in /chaoge_compose_app (not a foreground docker-compose up left with Ctrl+C); web publishes 5000:5000, redis publishes nothing")
def test_dk36_compose_services_up(docker01, params):
    """Compose runs web (chaoge/python_web, python app.py, 5000:5000) and, in the same project, redis."""
    web = _one(docker01, "web", params.web_image, "docker-compose up -d in /chaoge_compose_app")
    project = web["Labels"].get(state.PROJECT)
    assert web["State"]["Running"], f"the compose web of project {project} is {web['State']['Status']}"
    assert web["Cmd"] == ["python", "app.py"], f"the compose web runs {web['Cmd']}, expected python app.py"
    assert _host_ports(web, "5000/tcp") == [str(params.web_port)], \
        f"the compose web publishes 5000/tcp on {_host_ports(web, '5000/tcp') or 'no host port'}, expected {params.web_port}"
    redis = _sibling(docker01, web, "redis")
    assert state.is_image(redis, "redis", None), f"project {project}'s redis runs {redis['Image']}, expected redis"
    assert redis["State"]["Running"], f"project {project}'s redis is {redis['State']['Status']}"
    assert not any((redis["HostConfig"].get("PortBindings") or {}).values()), \
        f"project {project}'s redis publishes {redis['HostConfig'].get('PortBindings')}: the compose file publishes nothing for it"


@pytest.mark.points(3)
@pytest.mark.hint(zh="每次刷新页面计数加一：计数保存在 compose 项目的 redis 中（键 hits）",
                  en="Each visit adds one: the count lives in the compose project's redis (key hits)")
def test_dk36_counter_increments(docker01, params):
    """http://docker01:5000/ counts visits (two visits from the grader: consecutive counts) in the compose project's redis."""
    counts = []
    for _ in range(2):
        res = http_get(f"http://{docker01.address}:{params.web_port}/")
        m = DK36_PAGE.match(res.body.strip()) if res.status == 200 else None
        assert m, f"http://docker01:{params.web_port}/ is not the course's counter page: {res.status or res.error} {res.body.strip()[:200]!r}"
        counts.append(int(m.group(1)))
    assert counts[1] == counts[0] + 1, f"two visits showed the counts {counts}: the second should add one"
    web = _one(docker01, "web", params.web_image, "docker-compose up -d in /chaoge_compose_app")
    redis = _sibling(docker01, web, "redis")
    hits = docker(docker01, "exec %s redis-cli get hits", redis["Id"])
    assert hits.stdout.strip() == str(counts[1]), \
        f"the compose project's redis holds hits={hits.stdout.strip() or hits.stderr.strip()[:200]}, the page said {counts[1]}"


# --------------------------------------------------------------------------- DK37


def _wp(docker01):
    return _one(docker01, "wordpress", "wordpress:latest", "docker-compose up -d in /chaoge_compose_app/wordpress")


def _db(docker01):
    return _sibling(docker01, _wp(docker01), "db")


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 /chaoge_compose_app/wordpress 中 docker-compose up -d：db 用 mysql:8.0，wordpress 用 wordpress:latest 并发布 8000:80，两者 restart: always",
                  en="docker-compose up -d in /chaoge_compose_app/wordpress: db from mysql:8.0, wordpress from wordpress:latest published 8000:80, both restart: always")
def test_dk37_wordpress_services(docker01, params):
    """Compose runs wordpress (wordpress:latest, 8000:80) and db (mysql:8.0) in one project, both restart always."""
    wp = _wp(docker01)
    db = _sibling(docker01, wp, "db")
    for s, c, image in (("wordpress", wp, "wordpress:latest"), ("db", db, "mysql:8.0")):
        assert state.is_image(c, image, None), f"service {s} runs {c['Image']}, expected {image}"
        assert c["State"]["Running"], f"service {s} is {c['State']['Status']}"
        policy = (c["HostConfig"].get("RestartPolicy") or {}).get("Name")
        assert policy == "always", f"service {s}'s restart policy is {policy!r}, expected always"
    assert _host_ports(wp, "80/tcp") == [str(params.wp_port)], \
        f"wordpress publishes 80/tcp on {_host_ports(wp, '80/tcp') or 'no host port'}, expected {params.wp_port}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="db 的 command 要包含 --default_authentication_plugin=mysql_native_password、--character-set-server=utf8mb4、--collation-server=utf8mb4_unicode_ci",
                  en="db's command must hold --default_authentication_plugin=mysql_native_password, --character-set-server=utf8mb4, --collation-server=utf8mb4_unicode_ci")
def test_dk37_db_command(docker01, params):
    """db runs with the three server options of the compose file."""
    db = _db(docker01)
    want = ["--default_authentication_plugin=mysql_native_password", "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci"]
    missing = [o for o in want if o not in (db["Cmd"] or [])]
    assert not missing, f"db's command {db['Cmd']} lacks {missing}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="命名卷 db_data 由 compose 创建为 <项目名>_db_data（wordpress_db_data），挂载到 db 的 /var/lib/mysql",
                  en="The named volume db_data becomes <project>_db_data (wordpress_db_data), mounted at /var/lib/mysql in db")
def test_dk37_db_volume(docker01, params):
    """db mounts the project's named volume db_data at /var/lib/mysql."""
    db = _db(docker01)
    project = db["Labels"].get(state.PROJECT)
    m = next((m for m in db["Mounts"] or [] if m.get("Destination") == "/var/lib/mysql"), None)
    assert m and m.get("Type") == "volume" and m.get("Name") == f"{project}_db_data", \
        f"db's /var/lib/mysql is mounted from {m and (m.get('Type'), m.get('Name') or m.get('Source'))}, expected volume {project}_db_data"


@pytest.mark.points(2)
@pytest.mark.hint(zh="MySQL 初始化需要时间；用 wordpress/wordpress 登录数据库 wordpress，字符集应为 utf8mb4",
                  en="MySQL needs time to initialise; user wordpress must log in to database wordpress, and the charset is utf8mb4")
def test_dk37_database_ready(docker01, params):
    """In db, user wordpress reaches database wordpress and the server's charset is utf8mb4."""
    db = _db(docker01)
    env = state.env_values(docker01, db["Id"], "MYSQL_USER", "MYSQL_DATABASE")
    assert env == {"MYSQL_USER": "wordpress", "MYSQL_DATABASE": "wordpress"}, f"db's MYSQL_USER/MYSQL_DATABASE: {env}"
    # passwords come from the container's own environment: they never appear in the report
    res = docker(docker01, "exec %s sh -c %s", db["Id"],
                 'mysql -u"$MYSQL_USER" -p"$MYSQL_PASSWORD" -Nse "SELECT DATABASE(), @@character_set_server" "$MYSQL_DATABASE"')
    assert res.rc == 0, f"user wordpress cannot reach database wordpress in db: {res.stderr.strip()[:300]}"
    assert res.stdout.split() == ["wordpress", "utf8mb4"], f"database and charset: {res.stdout.strip()!r}, expected wordpress utf8mb4"


@pytest.mark.points(1)
@pytest.mark.hint(zh="wordpress 的环境变量：WORDPRESS_DB_HOST=db:3306，WORDPRESS_DB_USER/WORDPRESS_DB_PASSWORD 与 db 的 MYSQL_USER/MYSQL_PASSWORD 相同",
                  en="wordpress's environment: WORDPRESS_DB_HOST=db:3306, WORDPRESS_DB_USER/PASSWORD equal to db's MYSQL_USER/PASSWORD")
def test_dk37_wordpress_wiring(docker01, params):
    """wordpress points at db:3306 with db's user, and its password equals db's MYSQL_PASSWORD."""
    wp = _wp(docker01)
    db = _sibling(docker01, wp, "db")
    env = state.env_values(docker01, wp["Id"], "WORDPRESS_DB_HOST", "WORDPRESS_DB_USER")
    assert env == {"WORDPRESS_DB_HOST": "db:3306", "WORDPRESS_DB_USER": "wordpress"}, f"wordpress's environment: {env}"
    assert state.same_env(docker01, wp["Id"], "WORDPRESS_DB_PASSWORD", db["Id"], "MYSQL_PASSWORD"), \
        "wordpress's WORDPRESS_DB_PASSWORD is not db's MYSQL_PASSWORD"


@pytest.mark.points(3)
@pytest.mark.hint(zh="浏览器打开 http://docker01:8000/ 应跳转到 WordPress 安装页面，而不是 Error establishing a database connection",
                  en="http://docker01:8000/ must lead to the WordPress installer, not to 'Error establishing a database connection'")
def test_dk37_site_installer(docker01, params):
    """http://docker01:8000/ leads to the WordPress installer (the database is reachable), from the grader."""
    res = http_get(f"http://{docker01.address}:{params.wp_port}/")
    assert "Error establishing a database connection" not in res.body, \
        f"http://docker01:{params.wp_port}/ says: Error establishing a database connection (WordPress cannot log in to db)"
    assert res.status == 200 and "WordPress" in res.body and "install" in res.body, \
        f"http://docker01:{params.wp_port}/ is not the WordPress installer: {res.status or res.error} {res.body.strip()[:200]!r}"


# --------------------------------------------------------------------------- C21


def _ct_web(docker01):
    """composetest's web: the compose container whose image Compose built (<project>-web or <project>_web)."""
    webs = [c for c in state.containers(docker01, service="web")
            if c["Image"] in (f"{c['Labels'].get(state.PROJECT)}-web", f"{c['Labels'].get(state.PROJECT)}_web")]
    assert webs, "no container of a compose service web whose image Compose built (composetest-web or composetest_web): " \
                 "docker-compose up in composetest (build: .) never ran"
    return webs[-1]


@pytest.mark.points(2)
@pytest.mark.hint(zh="在 composetest 目录中 docker-compose up 会用 Dockerfile 构建 web 镜像（WORKDIR /code，ENV FLASK_APP，CMD flask run）",
                  en="docker-compose up in composetest builds web from the Dockerfile (WORKDIR /code, ENV FLASK_APP, CMD flask run)")
def test_c21_compose_image(docker01, params):
    """Compose built composetest's web image: WORKDIR /code, FLASK_APP/FLASK_RUN_HOST, CMD flask run, the course's app.py."""
    web = _ct_web(docker01)
    res = docker(docker01, "image inspect -f %s %s", "{{json .Config}}", web["ImageId"])
    assert res.rc == 0, f"the image of {web['Name'][1:]} ({web['Image']}) is gone"
    cfg = json.loads(res.stdout)
    assert cfg["WorkingDir"] == "/code", f"{web['Image']}'s WorkingDir is {cfg['WorkingDir']!r}, expected /code"
    assert {"FLASK_APP=app.py", "FLASK_RUN_HOST=0.0.0.0"} <= set(cfg["Env"] or []), f"{web['Image']} lacks ENV FLASK_APP app.py / FLASK_RUN_HOST 0.0.0.0"
    assert cfg["Cmd"] == ["flask", "run"], f"{web['Image']}'s CMD is {cfg['Cmd']}, expected [\"flask\", \"run\"]"
    app = docker(docker01, "run --rm %s sha256sum /code/app.py", web["ImageId"])
    assert app.stdout.split()[:1] == [_sha((FILES / "composetest" / "app.py").read_bytes())], \
        f"/code/app.py in {web['Image']} is not the course's: {app.stdout.strip()[:100] or app.stderr.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="composetest 的 docker-compose.yml：web 由 build: . 构建并发布 \"5000:5000\"，redis 使用 \"redis:alpine\"",
                  en="composetest's docker-compose.yml: web built from build: . publishing \"5000:5000\", redis from \"redis:alpine\"")
def test_c21_compose_services(docker01, params):
    """composetest's project: web (built image) publishes 5000:5000, and redis runs redis:alpine (running or stopped)."""
    web = _ct_web(docker01)
    project = web["Labels"].get(state.PROJECT)
    assert _host_ports(web, "5000/tcp") == ["5000"], f"{project}'s web publishes 5000/tcp on {_host_ports(web, '5000/tcp') or 'no host port'}, expected 5000"
    redis = _sibling(docker01, web, "redis")
    assert state.is_image(redis, "redis:alpine", None), f"{project}'s redis runs {redis['Image']}, expected redis:alpine"
