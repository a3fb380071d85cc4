"""Checks of the images family (catalog DK08, DK09, DK21, B02, C05, C14). Read-only on docker01:
`docker image inspect/history`, `tar -t`/`tar -xO` of the student's archives, and
`docker run --rm --pull never` probes (nothing is ever pulled)."""

import json

import pytest
from labs.common.docker import image as _image


def _file_mode_size(docker01, path):
    res = docker01.run("stat -c '%%a %%s' %s", path)
    assert res.rc == 0, f"{path} does not exist on docker01"
    mode, size = res.stdout.split()
    return mode, int(size)


def _manifest(docker01, path):
    """manifest.json of an image archive (docker save), or a FAIL saying what the file is."""
    listing = docker01.run("tar -tf %s", path)
    assert listing.rc == 0, f"{path} is not a tar archive: {listing.stderr.strip()[:200]}"
    names = listing.stdout.split()
    assert "manifest.json" in names, f"{path} has no manifest.json: it is not an image archive (docker save)"
    return json.loads(docker01.run("tar -xOf %s manifest.json", path).stdout)


def _history(docker01, image):
    res = docker01.run("docker history --no-trunc --format '{{json .}}' %s", image)
    return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- B02: tag and rmi


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker tag centos:latest mycts:latest 只是给同一个镜像起别名；有容器在用时 docker rmi mycts:latest 只删除这个标签",
                  en="docker tag centos:latest mycts:latest is another name for the same image; with a container using it, docker rmi mycts:latest only removes that tag")
def test_b02_tag_then_untag(docker01, params):
    """b02c was created from mycts:latest, the same image as centos:latest; docker rmi mycts:latest only untagged it."""
    res = docker01.run("docker container inspect %s 2>/dev/null", params.tag_container)
    assert res.rc == 0, f"container {params.tag_container} (created from {params.tag}) does not exist"
    c = json.loads(res.stdout)[0]
    assert c["Config"]["Image"] == params.tag, f"{params.tag_container} was created from {c['Config']['Image']}"
    source = _image(docker01, params.tag_source)
    assert c["Image"] == source["Id"], f"{params.tag} was not the same image as {params.tag_source}"
    assert docker01.run("docker image inspect %s", params.tag).rc != 0, f"{params.tag} still exists: docker rmi {params.tag}"


# --------------------------------------------------------------------------- DK09, C05: save and load


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker image save centos:7.2.1511 > centos-7.2.1511.tgz 保存镜像（是 tar，含 manifest.json）；删除镜像后 docker image load -i 恢复，ID 不变",
                  en="docker image save centos:7.2.1511 > centos-7.2.1511.tgz saves the image (a tar with manifest.json); after removing it, docker image load -i brings it back with the same ID")
def test_dk09_save_archive(docker01, params):
    """/my_docker/centos-7.2.1511.tgz is a docker save archive of centos:7.2.1511 whose image is the one present now."""
    path = f"{params.build_dir}/{params.saved_archive}"
    manifest = _manifest(docker01, path)
    entry = next((m for m in manifest if params.saved_image in (m.get("RepoTags") or [])), None)
    assert entry, f"{path} holds {[m.get('RepoTags') for m in manifest]}, not {params.saved_image}"
    img = _image(docker01, params.saved_image)
    config_id = entry["Config"].split("/")[-1].removesuffix(".json")
    assert img["Id"].removeprefix("sha256:") == config_id, \
        f"{params.saved_image} ({img['Id'][:19]}) is not the image saved in {path} ({config_id[:12]})"
    assert img["Config"]["Cmd"] == ["/bin/bash"] and len(_history(docker01, params.saved_image)) > 1, \
        "a saved and loaded image keeps its CMD and history"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker save -o 文件 生成的文件权限是 600，docker save > 文件 由 shell 创建，权限 644；两者内容一样大",
                  en="docker save -o FILE creates the file with mode 600, docker save > FILE lets the shell create it (644); both are the same size")
def test_c05_save_o_and_redirect(docker01, params):
    """/opt/centos.tar.gz (-o) is mode 600, /opt/centos-1.tar.gz (>) is 644, same size, both image archives of centos:latest."""
    mode_o, size_o = _file_mode_size(docker01, params.c05_archive_o)
    mode_r, size_r = _file_mode_size(docker01, params.c05_archive_redirect)
    for path in (params.c05_archive_o, params.c05_archive_redirect):
        tags = [t for m in _manifest(docker01, path) for t in (m.get("RepoTags") or [])]
        assert params.c05_image in tags, f"{path} holds {tags}"
    assert (mode_o, mode_r) == ("600", "644"), f"modes: {params.c05_archive_o} {mode_o}, {params.c05_archive_redirect} {mode_r}"
    assert size_o == size_r, f"sizes differ: {size_o} and {size_r}"


