"""Checks of the volumes family (catalog DK26, DK27, B08, C11, C24, C25).

Read-only on docker01: `docker inspect`/`docker ps`, `docker volume inspect`, and reading files on
the host (the bound directories, the volumes under /var/lib/docker/volumes, the backup tar);
pages are fetched from the grader. Containers are found by what they mount and run, or by the
names the notes themselves type (cc_web, web, web02, dbdata, db1, db2, dbdata2, nginx-web).
"""

import json
import re

import pytest

from harness.hosts.probes import http_get
from labs.common.docker import all_containers, command_line, container_or_none, docker, named


def _mount(c, destination):
    """The container's mount on ``destination``, or a FAIL naming what it has."""
    found = [m for m in c.get("Mounts") or [] if m.get("Destination", "").rstrip("/") == destination.rstrip("/")]
    assert found, f"{c['Name'][1:]} has no mount on {destination} (it has: {[m.get('Destination') for m in c.get('Mounts') or []] or 'none'})"
    return found[0]


def _mount_or_none(c, destination):
    found = [m for m in c.get("Mounts") or [] if m.get("Destination", "").rstrip("/") == destination.rstrip("/")]
    return found[0] if found else None


def _cmd(c):
    """The container's command line as one string (entrypoint + cmd)."""
    return " ".join(command_line(c))


def _volumes_from(c):
    """Container names in --volumes-from (without a :ro/:rw suffix)."""
    return [v.split(":")[0] for v in (c["HostConfig"].get("VolumesFrom") or [])]


def _files_in(host, path):
    """Relative paths under ``path`` on the host (a volume's _data, a bound directory)."""
    res = host.run("find %s -mindepth 1 -printf '%%P\\n'", path)
    return set(res.stdout.split("\n")) - {""} if res.rc == 0 else None


# --------------------------------------------------------------------------- DK26


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -P --name cc_web -v /chaoge_web:/webapp training/webapp：宿主机目录挂载进容器（默认读写）",
                  en="docker run -d -P --name cc_web -v /chaoge_web:/webapp training/webapp binds the host directory read-write")
def test_dk26_rw_bind(docker01, params):
    """cc_web runs training/webapp and binds /chaoge_web on /webapp read-write; /chaoge_web exists on the host."""
    c = named(docker01, "cc_web", f"docker run -d -P --name cc_web -v {params.bind_source}:{params.bind_target} training/webapp")
    m = _mount(c, params.bind_target)
    assert (m["Type"], m["Source"].rstrip("/"), m["RW"]) == ("bind", params.bind_source, True), \
        f"cc_web's {params.bind_target} is {m['Type']} from {m['Source']} (RW {m['RW']}), not a read-write bind of {params.bind_source}"
    assert c["State"]["Running"], f"cc_web is {c['State']['Status']}"
    assert docker01.run("test -d %s", params.bind_source).rc == 0, f"{params.bind_source} is not a directory on {docker01.name}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-v /chaoge_web:/webapp:ro 只读挂载：docker inspect web 的 Mounts 显示 \"Mode\": \"ro\", \"RW\": false",
                  en="-v /chaoge_web:/webapp:ro mounts read-only: docker inspect web shows \"Mode\": \"ro\", \"RW\": false")
def test_dk26_ro_bind(docker01, params):
    """web runs and binds /chaoge_web on /webapp read-only (Mode ro, RW false)."""
    c = named(docker01, "web", f"docker run -d -P --name web -v {params.bind_source}:{params.bind_target}:ro training/webapp python app.py")
    m = _mount(c, params.bind_target)
    assert (m["Type"], m["Source"].rstrip("/")) == ("bind", params.bind_source), \
        f"web's {params.bind_target} is {m['Type']} from {m['Source']}, not a bind of {params.bind_source}"
    assert m["RW"] is False, f"web's {params.bind_target} is writable (Mode {m.get('Mode')!r}, RW {m['RW']}): the :ro is missing"
    assert c["State"]["Running"], f"web is {c['State']['Status']}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-v /webapp 只写容器内路径，得到一个匿名卷，数据在 /var/lib/docker/volumes/<ID>/_data",
                  en="-v /webapp (container path only) creates an anonymous volume stored in /var/lib/docker/volumes/<ID>/_data")
