"""The compose lab as a student types it: others.md C21 (seed 003) and docker.md DK35-DK37 (seed 000).

Both courses run on one docker01. Seed 003's composetest comes first; its containers are stopped
before seed 000 publishes port 5000 again (an adaptation: the two courses were never meant to
share a host). `docker-compose` is the notes' command in both courses; here it is Debian's
Compose 1.29.2, preinstalled (no PyPI, no GitHub). ``actions(cli_dk, cli_c)`` lets validate mode
run either part with Compose v2 (`docker compose`), which needs DK36's file converted to the
`services:` format.
"""

from __future__ import annotations

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait

H = "docker01"
CT = "/root/composetest"
APP = "/chaoge_compose_app"
WP = "/chaoge_compose_app/wordpress"

# the student looks at the pages in a browser once they answer (not graded actions)
DK36_UP = Wait(H, "curl -sf http://127.0.0.1:5000/ | grep -q 'this page has been visited'",
               why="the Flask counter answers on port 5000", timeout=120)
DK37_UP = Wait(H, "curl -sfL http://127.0.0.1:8000/ | grep -q install",
               why="WordPress shows its installer once MySQL is up", timeout=240, every=3)


def c21(cli: str = "docker-compose") -> tuple:
    """others.md C21: composetest, built and run by Compose (003:1383-1502)."""
    return (
        Line(H, "mkdir composetest", seed="003:1383"),
        File(H, f"{CT}/app.py", "composetest/app.py", seed="003:1390"),
        File(H, f"{CT}/requirements.txt", "composetest/requirements.txt", seed="003:1422"),
        File(H, f"{CT}/Dockerfile", "composetest/Dockerfile", seed="003:1431"),
        File(H, f"{CT}/docker-compose.yml", "composetest/docker-compose.yml", seed="003:1473"),
        # `docker-compose up` in the foreground, then Ctrl+C: built, started, stopped
        Line(H, f"{cli} up -d && {cli} stop", seed="003:1496", cwd=CT),
        Line(H, f"{cli} up -d", seed="003:1502", cwd=CT),
        # adaptation: seed 000 publishes port 5000 next; the student frees it
        Line(H, f"{cli} stop", seed="adaptation: free port 5000 for seed 000", cwd=CT),
    )


def dk35(cli: str = "docker-compose") -> tuple:
    """docker.md DK35: the install lines (yum, pip, curl) are left out: Compose is preinstalled."""
    return (Line(H, f"{cli} version", seed="000:L3739"),)


def dk36(cli: str = "docker-compose") -> tuple:
    """docker.md DK36: the Flask + Redis counter by hand, then with Compose (000:L3773-L3881)."""
    yml = "chaoge_compose_app/docker-compose.yml" if cli == "docker-compose" else "chaoge_compose_app/docker-compose.v2.yml"
    return (
        Line(H, "mkdir /chaoge_compose_app", seed="000:L3773"),
        File(H, f"{APP}/app.py", "chaoge_compose_app/app.py", seed="000:L3777"),
        File(H, f"{APP}/requirements.txt", "chaoge_compose_app/requirements.txt", seed="000:L3789"),
        File(H, f"{APP}/Dockerfile", "chaoge_compose_app/Dockerfile", seed="000:L3796"),
        Line(H, "docker build  --no-cache -t chaoge/python_web .", seed="000:L3805", cwd=APP),
        # no internet: the pull fails; the preloaded stand-in is `redis`
        Line(H, "docker pull redis", seed="000:L3807", cwd=APP, fails=True, timeout=60),
        Line(H, "docker run -d -p 6379:6379 --name redis redis", seed="000:L3808", cwd=APP),
        Line(H, "docker run -d -p 5000:5000 --link redis:redis --name flask_web chaoge/python_web python app.py",
             seed="000:L3810", cwd=APP),
        File(H, f"{APP}/docker-compose.yml", yml, seed="000:L3824"),
        # 可以停止之前运行的flask web容器 (port 5000)
        Line(H, "docker stop flask_web", seed="000:L3836", cwd=APP),
        # `docker-compose up` in the foreground, then Ctrl+C (the notes then show "Starting ...")
        Line(H, f"{cli} up -d && {cli} stop", seed="000:L3839", cwd=APP),
        Line(H, f"{cli} up -d", seed="000:L3874", cwd=APP),
        Line(H, "docker ps", seed="000:L3881", cwd=APP),
        DK36_UP,
    )


def dk37(cli: str = "docker-compose") -> tuple:
    """docker.md DK37: WordPress + MySQL 8.0 (000:L3904-L3939)."""
    return (
        File(H, f"{WP}/docker-compose.yml", "wordpress/docker-compose.yml", seed="000:L3904"),
        Line(H, f"{cli} up -d", seed="000:L3939", cwd=WP),
        DK37_UP,
    )


