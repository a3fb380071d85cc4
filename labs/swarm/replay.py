"""The swarm lab as a student types it: docker.md DK39-DK42 (seed 000 L4136-L4392).

The notes' three docker-machine VMs (manager, worker1, worker2 at 192.168.99.100-102) are three
docker hosts here, given, with those names. The join token the student copies from `docker swarm
init`'s output travels from manager to the workers over TCP (socat), and the manager's address
is its own (`hostname -i`), not 192.168.99.100.
"""

from __future__ import annotations

from harness.core.replay import File, Line, Replay, ReplayMistake, Wait

M, W1, W2 = "manager", "worker1", "worker2"

# what the student copies from `docker swarm init`'s output: served to the workers for 10 minutes
TOKEN_SERVER = Line(M, "setsid nohup timeout 600 socat -U TCP-LISTEN:2378,reuseaddr,fork "
                       "EXEC:'docker swarm join-token -q worker' >/dev/null 2>&1 &",
                    seed="adaptation: the join token, copied from init's output")
JOIN = "docker swarm join --token $(socat -u TCP:manager:2378 STDOUT) manager:2377"


def _converged(service: str, replicas: int) -> Wait:
    count = (f"docker service ps -q --filter desired-state=running {service}"
             " | xargs -r docker inspect -f '{{.Status.State}}' | grep -c '^running$'")
    return Wait(M, f'[ "$({count})" = {replicas} ]',
                why=f"{service}: {replicas} running task(s) (`docker service ls` shows {replicas}/{replicas})",
                timeout=300, every=3)


STACK_UP = (_converged("wordpress_db", 1), _converged("wordpress_visualizer", 1), _converged("wordpress_wordpress", 3))
NODES_READY = Wait(M, "[ \"$(docker node ls --format '{{.Hostname}} {{.Status}}' | sort | tr '\\n' ' ')\" = "
                      "'manager Ready worker1 Ready worker2 Ready ' ]",
                   why="manager, worker1 and worker2 Ready in `docker node ls`", timeout=120)

ACTIONS = (
    # DK39 (docker-machine create/ssh: the three hosts are given)
    Line(M, "docker swarm init --advertise-addr $(hostname -i)", seed="000:L4153"),
    TOKEN_SERVER,
    Line(W1, JOIN, seed="000:L4178"),
    # the notes' transcript types this on worker1 again (it fails there): the section is worker2's
    Line(W2, JOIN, seed="000:L4196"),
    NODES_READY,
    Line(M, "docker node ls", seed="000:L4206"),
    # DK40 (the `curl 192.168.99.100` from docker01 needs the routing mesh: no docker01, no IPVS here)
    Line(M, "docker service create --replicas 3 -p 80:80 --name nginx nginx:1.13.7-alpine", seed="000:L4222"),
    Line(M, "docker service ls", seed="000:L4246"),
    Line(M, "docker service ps nginx", seed="000:L4250"),
    Line(M, "docker service logs nginx", seed="000:L4256", timeout=30),
    # DK41
    Line(M, "docker service scale nginx=5", seed="000:L4270"),
    Line(M, "docker service ps nginx", seed="000:L4280"),
    Line(M, "docker service scale nginx=2", seed="000:L4292"),
    Line(M, "docker service ps nginx", seed="000:L4300"),
    Line(M, "docker service rm nginx", seed="000:L4310"),
    Line(M, "docker service ls", seed="000:L4312"),
    # DK42, in ~ on the manager
    File(M, "/root/docker-compose.yml", "stack/docker-compose.yml", seed="000:L4327"),
    Line(M, "docker stack deploy -c docker-compose.yml wordpress", seed="000:L4383"),
    Line(M, "docker service ls", seed="000:L4387"),
    *STACK_UP,
)

