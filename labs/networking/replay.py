"""The networking family as a student types it: seed 003 2374-2580 (C27, C28, C30), seed 000
L2262-L3586 (DK12, DK28-DK33) and seed 002 505-506 (B12), each seed's lines in their order.

Seed 003 comes first: its C27 begins with `docker rm -f \\`docker ps -aq\\``, which on a host that
already ran seed 000's lines would remove them. DK33 replaces docker0 daemon-wide, so it is typed
on its own host (docker02); everything else on docker01.
"""

from harness.core.replay import File, Line, Replay, ReplayMistake

H, H2 = "docker01", "docker02"
# DK29: the --net=none centos container of terminal 1 (the notes read its ID, 77c, off the prompt)
NONET = "$(docker ps -q --filter ancestor=centos --filter network=none | head -n1)"
PID = f"pid=$(docker inspect -f '{{{{.State.Pid}}}}' {NONET}); "
# DK30: the webapp holding host port 5000 (intelligent_benz, later eloquent_raman in the notes)
WEBAPP_5000 = ("$(for c in $(docker ps -q --filter ancestor=training/webapp); do "
               "docker port $c 5000/tcp | grep -q ':5000$' && echo $c; done | head -n1)")
WEB01_LINKED = "docker run -d -P --name web01 --link db:db training/webapp python app.py"
DK30_LOCAL = "docker run -d -p 127.0.0.1:5000:5000 training/webapp python app.py"
DK33_CENTOS = "$(docker ps -aq --filter ancestor=centos | head -n1)"

