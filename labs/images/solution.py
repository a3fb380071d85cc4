"""The course's image steps, as the harness performs them in validate mode (on docker01)."""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution

solution = Solution()


@solution.step("B02: docker tag centos:latest mycts:latest; a stopped container of it; docker rmi mycts:latest")
def b02(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker tag %s %s", p.tag_source, p.tag)
    h.check("docker create --name %s %s", p.tag_container, p.tag)
    h.check("docker rmi %s", p.tag)  # only untags: centos:latest still names the image


@solution.step("DK09: docker image save centos:7.2.1511 > centos-7.2.1511.tgz, remove the image, load it back")
def dk09(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("mkdir -p %s", p.build_dir)
    h.check("cd %s && docker image save %s > %s", p.build_dir, p.saved_image, p.saved_archive, timeout=180)
    h.check("docker rmi %s", p.saved_image)
    out = h.check("cd %s && docker image load -i %s", p.build_dir, p.saved_archive, timeout=180)
    assert f"Loaded image: {p.saved_image}" in out, out


@solution.step("C05: docker save -o /opt/centos.tar.gz and docker save > /opt/centos-1.tar.gz")
def c05(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("mkdir -p /opt")
    h.check("docker save %s -o %s", p.c05_image, p.c05_archive_o, timeout=180)
    h.check("docker save %s > %s", p.c05_image, p.c05_archive_redirect, timeout=180)


@solution.step("DK21: docker export my_nginx02 > my_nginx02.tar; docker import it as test/my_nginx:v1.0 and (stdin) test")
def dk21(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run --rm --name %s -d -p 80:80 nginx", p.export_container)
    h.check("cd %s && docker export %s > %s", p.build_dir, p.export_container, p.export_archive, timeout=180)
    h.check("cd %s && docker import %s %s", p.build_dir, p.export_archive, p.import_image, timeout=180)
    h.check("cd %s && cat %s | docker import - %s", p.build_dir, p.export_archive, p.import_stdin_image.split(":")[0],
            timeout=180)


@solution.step("C14: docker run -d -it centos; docker export -o /opt/centos.tar; docker import -> mycentos:v1")
def c14(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    cid = h.check("docker run -d -it centos").strip()
    h.check("docker export -o %s %s", p.c14_archive, cid, timeout=180)
    h.check("docker import %s %s", p.c14_archive, p.c14_image, timeout=180)


@solution.step("DK15 -> DK08: docker build -t myip twice (the first image dangles), then remove dangling images")
def dk08(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    for name in ("myip-cmd", "myip-entrypoint"):
        h.put_dir(env.files / name, f"{p.build_dir}/{name}")
        h.check("docker build -q -t %s %s/%s", p.rebuilt_image, p.build_dir, name, timeout=180)
    h.check("docker rmi $(docker images -q -f dangling=true)")


# --------------------------------------------------------------------------- typical mistakes


def _export_instead_of_save(env: LabEnv) -> None:
    """Made centos-7.2.1511.tgz with `docker export` of a container instead of `docker save`."""
    p, h = env.params, env["docker01"]
    cid = h.check("docker create %s", p.saved_image).strip()
    h.check("cd %s && docker export %s > %s", p.build_dir, cid, p.saved_archive, timeout=180)
    h.check("docker rm %s", cid)


def _both_saves_redirected(env: LabEnv) -> None:
    """Used `docker save ... > file` for both archives (no -o): both files are 644."""
    p, h = env.params, env["docker01"]
    h.check("rm -f %s && docker save %s > %s", p.c05_archive_o, p.c05_image, p.c05_archive_o, timeout=180)


def _dangling_left(env: LabEnv) -> None:
    """Rebuilt myip once more and never cleaned up: the previous image is dangling."""
    p, h = env.params, env["docker01"]
    h.check("docker build -q -t %s %s/myip-cmd", p.rebuilt_image, p.build_dir, timeout=180)
    h.check("docker build -q -t %s %s/myip-entrypoint", p.rebuilt_image, p.build_dir, timeout=180)


MISTAKES = (
    Mistake("export_instead_of_save", "made centos-7.2.1511.tgz with docker export instead of docker save",
            _export_instead_of_save, frozenset({"test_dk09_save_archive"})),
    Mistake("both_saves_redirected", "wrote both C05 archives with `>`, never with -o", _both_saves_redirected,
            frozenset({"test_c05_save_o_and_redirect"})),
    Mistake("dangling_left", "rebuilt myip and left the old image dangling", _dangling_left,
            frozenset({"test_dk08_dangling_removed"})),
)