MISTAKES = (
    ReplayMistake(
        "worker2-not-joined",
        "worker2 never joined: the notes' worker2 transcript logs in to worker1 and runs `docker swarm join` "
        "there again (\"This node is already part of a swarm\")",
        lines=(Line(W2, "docker swarm leave", seed="state of a node that never joined"),
               Line(M, "docker node rm --force worker2", seed="state of a node that never joined"),
               Line(W1, JOIN.replace("$(socat -u TCP:manager:2378 STDOUT)", "SWMTKN-1-5w739v2n2bxxcmeoqc4gycmkwsbxm1j1np2uiyhwxyjhxzhe6h-8x5iwwatcan0by1no0yhtc80e"),
                    seed="000:L4196", fails=True),
               # the swarm moves worker2's tasks to the other nodes
               *STACK_UP),
        undo=(TOKEN_SERVER, Line(W2, JOIN, seed="000:L4196"), NODES_READY),
        fails=frozenset({"test_dk39_workers_joined", "test_dk39_node_ls"})),
    ReplayMistake(
        "visualizer-no-socket",
        "left the visualizer's `volumes: - \"/var/run/docker.sock:/var/run/docker.sock\"` out of docker-compose.yml",
        lines=(Line(M, "sed -i '/^    volumes:$/{N;/docker.sock/d}' docker-compose.yml", seed="000:L4362"),
               Line(M, "docker stack deploy -c docker-compose.yml wordpress", seed="000:L4383"),
               Wait(M, "docker service inspect -f '{{len .Spec.TaskTemplate.ContainerSpec.Mounts}}' wordpress_visualizer"
                       " | grep -qx 0", why="the stack updated the visualizer"),
               *STACK_UP),
        undo=(File(M, "/root/docker-compose.yml", "stack/docker-compose.yml", seed="000:L4327"),
              Line(M, "docker stack deploy -c docker-compose.yml wordpress", seed="000:L4383"),
              Wait(M, "docker service inspect -f '{{len .Spec.TaskTemplate.ContainerSpec.Mounts}}' wordpress_visualizer"
                      " | grep -qx 1", why="the stack updated the visualizer"),
              *STACK_UP),
        fails=frozenset({"test_dk42_visualizer", "test_dk42_visualizer_page"})),
    ReplayMistake(
        "nginx-not-removed",
        "stopped after DK41's `docker service scale nginx=2`: the nginx service was never removed "
        "(typed after the stack, so without `-p 80:80`, which the stack's wordpress holds now)",
        lines=(Line(M, "docker service create --replicas 2 --name nginx nginx:1.13.7-alpine", seed="000:L4222"),),
        undo=(Line(M, "docker service rm nginx", seed="000:L4310"),
              Wait(M, "[ -z \"$(docker ps -aq --filter label=com.docker.swarm.service.name=nginx)\" ]",
                   why="nginx's containers are gone on the manager")),
        fails=frozenset({"test_dk41_nginx_removed"})),
)

REPLAY = Replay(
    actions=ACTIONS,
    mistakes=MISTAKES,
    adaptations=(
        "The notes' docker-machine VMs (`docker-machine create -d virtualbox ...`, `docker-machine ssh`) are three "
        "given docker hosts named manager, worker1 and worker2; their lines are typed on those hosts directly",
        "`--advertise-addr 192.168.99.100` is the manager's own address (`$(hostname -i)`), and the workers join "
        "`manager:2377`",
        "The join token the student copies from `docker swarm init`'s output reaches the workers over TCP "
        "(socat on the manager's port 2378, for 10 minutes) instead of by copy and paste",
        "The notes' worker2 transcript runs `docker swarm join` on worker1 again; the replay types it on worker2, "
        "where the section (操作woker2节点) and `docker node ls` show it",
        "No docker01 here: DK40's `docker-machine ls` and `curl 192.168.99.100` are not typed; without IPVS in the "
        "kernel the routing mesh (ports 80 and 8080 of the stack) and the services' VIPs do not forward, so the "
        "checks that need them are SKIP",
        "Course images are preloaded stand-ins under their Docker Hub names (the nodes try the registry, fail, "
        "and run the local image)",
    ),
)
