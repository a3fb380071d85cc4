"""The course's steps for DK13-DK16, as the harness performs them in validate mode.

Each step is what a student types on docker01; file contents come from ``files/`` (the
course's Dockerfiles, verbatim where the stand-in images allow, see README.md).
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution

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


MISTAKES = (
    Mistake("nginx_not_published", "ran the nginx container without -p 80:80", _nginx_not_published,
            frozenset({"test_dk13_port_published", "test_dk13_page_served"})),
    Mistake("exec_form_single_quotes", "wrote CMD with single quotes, which is shell form, not exec form",
            _exec_form_single_quotes, frozenset({"test_dk14_foreground_rule"})),
    Mistake("cmd_instead_of_entrypoint", "kept CMD in the final myip image, so arguments replace the command",
            _cmd_instead_of_entrypoint, frozenset({"test_dk15_entrypoint_image", "test_dk15_arguments_appended"})),
    Mistake("no_expose", "left EXPOSE out of dk16, so -P publishes nothing", _no_expose,
            frozenset({"test_dk16_expose"})),
)