ACTIONS = (
    # ---------------------------------------------------------------- seed 003: C27, C28, C30
    Line(H, "docker rm -f `docker ps -aq`", seed="003:2375", fails=True),  # nothing to remove yet
    Line(H, "docker ps", seed="003:2376"),
    Line(H, "docker run -d --name test1 nginx:alpine", seed="003:2380"),
    Line(H, "ip a |grep veth", seed="003:2382"),
    Line(H, "docker exec test1 ifconfig", seed="003:2383-2384", fails=True),
    Line(H, "docker exec test1 route -n", seed="003:2385", fails=True),
    Line(H, "docker run -d --name test2 nginx:alpine", seed="003:2392"),
    Line(H, "docker exec test sh", seed="003:2393 (test does not exist yet)", fails=True),
    Line(H, "ip a", seed="003:2401"),
    Line(H, "docker exec test1 cat /sys/class/net/eth0/ifindex", seed="003:2411"),
    Line(H, "ip a |grep @if", seed="003:2414"),
    Line(H, "for container in $(docker ps -q); do\n"
            "    iflink=`docker exec $container sh -c 'cat /sys/class/net/eth0/iflink'`\n"
            "    iflink=`echo $iflink|tr -d '\\r'`\n"
            "    veth=`grep -l $iflink /sys/class/net/veth*/ifindex`\n"
            "    veth=`echo $veth|sed -e 's;^.*net/\\(.*\\)/ifindex$;\\1;'`\n"
            "    echo $container:$veth\n"
            "done", seed="003:2420-2426"),
    Line(H, "docker run --name test -d -p 8088:80 nginx:alpine", seed="003:2441"),
    Line(H, "curl localhost:8088", seed="003:2442"),
    Line(H, "iptables -t nat -nvL PREROUTING", seed="003:2454"),
    Line(H, "ip route show table local type local", seed="003:2463"),
    Line(H, "iptables -t nat -nvL DOCKER", seed="003:2473"),
    Line(H, "iptables -t nat -nvL POSTROUTING", seed="003:2487"),
    Line(H, "docker run -d -it --name web7 --network host nginx", seed="003:2577"),
    Line(H, "docker exec web7 cat /proc/net/dev", seed="003:2579-2580 (ifconfig in web7)"),
    # ---------------------------------------------------------------- seed 000: DK12, DK28-DK33
    Line(H, "docker run -d -p 81:80 nginx", seed="000:L2262"),
    # DK29: terminal 1 keeps a --net=none centos shell open; terminal 2 plumbs a veth pair into it
    Line(H, "docker run -dit --rm --net=none centos /bin/bash", seed="000:L3234"),
    Line(H, f"docker inspect -f '{{{{.State.Pid}}}}' {NONET}", seed="000:L3243"),
    Line(H, "mkdir -p /var/run/netns", seed="000:L3246"),
    Line(H, PID + "ln -s /proc/$pid/ns/net /var/run/netns/$pid", seed="000:L3245, L3247"),
    Line(H, "ip addr show docker0", seed="000:L3249"),
    Line(H, "ip link add A type veth peer name B", seed="000:L3257"),
    Line(H, "ip link set A master docker0", seed="000:L3260 (brctl addif docker0 A)"),
    Line(H, "ip link set A up", seed="000:L3261"),
    Line(H, PID + "ip link set B netns $pid", seed="000:L3263"),
    Line(H, PID + "ip netns exec $pid ip link set dev B name eth0", seed="000:L3264"),
    Line(H, PID + "ip netns exec $pid ip link set eth0 up", seed="000:L3265"),
    Line(H, PID + "ip netns exec $pid ip addr add 172.17.42.99/16 dev eth0", seed="000:L3266"),
    Line(H, PID + "ip netns exec $pid ip route add default via 172.17.42.1", seed="000:L3267"),
    # DK30
    Line(H, "docker run -d -P training/webapp python app.py", seed="000:L3291"),
    Line(H, "docker ps", seed="000:L3293"),
    Line(H, "docker port $(docker ps -lq)", seed="000:L3297 (docker port 58c)"),
    Line(H, "docker logs $(docker ps -lq)", seed="000:L3300 (docker logs 58c)"),
    Line(H, "docker run -d -p 5000:5000 training/webapp python app.py", seed="000:L3309"),
    Line(H, "docker ps", seed="000:L3311"),
    Line(H, f"docker rm -f {WEBAPP_5000}", seed="000:L3342 (its docker ps no longer shows the 0.0.0.0:5000 one)"),
    Line(H, DK30_LOCAL, seed="000:L3340"),
    Line(H, "docker ps", seed="000:L3342"),
    # DK31
    Line(H, "docker run -d -P --name web01 training/webapp python app.py", seed="000:L3361"),
    Line(H, "docker ps -l", seed="000:L3363"),
    Line(H, "docker inspect -f \"{{.Name}}\" web01", seed="000:L3367 (ad8)"),
    Line(H, "docker run -d --name db training/postgres", seed="000:L3379"),
    Line(H, "docker ps", seed="000:L3381"),
    Line(H, "docker rm -f web01", seed="000:L3386"),
    Line(H, WEB01_LINKED, seed="000:L3389"),
    Line(H, "docker inspect web01 -f \"{{ .HostConfig.Links}}\"", seed="000:L3404"),
    Line(H, "docker exec -i web01 env", seed="000:L3413 (d94)"),
    Line(H, "docker exec -i web01 cat /etc/hosts", seed="000:L3431"),
    # DK32
    Line(H, "sysctl net.ipv4.ip_forward", seed="000:L3451"),
    # DK33, on docker02
    Line(H2, "labharness-dockerd stop", seed="000:L3512 (systemctl stop docker)"),
    Line(H2, "ip link set dev docker0 down", seed="000:L3514"),
    Line(H2, "ip link delete docker0", seed="000:L3541 (brctl delbr docker0)"),
    Line(H2, "ip link add bridge0 type bridge", seed="000:L3545 (brctl addbr bridge0)"),
    Line(H2, "ip addr add 192.168.5.1/24 dev bridge0", seed="000:L3546"),
    Line(H2, "ip link set dev bridge0 up", seed="000:L3547"),
    Line(H2, "ip addr show bridge0", seed="000:L3574"),
    File(H2, "/etc/docker/daemon.json", "daemon.json", seed="000:L3577"),
    Line(H2, "cat /etc/docker/daemon.json", seed="000:L3576"),
    Line(H2, "labharness-dockerd restart", seed="000:L3578 (重启docker服务)", timeout=120),
    Line(H2, "docker run -dit centos bash", seed="000:L3580"),
    # ---------------------------------------------------------------- seed 002: B12
    Line(H, "docker run -dit --name redis-master redis /bin/bash", seed="002:505"),
    Line(H, "docker run -dit --name redis-slave1 --link redis-master:master redis /bin/bash", seed="002:506"),
)

DK33_FAILS = frozenset({"test_dk33_daemon_uses_bridge0", "test_dk33_containers_on_bridge0",
                        "test_dk33_masquerade", "test_dk33_outbound"})

