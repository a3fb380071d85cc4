"""The course's networking steps, as the harness performs them in validate mode.

Interactive runs (`docker run -it ... bash`) become detached ones that stay up (`-dit`, or a
`sleep`); `brctl addif/delbr/addbr` become their `ip link` equivalents (no bridge-utils on
the hosts); `systemctl stop/restart docker` is `labharness-dockerd stop/start/restart`.
"""

from __future__ import annotations

from harness.lab import LabEnv, Mistake, Solution
from harness.wait import wait_until
from labs.common.docker import merge_daemon_json

solution = Solution()


@solution.step("DK28: netbase on the default bridge; netcont (--net=container:netbase), nethost (--net=host), netnone (--net=none)")
def dk28(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run -d --name netbase busybox sleep 3600")
    h.check("docker run -d --name netcont --net=container:netbase busybox sleep 3600")
    h.check("docker run -d --name nethost --net=host busybox sleep 3600")
    h.check("docker run -d --name netnone --net=none busybox sleep 3600")


@solution.step("DK29: a --net=none container, then a veth pair A/B by hand: A on docker0, B as its eth0 172.17.42.99/16")
def dk29(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name nonet --net=none centos sleep 3600")
    pid = h.check("docker inspect -f '{{.State.Pid}}' nonet").strip()
    h.check("mkdir -p /var/run/netns && ln -s /proc/%s/ns/net /var/run/netns/%s", pid, pid)
    h.check("ip link add %s type veth peer name %s", p.veth_host, p.veth_peer)
    h.check("ip link set %s master docker0 && ip link set %s up", p.veth_host, p.veth_host)  # brctl addif docker0 A
    h.check("ip link set %s netns %s", p.veth_peer, pid)
    h.check("ip netns exec %s ip link set dev %s name eth0", pid, p.veth_peer)
    h.check("ip netns exec %s ip link set eth0 up", pid)
    h.check("ip netns exec %s ip addr add %s dev eth0", pid, p.manual_ip)
    h.check("ip netns exec %s ip route add default via %s", pid, p.manual_gateway)


@solution.step("DK12: -p 81:80, -p IP:8080:80, -p IP::80, -p 8081:80/tcp, -p 82:80 -p 443:443")
def dk12(env: LabEnv) -> None:
    h = env["docker01"]
    ip = h.address
    h.check("docker run -d --name pm_81 -p 81:80 nginx")
    h.check("docker run -d --name pm_ipport -p %s:8080:80 nginx", ip)
    h.check("docker run -d --name pm_iprand -p %s::80 nginx", ip)
    h.check("docker run -d --name pm_proto -p 8081:80/tcp nginx")
    h.check("docker run -d --name pm_multi -p 82:80 -p 443:443 nginx")


@solution.step("DK30: training/webapp with -P, with -p 5000:5000, then only on 127.0.0.1:5000")
def dk30(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    port = str(p.webapp_port)
    h.check("docker run -d -P --name dk30-random training/webapp python app.py")
    h.check("docker run -d -p %s:5000 --name dk30-fixed training/webapp python app.py", port)
    h.check("docker rm -f dk30-fixed")  # 127.0.0.1:5000 would clash with 0.0.0.0:5000
    h.check("docker run -d -p 127.0.0.1:%s:5000 --name dk30-local training/webapp python app.py", port)


@solution.step("DK31: db (training/postgres), web01 --link db:db (training/webapp)")
def dk31(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run -d --name db training/postgres")
    h.check("docker run -d -P --name web01 --link db:db training/webapp python app.py")


@solution.step("B12: redis-master, redis-slave1 --link redis-master:master (both run redis-server)")
def b12(env: LabEnv) -> None:
    h = env["docker01"]
    h.check("docker run -d --name redis-master redis")
    h.check("docker run -d --name redis-slave1 --link redis-master:master redis")


@solution.step("A06: docker network create my-net; connect redis-master; a06client on my-net")
def a06(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker network create %s", p.user_network)
    h.check("docker network connect %s redis-master", p.user_network)
    h.check("docker run -d --name a06client --network %s busybox sleep 3600", p.user_network)


@solution.step("C27/C28: test1 and test2 on docker0; test with -p 8088:80 (nginx:alpine)")
def c27_c28(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -d --name test1 nginx:alpine")
    h.check("docker run -d --name test2 nginx:alpine")
    h.check("docker run --name test -d -p %s:80 nginx:alpine", str(p.nat_port))


@solution.step("C13: --dns 8.8.8.8; B10: -h labhost --dns 1.1.1.1 --dns-search example.com")
def dns(env: LabEnv) -> None:
    p, h = env.params, env["docker01"]
    h.check("docker run -dit --name c13dns --dns %s centos bash", p.dns)
    h.check("docker run -d --name b10 -h %s --dns %s --dns-search %s busybox sleep 3600",
            p.b10_hostname, p.b10_dns, p.b10_search)


@solution.step("DK33 (docker02): stop docker, delete docker0, create bridge0 192.168.5.1/24, \"bridge\": \"bridge0\", start docker")
def dk33(env: LabEnv) -> None:
    p, h = env.params, env["docker02"]
    h.check("labharness-dockerd stop")
    h.check("ip link set dev docker0 down && ip link delete docker0")  # brctl delbr docker0
    h.check("ip link add %s type bridge && ip addr add %s dev %s && ip link set dev %s up",  # brctl addbr
            p.custom_bridge, p.custom_cidr, p.custom_bridge, p.custom_bridge)
    merge_daemon_json(h, p.daemon_json, {"bridge": p.custom_bridge})
    h.check("labharness-dockerd start", timeout=120)
    # dockerd 20.10 restores the old default network once and leaves docker0 behind (the
    # course's 19.03 did not): delete it again, as `ifconfig docker0` in the notes expects none.
    h.check("! ip link show docker0 >/dev/null 2>&1 || ip link delete docker0")
    h.check("docker run -dit --name dk33 centos bash")


# --------------------------------------------------------------------------- typical mistakes


def _link_missing(env: LabEnv) -> None:
    """Re-ran web01 without --link db:db."""
    h = env["docker01"]
    h.check("docker rm -f web01")
    h.check("docker run -d -P --name web01 training/webapp python app.py")


def _loopback_forgotten(env: LabEnv) -> None:
    """Published the last webapp on 0.0.0.0:5000 instead of 127.0.0.1:5000."""
    p, h = env.params, env["docker01"]
    h.check("docker rm -f dk30-local")
    h.check("docker run -d -p %s:5000 --name dk30-local training/webapp python app.py", str(p.webapp_port))


def _veth_not_on_bridge(env: LabEnv) -> None:
    """Skipped `brctl addif docker0 A`: the host end of the veth pair is on no bridge."""
    env["docker01"].check("ip link set %s nomaster", env.params.veth_host)


def _bridge_key_missing(env: LabEnv) -> None:
    """Built bridge0 but never put "bridge": "bridge0" in daemon.json: docker recreates docker0."""
    p, h = env.params, env["docker02"]
    h.put_file(p.daemon_json, b"{}\n")
    h.check("labharness-dockerd restart", timeout=120)
    wait_until(lambda: h.run("ip link show docker0").rc == 0, timeout=30, what="docker0 back on docker02")


MISTAKES = (
    Mistake("link_missing", "ran web01 without --link db:db", _link_missing,
            frozenset({"test_dk31_link_config", "test_dk31_link_hosts_and_env"})),
    Mistake("loopback_forgotten", "published the last webapp on 0.0.0.0:5000, not 127.0.0.1:5000", _loopback_forgotten,
            frozenset({"test_dk30_loopback_only"})),
    Mistake("veth_not_on_bridge", "never attached the host end A of the veth pair to docker0", _veth_not_on_bridge,
            frozenset({"test_dk29_host_side", "test_dk29_host_reaches_container"})),
    Mistake("bridge_key_missing", "made bridge0 but left \"bridge\" out of daemon.json", _bridge_key_missing,
            frozenset({"test_dk33_bridge0_replaces_docker0", "test_dk33_daemon_uses_bridge0",
                       "test_dk33_containers_on_bridge0", "test_dk33_masquerade", "test_dk33_outbound"})),
)
