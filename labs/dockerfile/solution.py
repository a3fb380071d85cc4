"""The course's steps for DK13-DK19, A10, C04 and C16, as the harness performs them in validate mode.

Each step is what a student types on docker01; file contents come from ``files/`` (the
course's Dockerfiles, verbatim where the stand-in images allow, see README.md).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from harness.probes import http_get
from harness.wait import wait_until

solution = Solution()


def _ship(env: LabEnv, name: str) -> str:
    """Copy files/<name>/ to <build_dir>/<name>/ on docker01 and return that path."""
    dest = f"{env.params.build_dir}/{name}"
    env["docker01"].put_dir(env.files / name, dest)
    return dest


def _build(env: LabEnv, tag: str, context: str) -> None:
    env["docker01"].check("docker build -q -t %s %s", tag, context, timeout=300)


@solution.step("DK13: build the nginx image with the custom index page and run it on port 80")
def dk13(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    _build(env, p.nginx_image, _ship(env, "dk13"))
    h.check("docker run -d --name %s -p %s:80 %s", p.nginx_container, str(p.nginx_port), p.nginx_image)


@solution.step("DK14: COPY keeps metadata and expands wildcards")
def dk14_copy(env: LabEnv) -> None:
    _build(env, "dk14-copy", _ship(env, "dk14-copy"))


@solution.step("DK14: ADD extracts a local tar.gz, COPY does not")
def dk14_add(env: LabEnv) -> None:
    ctx = _ship(env, "dk14-add")
    env["docker01"].check("tar -C %s -czf %s/app.tar.gz app", ctx, ctx)
    _build(env, "dk14-add", ctx)


@solution.step("DK14: shell-form CMD, and a main process that must stay in the foreground")
def dk14_cmd(env: LabEnv) -> None:
    h = env["docker01"]
    for name in ("dk14-shellcmd", "dk14-bg", "dk14-fg"):
        _build(env, name, _ship(env, name))
    h.check("docker run -d --name dk14-bg dk14-bg")
    h.check("docker run -d --name dk14-fg dk14-fg")


@solution.step("DK15: the myip image with CMD, then with ENTRYPOINT")
def dk15(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    _build(env, "dk15-ipinfo", _ship(env, "dk15-ipinfo"))
    h.check("docker network create %s", p.ipinfo_network)
    h.check("docker run -d --name dk15-ipinfo --network %s --network-alias ipinfo.io dk15-ipinfo", p.ipinfo_network)
    _build(env, p.myip_cmd_tag, _ship(env, "dk15-cmd"))
    _build(env, p.myip_image, _ship(env, "dk15-entrypoint"))


@solution.step("DK16: build dk16 (ENV, ARG, VOLUME, EXPOSE, WORKDIR, USER), run it with -P and a bind mount")
def dk16(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    _build(env, p.instr_image, _ship(env, "dk16"))
    h.check("docker run -d -P --name %s %s", p.instr_container, p.instr_image)
    h.check("mkdir -p %s", p.bind_source)
    h.check("docker run -d --name %s -v %s:/data %s", p.bind_container, f"{p.bind_source}", p.instr_image)


@solution.step("DK17: change web01's page with docker exec, docker commit it as nginx01, run nginx01 on port 81")
def dk17(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run --name %s -d -p %s:80 nginx", p.web01, str(p.web01_port))
    h.check("docker exec %s sh -c %s", p.web01, f"echo '{p.web01_page}' > /usr/share/nginx/html/index.html")
    h.check("docker commit --author %s --message %s %s %s", p.commit_author, p.commit_message, p.web01, p.commit_image)
    h.check("docker run --name %s -d -p %s:80 %s", p.commit_image, str(p.nginx01_port), p.commit_image)


@solution.step("DK18: build chaoge01/my_flask (app.py + Dockerfile), run flask01 with -p 85:8080")
def dk18(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    _build(env, p.flask_image, _ship(env, "dk18"))
    h.check("docker run --name %s -d -p %s:8080 %s", p.flask_container, str(p.flask_port), p.flask_image)
    url = f"http://{h.address}:{p.flask_port}/"
    wait_until(lambda: http_get(url, timeout=3).status == 200, timeout=30, what=f"flask01 answering on {url}")


@solution.step("DK19: docker build -t my-imge . in docker2/ (a lowercase dockerfile, WORKDIR, COPY, ADD test.tar.gz)")
def dk19(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.put_dir(env.files / "dk19-my-imge", p.s4_dir)
    h.check("cd %s && tar -C context -czf test.tar.gz . && rm -r context", p.s4_dir)
    h.check("cd %s && docker build -q -t %s .", p.s4_dir, p.s4_image, timeout=300)


@solution.step("A10: docker build -t mycentos:v1 . (MAINTAINER, ENV MYPATH, WORKDIR $MYPATH, EXPOSE, three CMDs)")
def a10(env: LabEnv) -> None:
    _build(env, env.params.a10_image, _ship(env, "a10"))


@solution.step("C16: one image per the notes' instruction formats; C04: the layering example")
def c16_c04(env: LabEnv) -> None:
    _build(env, env.params.c16_image, _ship(env, "c16"))
    _build(env, env.params.c04_image, _ship(env, "c04"))


# --------------------------------------------------------------------------- typical mistakes


def _rebuild_with(env: LabEnv, name: str, tag: str, old: str, new: str) -> str:
    """Rebuild files/<name> with one line of its Dockerfile changed, as a student might have."""
    ctx = _ship(env, name)
    dockerfile = (env.files / name / "Dockerfile").read_text()
    assert old in dockerfile, f"{name}/Dockerfile has no {old!r}"
    env["docker01"].put_file(f"{ctx}/Dockerfile", dockerfile.replace(old, new).encode())
    _build(env, tag, ctx)
    return ctx


def _nginx_not_published(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker rm -f %s", p.nginx_container)
    h.check("docker run -d --name %s %s", p.nginx_container, p.nginx_image)


def _exec_form_single_quotes(env: LabEnv) -> None:
    h = env["docker01"]
    _rebuild_with(env, "dk14-fg", "dk14-fg", 'CMD ["nginx","-g","daemon off;"]', "CMD ['nginx','-g','daemon off;']")
    h.check("docker rm -f dk14-fg")
    h.check("docker run -d --name dk14-fg dk14-fg")


def _cmd_instead_of_entrypoint(env: LabEnv) -> None:
    _rebuild_with(env, "dk15-entrypoint", env.params.myip_image, "ENTRYPOINT [", "CMD [")


def _no_expose(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    _rebuild_with(env, "dk16", p.instr_image, "EXPOSE 8080\n", "")
    h.check("docker rm -f %s", p.instr_container)
    h.check("docker run -d -P --name %s %s", p.instr_container, p.instr_image)


def _commit_without_author(env: LabEnv) -> None:
    """Committed web01 as nginx01 without --author and --message."""
    p = env.params
    env["docker01"].check("docker commit %s %s", p.web01, p.commit_image)


def _flask_wrong_port(env: LabEnv) -> None:
    """Ran flask01 with -p 85:5000 (Flask's usual port), but app.py listens on 8080."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f %s", p.flask_container)
    h.check("docker run --name %s -d -p %s:5000 %s", p.flask_container, str(p.flask_port), p.flask_image)


MISTAKES = (
    Mistake("nginx_not_published", "ran the nginx container without -p 80:80", _nginx_not_published,
            frozenset({"test_dk13_port_published", "test_dk13_page_served"})),
    Mistake("exec_form_single_quotes", "wrote CMD with single quotes, which is shell form, not exec form",
            _exec_form_single_quotes, frozenset({"test_dk14_foreground_rule"})),
    Mistake("cmd_instead_of_entrypoint", "kept CMD in the final myip image, so arguments replace the command",
            _cmd_instead_of_entrypoint, frozenset({"test_dk15_entrypoint_image", "test_dk15_arguments_appended"})),
    Mistake("no_expose", "left EXPOSE out of dk16, so -P publishes nothing", _no_expose,
            frozenset({"test_dk16_expose"})),
    Mistake("commit_without_author", "committed nginx01 without --author and --message", _commit_without_author,
            frozenset({"test_dk17_commit_metadata"})),
    Mistake("flask_wrong_port", "published flask01 as -p 85:5000 although the app listens on 8080", _flask_wrong_port,
            frozenset({"test_dk18_flask01_published", "test_dk18_page_served"})),
)