def test_dk26_anonymous_volume(docker01, params):
    """web02 has an anonymous local volume (64 hex name) on /webapp, stored under /var/lib/docker/volumes/<name>/_data."""
    c = named(docker01, "web02", f"docker run -d -P --name web02 -v {params.bind_target} training/webapp python app.py")
    m = _mount(c, params.bind_target)
    assert m["Type"] == "volume" and m.get("Driver") == "local" and m["RW"], \
        f"web02's {params.bind_target} is {m['Type']} (driver {m.get('Driver')}, RW {m['RW']}), not a local volume"
    assert re.fullmatch(r"[0-9a-f]{64}", m.get("Name") or ""), f"web02's volume {m.get('Name')!r} is a named volume, not an anonymous one"
    assert m["Source"] == f"/var/lib/docker/volumes/{m['Name']}/_data", f"web02's volume lives in {m['Source']}"
    assert docker(docker01, "volume inspect %s", m["Name"]).rc == 0, f"docker volume inspect {m['Name']} fails"


# --------------------------------------------------------------------------- DK27, B08


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker run -d --volumes-from dbdata --name db1 training/postgres：db1、db2 挂载 dbdata 的同一个数据卷",
                  en="docker run -d --volumes-from dbdata --name db1 training/postgres: db1 and db2 mount dbdata's own volume")
def test_dk27_volumes_from(docker01, params):
    """dbdata, db1 and db2 run; db1 and db2 use --volumes-from dbdata and mount the very same /dbdata volume."""
    dbdata = named(docker01, "dbdata", f"docker run -d -v {params.data_path} --name dbdata training/postgres")
    own = _mount(dbdata, params.data_path)
    assert own["Type"] == "volume", f"dbdata's {params.data_path} is a {own['Type']}, not a volume"
    for name in ("dbdata", "db1", "db2"):
        c = dbdata if name == "dbdata" else named(docker01, name, f"docker run -d --volumes-from dbdata --name {name} training/postgres")
        assert c["State"]["Running"], f"{name} is {c['State']['Status']}"
        if name == "dbdata":
            continue
        assert "dbdata" in _volumes_from(c), f"{name} was not run with --volumes-from dbdata (VolumesFrom {c['HostConfig'].get('VolumesFrom')})"
        m = _mount(c, params.data_path)
        assert m.get("Name") == own.get("Name"), f"{name}'s {params.data_path} is volume {m.get('Name')}, not dbdata's {own.get('Name')}"


def _backups(host, params):
    """Containers that ran the notes' backup (`tar c... /backup/...`) with a /backup bind: [(container, tar path on host)]."""
    out = []
    for c in all_containers(host, include_stopped=True):
        cmd = _cmd(c)
        b = _mount_or_none(c, "/backup")
        if not b or b["Type"] != "bind" or not re.search(r"\btar\s+-?c", cmd):
            continue
        m = re.search(r"/backup/(\S+\.tar)\b", cmd)
        if m:
            out.append((c, f"{b['Source'].rstrip('/')}/{m.group(1)}"))
    return out


@pytest.mark.points(3)
@pytest.mark.hint(zh="在家目录执行 docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata，当前目录下得到 backup.tar",
                  en="From your home directory: docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata leaves backup.tar in the current directory")
def test_b08_backup(docker01, params):
    """A container with --volumes-from dbdata tarred /dbdata into the bound directory; that tar is on the host and holds dbdata/."""
    dbdata = named(docker01, "dbdata", "the data-volume container the backup reads")
    vol = (_mount_or_none(dbdata, params.data_path) or {}).get("Name")
    runs = _backups(docker01, params)
    assert runs, (f"no container on {docker01.name} ran `tar cvf /backup/backup.tar {params.data_path}` with a "
                  f"-v $(pwd):/backup bind")
    problems = []
    for c, path in reversed(runs):
        m = _mount_or_none(c, params.data_path)
        if not m or m.get("Name") != vol:
            problems.append(f"{c['Name'][1:]} did not mount dbdata's {params.data_path} (--volumes-from dbdata missing)")
            continue
        if c["State"]["Status"] != "exited" or c["State"]["ExitCode"] != 0:
            problems.append(f"{c['Name'][1:]}'s tar ended {c['State']['Status']} with exit code {c['State']['ExitCode']}")
            continue
        listing = docker01.run("tar -tf %s", path)
        if listing.rc != 0:
            problems.append(f"{path} (written by {c['Name'][1:]}) is not a readable tar: {listing.stderr.strip()[:150] or 'missing'}")
            continue
        names = listing.stdout.split()
        if "dbdata/" not in names:
            problems.append(f"{path} holds no dbdata/ directory (it lists {names[:8]})")
            continue
        return
    assert False, "no usable backup: " + "; ".join(problems)


