"""The installation family as a student types it (seed 000 L1717-L1842, seed 001 403-468, seed 003 138-181).

The course path: the forwarding parameters in /etc/sysctl.conf and `sysctl -p` (DK02), the Qiniu
mirror in daemon.json and a restart (DK03), the sanity commands (DK04), the quick-start nginx on
port 80 (DK05), hello-world (A01), then C01's page written inside that nginx container.
"""

from harness.core.replay import File, Line, Replay, ReplayMistake

H = "docker01"
# the container the student reads off `docker ps` (the notes: e617ca1db9a5, a random name)
NGINX = "$(docker ps -q --filter ancestor=nginx | head -n1)"
RESTART = "labharness-dockerd restart"  # systemctl restart docker (no systemd on the hosts)
# after a restart the quick-start container (no restart policy) is stopped: the student starts it again
START_NGINX = "docker start $(docker ps -aq --filter ancestor=nginx --filter status=exited)"

ACTIONS = (
    # DK02: vim /etc/sysctl.conf (the seven lines the notes show), then sysctl -p
    File(H, "/etc/sysctl.conf", "sysctl-docker.conf", seed="000:L1722-L1730"),
    Line(H, "sysctl -p", seed="000:L1732"),
    # DK03: the first daemon.json, shown with cat; then systemctl restart docker
    File(H, "/etc/docker/daemon.json", "daemon.json", seed="000:L1750"),
    Line(H, "cat /etc/docker/daemon.json", seed="000:L1749"),
    Line(H, RESTART, seed="000:L1752", timeout=120),
    # DK04: the sanity commands
    Line(H, "docker version", seed="000:L1758"),
    Line(H, "uname -a", seed="000:L1786"),
    Line(H, "ls -l /sys/class/misc/device-mapper/", seed="000:L1788", fails=True),
    # DK05: the first container
    Line(H, "docker run -d -p 80:80 nginx", seed="000:L1804"),
    Line(H, "docker images", seed="000:L1828"),
    Line(H, "docker ps", seed="000:L1832"),
    # A01: hello-world
    Line(H, "docker run hello-world", seed="001:444"),
    # C01: docker exec -it <id> bash; cd /usr/share/nginx/html/; ls; echo 'docker nginx test' > index.html
    Line(H, f"docker exec {NGINX} sh -c \"cd /usr/share/nginx/html/ && ls && echo 'docker nginx test' > index.html\"",
         seed="003:175-179"),
    Line(H, "curl -s 127.0.0.1", seed="003:180"),
)

MISTAKES = (
    ReplayMistake(
        "not-restarted",
        "wrote the mirror into daemon.json but never ran systemctl restart docker: the running daemon has no mirror",
        lines=(
            Line(H, "rm /etc/docker/daemon.json", seed="-"),
            Line(H, RESTART, seed="-", timeout=120),
            Line(H, START_NGINX, seed="-"),
            File(H, "/etc/docker/daemon.json", "daemon.json", seed="000:L1750"),
        ),
        undo=(Line(H, RESTART, seed="000:L1752", timeout=120), Line(H, START_NGINX, seed="-")),
        fails=frozenset({"test_dk03_registry_mirrors"}),
    ),
    ReplayMistake(
        "sysctl-not-applied",
        "edited /etc/sysctl.conf but never ran sysctl -p: the kernel keeps the distribution's rp_filter = 1",
        lines=(Line(H, "sysctl -w net.ipv4.conf.default.rp_filter=1 net.ipv4.conf.all.rp_filter=1", seed="-"),),
        undo=(Line(H, "sysctl -p", seed="000:L1732"),),
        fails=frozenset({"test_dk02_sysctl_runtime"}),
    ),
    ReplayMistake(
        "nginx-not-published",
        "ran the quick-start nginx without -p 80:80 (docker run -d nginx), then wrote the page in it all the same",
        lines=(
            Line(H, f"docker rm -f {NGINX}", seed="-"),
            Line(H, "docker run -d nginx", seed="000:L1804 without -p 80:80"),
            Line(H, f"docker exec {NGINX} sh -c \"cd /usr/share/nginx/html/ && echo 'docker nginx test' > index.html\"",
                 seed="003:175-179"),
        ),
        undo=(
            Line(H, f"docker rm -f {NGINX}", seed="-"),
            Line(H, "docker run -d -p 80:80 nginx", seed="000:L1804"),
            Line(H, f"docker exec {NGINX} sh -c \"cd /usr/share/nginx/html/ && echo 'docker nginx test' > index.html\"",
                 seed="003:175-179"),
        ),
        fails=frozenset({"test_dk05_nginx_published", "test_c01_page_served"}),
    ),
    ReplayMistake(
        "daemon-stopped",
        "dockerd is not running when the grading starts (systemctl stop docker, or a reboot without "
        "systemctl enable docker)",
        lines=(Line(H, "labharness-dockerd stop", seed="000:L3499 (systemctl stop docker)"),),
        undo=(Line(H, "labharness-dockerd start", seed="-", timeout=120), Line(H, START_NGINX, seed="-")),
        fails=frozenset({
            "test_dk02_daemon_up", "test_dk02_sysctl_runtime", "test_dk02_sysctl_persisted",
            "test_dk03_daemon_json_valid", "test_dk03_registry_mirrors", "test_dk04_docker_info",
            "test_a01_hello_world", "test_dk05_nginx_published", "test_c01_page_served",
        }),
    ),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    fresh_passes={
        "test_dk02_daemon_up": "dockerd answers after the package is installed (the hosts come with docker.io running)",
        "test_dk02_sysctl_runtime": "dockerd turns ip_forward on when it starts and these hosts start with rp_filter 0 "
                                    "(CentOS starts with 1, which is what sysctl -p changes)",
        "test_dk04_docker_info": "data root, overlay2, json-file, runc are what a fresh install reports",
    },
    adaptations=(
        "DK02's wget/sed/yum lines (CentOS repositories) are not typed: the hosts are Debian 12 with docker.io "
        "20.10 installed and running, the course installs docker-ce 19.03 on CentOS 7",
        "`systemctl restart docker` / `systemctl stop docker` are `labharness-dockerd restart` / `stop` (no systemd "
        "in the host containers); `systemctl enable` has no equivalent and is not graded",
        "`vim /etc/sysctl.conf` writes the notes' seven lines as the whole file",
        "`sudo` is dropped from A01's lines (a root shell; no sudo on the hosts)",
        "C01's `docker exec -it <id> bash` session is `docker exec <id> sh -c '...'`, the ID read off `docker ps` "
        "(ancestor nginx) as the student reads it",
        "DK04's `yum install device-mapper` and `modprobe dm-mod` are not typed (CentOS, and no module loading in a "
        "container); `ls -l /sys/class/misc/device-mapper/` may fail here",
        "these hosts start with rp_filter 0: the mistake sysctl-not-applied sets CentOS's rp_filter 1 by hand",
        "nginx and hello-world are pre-loaded stand-ins under their Docker Hub names (no internet)",
    ),
)
