"""Checks of the images family (catalog DK09, DK21, B02, C05, C14). Read-only on docker01:
`docker image inspect/history`, and `stat`, `tar -t`/`tar -xO` and `sha256sum` of the student's
archives at the paths the notes use. No check runs a container or an image."""

import json

import pytest
from labs.common.docker import image as _image, image_id


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


# --------------------------------------------------------------------------- B02: tag


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker tag centos:latest mycts:latest 只是给同一个镜像起别名：docker images 里两者 IMAGE ID 相同",
                  en="docker tag centos:latest mycts:latest is another name for the same image: docker images shows one IMAGE ID for both")
def test_b02_tag(docker01, params):
    """mycts:latest exists and names the same image ID as centos:latest."""
    tagged = image_id(docker01, params.tag)
    assert tagged, f"image {params.tag} does not exist on {docker01.name} (docker tag {params.tag_source} {params.tag})"
    source = image_id(docker01, params.tag_source)
    assert tagged == source, f"{params.tag} is {tagged[7:19]}, not the image {params.tag_source} names ({(source or 'none')[7:19]})"


# --------------------------------------------------------------------------- DK09, C05: save and load


@pytest.mark.points(2)
@pytest.mark.hint(zh="docker image save centos:7.2.1511 > centos-7.2.1511.tgz 保存镜像（是 tar，含 manifest.json）；删除镜像后 docker image load -i 恢复，ID 不变",
                  en="docker image save centos:7.2.1511 > centos-7.2.1511.tgz saves the image (a tar with manifest.json); after removing it, docker image load -i brings it back with the same ID")
def test_dk09_save_archive(docker01, params):
    """/my_docker/centos-7.2.1511.tgz is a docker save archive of centos:7.2.1511 (manifest.json), and the image of
    that tag now is the one in the archive (its ID is the archive's config digest)."""
    path = f"{params.build_dir}/{params.saved_archive}"
    manifest = _manifest(docker01, path)
    entry = next((m for m in manifest if params.saved_image in (m.get("RepoTags") or [])), None)
    assert entry, f"{path} holds {[m.get('RepoTags') for m in manifest]}, not {params.saved_image}"
    img = _image(docker01, params.saved_image)
    config_id = entry["Config"].split("/")[-1].removesuffix(".json")
    assert img["Id"].removeprefix("sha256:") == config_id, \
        f"{params.saved_image} ({img['Id'][7:19]}) is not the image saved in {path} ({config_id[:12]})"


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
    """test/my_nginx:v1.0: one layer, one history row (Imported from), no CMD/ENTRYPOINT/EXPOSE."""
    img = _image(docker01, params.import_image, f"docker import {params.export_archive} {params.import_image}")
    assert len(img["RootFS"]["Layers"]) == 1, f"{params.import_image} has {len(img['RootFS']['Layers'])} layers, an import has one"
    history = _history(docker01, params.import_image)
    assert len(history) == 1 and "Imported from" in history[0].get("Comment", ""), \
        f"{params.import_image}'s history has {len(history)} rows ({[h.get('Comment') or h.get('CreatedBy', '')[:40] for h in history[:3]]}), an import has one: Imported from"
    cfg = img.get("Config") or {}
    assert not cfg.get("Cmd") and not cfg.get("Entrypoint") and not cfg.get("ExposedPorts"), \
        f"{params.import_image} has metadata an import does not keep (Cmd {cfg.get('Cmd')}, Entrypoint {cfg.get('Entrypoint')}, " \
        f"ExposedPorts {cfg.get('ExposedPorts')}): it was not made by docker import"


@pytest.mark.points(1)
@pytest.mark.hint(zh="cat my_nginx02.tar | docker import - test：从标准输入导入，得到镜像 test:latest",
                  en="cat my_nginx02.tar | docker import - test imports from standard input as test:latest")
def test_dk21_import_from_stdin(docker01, params):
    """test:latest was imported from standard input: one layer, comment `Imported from -`."""
    img = _image(docker01, params.import_stdin_image, "cat my_nginx02.tar | docker import - test")
    assert len(img["RootFS"]["Layers"]) == 1, f"{params.import_stdin_image} has {len(img['RootFS']['Layers'])} layers, an import has one"
    assert img.get("Comment") == "Imported from -", f"{params.import_stdin_image}'s Comment is {img.get('Comment')!r}, not 'Imported from -' (docker import)"


@pytest.mark.points(1)
@pytest.mark.hint(zh="docker export -o /opt/centos.tar 容器（运行中也可以导出），docker import /opt/centos.tar mycentos:v1",
                  en="docker export -o /opt/centos.tar CONTAINER (running or not), then docker import /opt/centos.tar mycentos:v1")
def test_c14_export_import_mycentos(docker01, params):
    """/opt/centos.tar (export -o, mode 600) holds a filesystem; mycentos:v1 is its import (one layer: the tar itself)."""
    mode, _ = _file_mode_size(docker01, params.c14_archive)
    listing = docker01.run("tar -tf %s", params.c14_archive)
    names = set(listing.stdout.split())
    assert listing.rc == 0 and "etc/os-release" in names and "manifest.json" not in names, \
        f"{params.c14_archive} is not the filesystem of a centos container (docker export)"
    assert mode == "600", f"{params.c14_archive} has mode {mode} (docker export -o writes 600)"
    img = _image(docker01, params.c14_image, f"docker import {params.c14_archive} {params.c14_image}")
    layers = img["RootFS"].get("Layers") or []
    assert len(layers) == 1 and not (img.get("Config") or {}).get("Cmd"), \
        f"{params.c14_image} has {len(layers)} layers and CMD {(img.get('Config') or {}).get('Cmd')}: not a docker import"
    digest = docker01.run("sha256sum %s", params.c14_archive).stdout.split()
    assert digest and layers[0] == f"sha256:{digest[0]}", f"{params.c14_image} was not imported from {params.c14_archive} (its layer is not that tar)"