@pytest.mark.points(4)
@pytest.mark.hint(zh="先 docker run -v /dbdata --name dbdata2 ubuntu /bin/bash 建一个空卷，再 docker run --volumes-from dbdata2 -v $(pwd):/backup busybox tar xvf /backup/backup.tar 恢复",
                  en="First docker run -v /dbdata --name dbdata2 ubuntu /bin/bash (an empty volume), then docker run --volumes-from dbdata2 -v $(pwd):/backup busybox tar xvf /backup/backup.tar")
def test_b08_restored(docker01, params):
    """dbdata2 has its own /dbdata volume; a tar x of the backup ran into that very volume, and every file of the backup is in it."""
    c = named(docker01, "dbdata2", f"docker run -v {params.data_path} --name dbdata2 ubuntu /bin/bash")
    own = _mount(c, params.data_path)
    dbdata = container_or_none(docker01, "dbdata")
    theirs = (_mount_or_none(dbdata, params.data_path) or {}).get("Name") if dbdata else None
    assert own["Type"] == "volume" and own.get("Name") != theirs, "dbdata2 must have its own /dbdata volume, not dbdata's"
    restores = []
    for r in all_containers(docker01, include_stopped=True):
        m, b = _mount_or_none(r, params.data_path), _mount_or_none(r, "/backup")
        if m and b and m.get("Name") == own.get("Name") and re.search(r"\btar\s+-?x", _cmd(r)) and r["Id"] != c["Id"]:
            restores.append(r)
    assert restores, (f"no container untarred the backup into dbdata2's {params.data_path} volume "
                      f"(docker run --volumes-from dbdata2 -v $(pwd):/backup busybox tar xvf /backup/backup.tar)")
    ok = [r for r in restores if r["State"]["Status"] == "exited" and r["State"]["ExitCode"] == 0]
    assert ok, "the restoring tar failed: " + ", ".join(f"{r['Name'][1:]} exit {r['State']['ExitCode']}" for r in restores)
    r = ok[-1]
    m = re.search(r"/backup/(\S+\.tar)\b", _cmd(r))
    if m:  # the archive is still there: what it holds must be in dbdata2's volume
        path = f"{_mount_or_none(r, '/backup')['Source'].rstrip('/')}/{m.group(1)}"
        listing = docker01.run("tar -tf %s", path)
        have = _files_in(docker01, own["Source"])
        if listing.rc == 0 and have is not None:
            prefix = params.data_path.strip("/") + "/"
            want = {n[len(prefix):].rstrip("/") for n in listing.stdout.split() if n.startswith(prefix)} - {""}
            missing = sorted(want - have)
            assert not missing, f"dbdata2's {params.data_path} lacks {missing[:5]} from {path}"


# --------------------------------------------------------------------------- C11


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker volume create my-vol，两个容器用 -v my-vol:/opt/my-vol 和 -v my-vol:/opt/hh 挂载同一个命名卷，a.txt 双方可见",
                  en="docker volume create my-vol; containers with -v my-vol:/opt/my-vol and -v my-vol:/opt/hh share it, a.txt included")