# --------------------------------------------------------------------------- DK21, C14: export and import


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker export my_nginx02 > my_nginx02.tar 导出的是容器的文件系统（没有 manifest.json），不是镜像",
                  en="docker export my_nginx02 > my_nginx02.tar writes the container's filesystem (no manifest.json), not an image")
def test_dk21_export_rootfs(docker01, params):
    """/my_docker/my_nginx02.tar is a root filesystem tar (etc/nginx/nginx.conf, no manifest.json)."""
    path = f"{params.build_dir}/{params.export_archive}"
    listing = docker01.run("tar -tf %s", path)
    assert listing.rc == 0, f"{path}: {listing.stderr.strip()[:200] or 'missing'}"
    names = set(listing.stdout.split())
    assert "etc/nginx/nginx.conf" in names, f"{path} has no etc/nginx/nginx.conf: not an export of the nginx container"
    assert "manifest.json" not in names, f"{path} is an image archive (docker save), not a container export"


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker import 得到的镜像只有一层，历史和元数据（CMD、EXPOSE）都丢了，所以 docker run 时必须给出命令",
                  en="An imported image has one layer and loses history and metadata (CMD, EXPOSE): docker run then needs a command")
def test_dk21_import_loses_metadata(docker01, params):
    """test/my_nginx:v1.0: one layer, one history row, no CMD/ENTRYPOINT/EXPOSE; running it without a command fails."""
    img = _image(docker01, params.import_image)
    assert len(img["RootFS"]["Layers"]) == 1, f"{len(img['RootFS']['Layers'])} layers"
    history = _history(docker01, params.import_image)
    assert len(history) == 1 and "Imported from" in history[0].get("Comment", ""), f"history: {history}"
    cfg = img.get("Config") or {}
    assert not cfg.get("Cmd") and not cfg.get("Entrypoint") and not cfg.get("ExposedPorts"), f"config: {cfg}"
    res = docker01.run("docker run --rm --pull never %s", params.import_image)
    assert res.rc != 0 and "No command specified" in res.stderr, f"exit {res.rc}: {res.stderr.strip()[:200]}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="cat my_nginx02.tar | docker import - test：从标准输入导入，得到镜像 test:latest",
                  en="cat my_nginx02.tar | docker import - test imports from standard input as test:latest")
def test_dk21_import_from_stdin(docker01, params):
    """test:latest was imported from standard input: one layer, comment `Imported from -`."""
    img = _image(docker01, params.import_stdin_image)
    assert len(img["RootFS"]["Layers"]) == 1, f"{len(img['RootFS']['Layers'])} layers"
    assert img.get("Comment") == "Imported from -", f"Comment is {img.get('Comment')!r}"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker export -o /opt/centos.tar 容器（运行中也可以导出），docker import /opt/centos.tar mycentos:v1",
                  en="docker export -o /opt/centos.tar CONTAINER (running or not), then docker import /opt/centos.tar mycentos:v1")
def test_c14_export_import_mycentos(docker01, params):
    """/opt/centos.tar (export -o, mode 600) holds a filesystem; mycentos:v1 is its one-layer import and runs cat."""
    mode, _ = _file_mode_size(docker01, params.c14_archive)
    names = set(docker01.run("tar -tf %s", params.c14_archive).stdout.split())
    assert "etc/os-release" in names and "manifest.json" not in names, f"{params.c14_archive} is not a container export"
    assert mode == "600", f"{params.c14_archive} has mode {mode} (docker export -o writes 600)"
    img = _image(docker01, params.c14_image)
    assert len(img["RootFS"]["Layers"]) == 1 and not (img.get("Config") or {}).get("Cmd"), "mycentos:v1 is not an import"
    res = docker01.run("docker run --rm --pull never %s cat /etc/os-release", params.c14_image)
    assert res.rc == 0 and "NAME=" in res.stdout, f"exit {res.rc}: {res.stderr.strip()[:200]}"


# --------------------------------------------------------------------------- DK08: dangling images


@pytest.mark.points(2)
@pytest.mark.hint(zh="同一个标签构建两次后，旧镜像变成 <none>（虚悬镜像）；用 docker image prune 或 docker rmi $(docker images -q -f dangling=true) 删除",
                  en="Building the same tag twice leaves the old image as <none> (dangling); remove it with docker image prune or docker rmi $(docker images -q -f dangling=true)")
def test_dk08_dangling_removed(docker01, params):
    """myip was rebuilt (it is the ENTRYPOINT version) and no dangling image is left."""
    img = _image(docker01, params.rebuilt_image)
    assert img["Config"].get("Entrypoint"), f"{params.rebuilt_image} is not the rebuilt (ENTRYPOINT) image"
    dangling = docker01.run("docker images -q -f dangling=true").stdout.split()
    assert not dangling, f"dangling images left: {dangling}"