MISTAKES = (
    ReplayMistake(
        "link-missing",
        "kept the first web01 (no --link db:db): skipped DK31's docker rm -f web01 and the re-run",
        lines=(Line(H, "docker rm -f web01", seed="000:L3386"),
               Line(H, "docker run -d -P --name web01 training/webapp python app.py", seed="000:L3361")),
        undo=(Line(H, "docker rm -f web01", seed="000:L3386"), Line(H, WEB01_LINKED, seed="000:L3389")),
        fails=frozenset({"test_dk31_link_config", "test_dk31_link_hosts_and_env"}),
    ),
    ReplayMistake(
        "veth-not-on-bridge",
        "skipped `brctl addif docker0 A` (bridge-utils not installed): the host end of the veth pair is on no bridge",
        lines=(Line(H, "ip link set A nomaster", seed="-"),),
        undo=(Line(H, "ip link set A master docker0", seed="000:L3260 (brctl addif docker0 A)"),),
        fails=frozenset({"test_dk29_host_side", "test_dk29_host_reaches_container"}),
    ),
    ReplayMistake(
        "loopback-forgotten",
        "published the last webapp as -p 5000:5000 (all addresses), not -p 127.0.0.1:5000:5000",
        lines=(Line(H, f"docker rm -f {WEBAPP_5000}", seed="-"),
               Line(H, "docker run -d -p 5000:5000 training/webapp python app.py", seed="000:L3309")),
        undo=(Line(H, f"docker rm -f {WEBAPP_5000}", seed="-"), Line(H, DK30_LOCAL, seed="000:L3340")),
        fails=frozenset({"test_dk30_loopback_only"}),
    ),
    ReplayMistake(
        "bridge-key-missing",
        "built bridge0 but left \"bridge\": \"bridge0\" out of daemon.json (the DK03 version), then restarted docker "
        "and ran the centos container again: docker brings back docker0",
        lines=(File(H2, "/etc/docker/daemon.json", "daemon-dk03.json", seed="000:L1750"),
               Line(H2, "labharness-dockerd restart", seed="000:L3578", timeout=120),
               Line(H2, f"docker start {DK33_CENTOS}", seed="-")),
        undo=(File(H2, "/etc/docker/daemon.json", "daemon.json", seed="000:L3577"),
              Line(H2, "labharness-dockerd restart", seed="000:L3578", timeout=120),
              Line(H2, f"docker start {DK33_CENTOS}", seed="-")),
        fails=DK33_FAILS,
    ),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "interactive runs (`docker run -it ...`, DK29's terminal-1 shell, DK33's `docker run -it centos bash`, B12's "
        "redis shells) are detached with the same flags (`-dit`); `docker exec -ti CONTAINER sh` + a command is "
        "`docker exec CONTAINER command`",
        "`brctl addif docker0 A` / `brctl delbr docker0` / `brctl addbr bridge0` are `ip link set A master docker0` / "
        "`ip link delete docker0` / `ip link add bridge0 type bridge` (no bridge-utils on the hosts, no internet to "
        "install it); `brctl show`, `brctl showmacs` and `ifconfig` (net-tools) are not typed",
        "`systemctl stop docker` / restart is `labharness-dockerd stop` / `restart` (no systemd)",
        "DK29's `pid=46882` and the IDs the notes read off the screen (77c, 58c, ad8, d94) are found again with "
        "`docker ps` filters in each line (each line is a fresh shell)",
        "DK30: before `-p 127.0.0.1:5000:5000` the student removes the 0.0.0.0:5000 webapp (the notes' docker ps at "
        "L3342 no longer shows it; both cannot hold port 5000)",
        "DK33 runs on a second host, docker02, since it replaces docker0 daemon-wide; `ping baidu.com` (no "
        "internet) is not typed: the outbound check pings docker01 instead",
        "package installs (yum, apk add, apt) and the in-container `curl 172.17.0.8` are not typed (no internet)",
        "nginx, nginx:alpine, centos, redis, training/webapp and training/postgres are pre-loaded stand-ins under "
        "their Docker Hub names (no internet)",
        "seed 003 is typed before seed 000 (C27's `docker rm -f `docker ps -aq`` would otherwise remove seed 000's "
        "containers); C26 (whose containers that line removes) and C30's web5 (needs C26's web1) are not typed",
    ),
)