def test_c11_named_volume_shared(docker01, params):
    """my-vol is a local volume holding a.txt; running containers mount it on /opt/my-vol and on /opt/hh."""
    vol = docker(docker01, "volume inspect %s", params.volume)
    assert vol.rc == 0 and vol.stdout.strip(), f"volume {params.volume} does not exist on {docker01.name} (docker volume create {params.volume})"
    info = json.loads(vol.stdout)[0]
    assert info["Driver"] == "local", f"{params.volume} uses driver {info['Driver']}"
    for dest in ("/opt/my-vol", "/opt/hh"):
        users = [c for c in all_containers(docker01)
                 if (m := _mount_or_none(c, dest)) and m["Type"] == "volume" and m.get("Name") == params.volume]
        other = [f"{c['Name'][1:]}: {m.get('Name') or m.get('Source')}" for c in all_containers(docker01, include_stopped=True)
                 if (m := _mount_or_none(c, dest))]
        assert users, f"no running container mounts volume {params.volume} on {dest}" + (f" (mounted there: {other})" if other else "")
    files = _files_in(docker01, info["Mountpoint"])
    assert files and "a.txt" in files, f"{params.volume} ({info['Mountpoint']}) holds {sorted(files or [])[:10]}, not a.txt"


# --------------------------------------------------------------------------- C24, C25


@pytest.mark.points(1)
@pytest.mark.hint(zh="在容器里（docker exec web1）修改挂载目录，改动直接写到宿主机：/data/web/index.html 应为 docker test!",
                  en="Editing the bound directory inside a container (docker exec web1) writes to the host: /data/web/index.html reads docker test!")
def test_c24_edit_reached_host(docker01, params):
    """/data/web/index.html on docker01 holds `docker test!`, written from inside a container."""
    out = docker01.run("cat %s/index.html", params.web_dir)
    assert out.rc == 0, f"{params.web_dir}/index.html does not exist on {docker01.name}"
    assert out.stdout.strip() == params.web_page, f"{params.web_dir}/index.html reads {out.stdout.strip()[:80]!r}, not {params.web_page!r}"


def _clients(host, params):
    return [c for c in all_containers(host, include_stopped=True) if params.server in _volumes_from(c)]


@pytest.mark.points(2)
@pytest.mark.hint(zh="--volumes-from nginx-web 继承 nginx-web 的全部挂载，包括只读（:ro）属性",
                  en="--volumes-from nginx-web inherits all of nginx-web's mounts, read-only (:ro) included")
def test_c25_clients_inherit_ro(docker01, params):
    """Three running containers were made with --volumes-from nginx-web: /data/web on the html directory, read-only."""
    clients = [c for c in _clients(docker01, params) if c["State"]["Running"]]
    assert len(clients) >= 3, (f"{len(clients)} running container(s) use --volumes-from {params.server}, the notes make three "
                               f"(web1, web2, web3): {[c['Name'][1:] for c in clients]}")
    for c in clients:
        m = _mount(c, "/usr/share/nginx/html")
        assert (m["Type"], m["Source"].rstrip("/"), m["RW"]) == ("bind", params.web_dir, False), \
            f"{c['Name'][1:]}'s /usr/share/nginx/html is {m['Type']} from {m['Source']} with RW {m['RW']}, not {params.web_dir} read-only"


@pytest.mark.points(2)
@pytest.mark.hint(zh="web1、web2、web3 分别映射 8082、8083、8084，都显示 /data/web 的页面",
                  en="web1, web2 and web3 publish 8082, 8083 and 8084 and all show the page from /data/web")
def test_c25_clients_serve(docker01, params):
    """Ports 8082, 8083 and 8084 of docker01 (from the grader) answer what /data/web/index.html holds."""
    page = docker01.run("cat %s/index.html", params.web_dir)
    assert page.rc == 0, f"{params.web_dir}/index.html does not exist on {docker01.name}"
    for port in params.client_ports:
        res = http_get(f"http://{docker01.address}:{port}/")
        assert res.status == 200 and res.body.strip() == page.stdout.strip(), \
            f"port {port} of {docker01.name}: {res} {res.body.strip()[:80]!r} (expected the page of {params.web_dir})"


@pytest.mark.points(1)
@pytest.mark.hint(zh="删除卷容器 nginx-web（docker rm -fv nginx-web）后，已经创建的容器不受影响",
                  en="Removing the volume container nginx-web (docker rm -fv nginx-web) leaves existing clients working")
def test_c25_server_removed(docker01, params):
    """nginx-web is gone while containers made with --volumes-from nginx-web still run."""
    assert container_or_none(docker01, params.server) is None, f"{params.server} still exists: docker rm -fv {params.server}"
    running = [c["Name"][1:] for c in _clients(docker01, params) if c["State"]["Running"]]
    assert running, f"no running container made with --volumes-from {params.server} is left"
