"""Checks of the volumes family (catalog DK26, DK27, B08, C11, C24, C25).

Read-only on docker01 (`docker inspect`, `docker exec ... cat/ls`, `docker volume inspect`), except
where a check says it writes a probe file and removes it again; pages are fetched from the grader."""

import json
import re

import pytest

from harness.probes import http_get
from labs.volumes.solution import clients
from labs.common.docker import container as _container


def _mount(c, destination):
    found = [m for m in c["Mounts"] if m["Destination"] == destination]
    assert found, f"{c['Name'][1:]} has no mount on {destination}: {[m['Destination'] for m in c['Mounts']]}"
    return found[0]


# --------------------------------------------------------------------------- DK26


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d -P --name cc_web -v /chaoge_web:/webapp training/webapp：宿主机目录挂载进容器，双方立即可见",
                  en="docker run -d -P --name cc_web -v /chaoge_web:/webapp training/webapp binds the host directory; both sides see changes at once")
def test_dk26_rw_bind(docker01, params):
    """cc_web binds /chaoge_web on /webapp read-write; a probe file written on the host (then removed) is seen inside."""
    c = _container(docker01, "cc_web")
    m = _mount(c, params.bind_target)
    assert (m["Type"], m["Source"], m["RW"]) == ("bind", params.bind_source, True), f"mount: {m}"
    assert c["State"]["Running"], f"cc_web is {c['State']['Status']}"
    probe = f"{params.bind_source}/.labharness-probe"
    docker01.run("echo seen-inside > %s", probe)
    try:
        inside = docker01.run("docker exec cc_web cat %s/.labharness-probe 2>&1", params.bind_target).stdout.strip()
    finally:
        docker01.run("rm -f %s", probe)
    assert inside == "seen-inside", f"a file written in {params.bind_source} is not visible in cc_web: {inside!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-v /chaoge_web:/webapp:ro 只读挂载：容器内写入会报 Read-only file system",
                  en="-v /chaoge_web:/webapp:ro mounts read-only: writes inside the container fail with Read-only file system")
def test_dk26_ro_bind(docker01, params):
    """web binds /chaoge_web on /webapp with mode ro (RW false), and writing there fails with Read-only file system."""
    c = _container(docker01, "web")
    m = _mount(c, params.bind_target)
    assert (m["Type"], m["Source"], m["Mode"], m["RW"]) == ("bind", params.bind_source, "ro", False), f"mount: {m}"
    res = docker01.run("docker exec web touch %s/x 2>&1", params.bind_target)
    assert res.rc != 0 and "Read-only file system" in res.stdout, f"touch {params.bind_target}/x in web: exit {res.rc} {res.stdout.strip()[:200]}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="-v /webapp 只写容器内路径，得到一个匿名卷，数据在 /var/lib/docker/volumes/<ID>/_data",
                  en="-v /webapp (container path only) creates an anonymous volume stored in /var/lib/docker/volumes/<ID>/_data")
def test_dk26_anonymous_volume(docker01, params):
    """web02 has an anonymous local volume (64 hex name) on /webapp, stored under /var/lib/docker/volumes/<name>/_data."""
    m = _mount(_container(docker01, "web02"), params.bind_target)
    assert m["Type"] == "volume" and m["Driver"] == "local" and m["RW"], f"mount: {m}"
    assert re.fullmatch(r"[0-9a-f]{64}", m["Name"]), f"volume name {m['Name']!r} is not anonymous"
    assert m["Source"] == f"/var/lib/docker/volumes/{m['Name']}/_data", f"Source {m['Source']}"
    assert docker01.run("docker volume inspect %s", m["Name"]).rc == 0


# --------------------------------------------------------------------------- DK27, B08


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker run -d --volumes-from dbdata --name db1 training/postgres：db1、db2 挂载 dbdata 的同一个数据卷",
                  en="docker run -d --volumes-from dbdata --name db1 training/postgres: db1 and db2 mount dbdata's own volume")
def test_dk27_volumes_from(docker01, params):
    """dbdata, db1 and db2 run; db1 and db2 use --volumes-from dbdata and mount the very same /dbdata volume."""
    names = {}
    for name in ("dbdata", "db1", "db2"):
        c = _container(docker01, name)
        assert c["State"]["Running"], f"{name} is {c['State']['Status']}"
        if name != "dbdata":
            assert c["HostConfig"]["VolumesFrom"] == ["dbdata"], f"{name}: VolumesFrom {c['HostConfig']['VolumesFrom']}"
        names[name] = _mount(c, params.data_path).get("Name")
    assert len(set(names.values())) == 1, f"/dbdata volumes differ: {names}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="数据卷容器共享数据：通过 dbdata 写入的文件在 db1、db2 里都能看到",
                  en="A data-volume container shares data: a file written through dbdata is visible in db1 and db2")
def test_dk27_shared_data(docker01, params):
    """The marker written into dbdata's volume is readable from db1 and from db2."""
    for name in ("db1", "db2"):
        out = docker01.run("docker exec %s cat %s/marker.txt 2>&1", name, params.data_path)
        assert out.stdout.strip() == params.marker, f"{name}: {params.data_path}/marker.txt = {out.stdout.strip() or out.stderr.strip()[:200]!r}"


@pytest.mark.points(3)
@pytest.mark.hint(zh="docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata 把数据卷打包到当前目录",
                  en="docker run --volumes-from dbdata -v $(pwd):/backup ubuntu tar cvf /backup/backup.tar /dbdata packs the volume into the current directory")