def actions(cli_dk: str = "docker-compose", cli_c: str = "docker-compose") -> tuple:
    return c21(cli_c) + dk35(cli_dk) + dk36(cli_dk) + dk37(cli_dk)


MISTAKES = (
    ReplayMistake(
        "project-stopped",
        "ran `docker-compose up` in the foreground in /chaoge_compose_app and left with Ctrl+C "
        "(never `up -d`): web and redis are stopped",
        lines=(Line(H, "docker-compose stop", seed="000:L3839", cwd=APP),),
        undo=(Line(H, "docker-compose up -d", seed="000:L3874", cwd=APP), DK36_UP),
        fails=frozenset({"test_dk36_compose_services_up", "test_dk36_counter_increments"})),
    ReplayMistake(
        "wordpress-password-typo",
        "typed WORDPRESS_DB_PASSWORD: wordpres (not MYSQL_PASSWORD) in wordpress/docker-compose.yml",
        lines=(Line(H, "sed -i 's/WORDPRESS_DB_PASSWORD: wordpress/WORDPRESS_DB_PASSWORD: wordpres/' docker-compose.yml",
                    seed="000:L3931", cwd=WP),
               Line(H, "docker-compose up -d", seed="000:L3939", cwd=WP)),
        undo=(File(H, f"{WP}/docker-compose.yml", "wordpress/docker-compose.yml", seed="000:L3904"),
              Line(H, "docker-compose up -d", seed="000:L3939", cwd=WP), DK37_UP),
        fails=frozenset({"test_dk37_wordpress_wiring", "test_dk37_site_installer"})),
    ReplayMistake(
        "c21-no-copy",
        "left `COPY . .` out of composetest's Dockerfile: the image Compose builds has no app.py "
        "(`flask run` finds no application)",
        # rebuilt and re-created; not started: DK36's web holds port 5000 now (the adaptation's stop)
        lines=(Line(H, "sed -i '/^COPY \\. \\.$/d' Dockerfile", seed="003:1438", cwd=CT),
               Line(H, "docker-compose up --no-start --build", seed="003:1496", cwd=CT)),
        undo=(File(H, f"{CT}/Dockerfile", "composetest/Dockerfile", seed="003:1431"),
              Line(H, "docker-compose up --no-start --build", seed="003:1496", cwd=CT)),
        fails=frozenset({"test_c21_compose_image"})),
    ReplayMistake(
        "binary-not-found",
        "C19's download with a wrong asset name (`$(uname -s)` gives Linux, v2 assets are lower case) saved "
        "GitHub's 'Not Found' page as /usr/local/bin/docker-compose; docker-compose no longer runs",
        # the download, as it lands without internet access: the 404 body
        lines=(Line(H, "echo 'Not Found' > /usr/local/bin/docker-compose", seed="003:1342"),
               Line(H, "chmod +x /usr/local/bin/docker-compose", seed="003:1358")),
        undo=(Line(H, "rm -f /usr/local/bin/docker-compose", seed="undo"),),
        fails=frozenset({"test_dk35_compose_installed"})),
)

REPLAY = Replay(
    actions=actions(),
    mistakes=MISTAKES,
    fresh_passes={"test_dk35_compose_installed":
                  "docker-compose (Debian's 1.29.2) is preinstalled on the host image: no PyPI or GitHub here "
                  "for DK35's pip route or C19's download"},
    adaptations=(
        "Compose is preinstalled (Debian's docker-compose 1.29.2, and Compose v2 as the `docker compose` plugin): "
        "DK35's yum/pip lines and C19's curl download, chmod and symlink are not typed (no PyPI, no GitHub); "
        "`docker-compose` is the notes' command in both courses",
        "Both courses share docker01: C21 (seed 003) runs first, and its containers are stopped "
        "(`docker-compose stop` in composetest) before DK36 publishes port 5000 again",
        "C21's Dockerfile leaves out `RUN apk add --no-cache gcc musl-dev linux-headers`: the python:3.7-alpine "
        "stand-in is Debian with flask and redis preinstalled (no apk, nothing to compile)",
        "Course images are preloaded stand-ins under their Docker Hub names; `docker pull redis` fails offline "
        "(typed, its failure ignored); DK36's `pip install ... -i https://pypi.douban.com/simple` succeeds "
        "offline in the python stand-in (PIP_NO_INDEX, flask and redis preinstalled)",
        "Foreground `docker-compose up` then Ctrl+C is typed as `docker-compose up -d && docker-compose stop` "
        "(the same containers, started and stopped); browser visits are a wait until the page answers",
    ),
)