def test_b08_backup(docker01, params):
    """backup.tar in root's home holds dbdata/ and dbdata/marker.txt (the leading / stripped)."""
    path = f"{params.backup_dir}/backup.tar"
    listing = docker01.run("tar -tf %s", path)
    assert listing.rc == 0, f"{path}: {listing.stderr.strip()[:200] or 'missing'}"
    names = listing.stdout.split()
    assert "dbdata/" in names and "dbdata/marker.txt" in names, f"{path} lists {names[:10]}"


@pytest.mark.points(4)
@pytest.mark.hint(zh="先 docker run -v /dbdata --name dbdata2 ubuntu /bin/bash 建一个空卷，再用 --volumes-from dbdata2 的容器 tar xvf 恢复",
                  en="First docker run -v /dbdata --name dbdata2 ubuntu /bin/bash (an empty volume), then untar into it from a container with --volumes-from dbdata2")
def test_b08_restored(docker01, params):
    """dbdata2 has its own /dbdata volume, and it holds the restored marker (a --rm probe with --volumes-from dbdata2)."""
    c = _container(docker01, "dbdata2")
    own = _mount(c, params.data_path).get("Name")
    theirs = _mount(_container(docker01, "dbdata"), params.data_path).get("Name")
    assert own and own != theirs, "dbdata2 must have its own /dbdata volume, not dbdata's"
    out = docker01.run("docker run --rm --pull never --volumes-from dbdata2 busybox cat %s/marker.txt", params.data_path)
    assert out.stdout.strip() == params.marker, f"restored marker: {out.stdout.strip() or out.stderr.strip()[:200]!r}"


# --------------------------------------------------------------------------- C11


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker volume create my-vol，两个容器用 -v my-vol:路径 挂载同一个命名卷，数据共享",
                  en="docker volume create my-vol; two containers mounting -v my-vol:PATH share its data")
def test_c11_named_volume_shared(docker01, params):
    """my-vol is a local volume; nginx has it on /opt/my-vol, nginx2 on /opt/hh, where a.txt written by nginx shows."""
    vol = docker01.run("docker volume inspect %s", params.volume)
    assert vol.rc == 0, f"volume {params.volume} does not exist"
    info = json.loads(vol.stdout)[0]
    assert info["Driver"] == "local" and info["Mountpoint"] == f"/var/lib/docker/volumes/{params.volume}/_data", info
    for name, dest in (("nginx", "/opt/my-vol"), ("nginx2", "/opt/hh")):
        m = _mount(_container(docker01, name), dest)
        assert (m["Type"], m.get("Name"), m["RW"]) == ("volume", params.volume, True), f"{name}: {m}"
    listing = docker01.run("docker exec nginx2 ls /opt/hh/ 2>&1").stdout.split()
    assert "a.txt" in listing, f"/opt/hh in nginx2 holds {listing}"


# --------------------------------------------------------------------------- C24, C25


@pytest.mark.points(1)
@pytest.mark.hint(zh="容器里对挂载目录的修改直接写到宿主机：/data/web/index.html 应为 docker test!，删除容器后仍在",
                  en="Changes inside a container to a bound directory go to the host: /data/web/index.html reads docker test!, even after the containers are removed")
def test_c24_edit_reached_host(docker01, params):
    """/data/web/index.html on docker01 holds `docker test!`, written from inside a container."""
    out = docker01.run("cat %s/index.html", params.web_dir)
    assert out.rc == 0 and out.stdout.strip() == params.web_page, f"{params.web_dir}/index.html: {out.stdout.strip()!r}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="--volumes-from nginx-web 继承 nginx-web 的全部挂载，包括只读（:ro）属性",
                  en="--volumes-from nginx-web inherits all of nginx-web's mounts, read-only (:ro) included")
def test_c25_clients_inherit_ro(docker01, params):
    """web1, web2 and web3 use --volumes-from nginx-web: /data/web on the html directory, read-only."""
    for name, _ in clients(params):
        c = _container(docker01, name)
        assert c["HostConfig"]["VolumesFrom"] == [params.server], f"{name}: VolumesFrom {c['HostConfig']['VolumesFrom']}"
        m = _mount(c, "/usr/share/nginx/html")
        assert (m["Type"], m["Source"].rstrip("/"), m["RW"]) == ("bind", params.web_dir, False), f"{name}: {m}"


@pytest.mark.points(2)
@pytest.mark.hint(zh="web1、web2、web3 分别映射 8082、8083、8084，都显示 /data/web 的页面",
                  en="web1, web2 and web3 publish 8082, 8083 and 8084 and all show the page from /data/web")
def test_c25_clients_serve(docker01, params):
    """Ports 8082, 8083 and 8084 of docker01 (from the grader) answer `docker test!`."""
    for name, port in clients(params):
        res = http_get(f"http://{docker01.address}:{port}/")
        assert res.status == 200 and res.body.strip() == params.web_page, f"{name} on {port}: {res} {res.body.strip()[:100]!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="删除卷容器 nginx-web 后，已经创建的容器不受影响（但不能再用 --volumes-from nginx-web 创建新容器）",
                  en="Removing the volume container nginx-web leaves existing clients working (but no new --volumes-from nginx-web is possible)")
def test_c25_server_removed(docker01, params):
    """nginx-web is gone while web3, created after it was stopped, still runs with its mount."""
    c = _container(docker01, clients(params)[-1][0])
    assert c["HostConfig"]["VolumesFrom"] == [params.server] and c["State"]["Running"], \
        f"{c['Name'][1:]} does not run with --volumes-from {params.server}"
    assert docker01.run("docker container inspect %s >/dev/null 2>&1", params.server).rc != 0, f"{params.server} still exists: docker rm -fv {params.server}"
