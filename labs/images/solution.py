"""The course's image steps in validate mode: the notes' own lines (the course replay,
``labs/images/replay.py``), scenario by scenario, on docker01."""

from __future__ import annotations

from harness.core.lab import Solution
from harness.core.replay import typed_step
from labs.images import replay

solution = Solution()


typed_step(solution, "DK09: docker image save centos:7.2.1511 > centos-7.2.1511.tgz in /my_docker, remove the tag, load it back", replay.DK09)
typed_step(solution, "DK20 -> DK21: my_nginx02 (-d, --rm); docker export > my_nginx02.tar; docker import as test/my_nginx:v1.0", replay.DK21)
typed_step(solution, "DK09/DK21 (seed 004): docker save -o centos.tar centos:7, load it twice; cat *.tar | docker import - test", replay.S4)
typed_step(solution, "B02: docker tag centos:latest mycts:latest", replay.B02)
typed_step(solution, "C05: docker save -o and docker save > of centos:latest into /opt, and the loads", replay.C05)
typed_step(solution, "C14: docker run -d -it centos; docker export -o /opt/centos.tar; docker import -> mycentos:v1", replay.C14)


# The typical mistakes are the replay's (replay.py), graded by tests/integration/test_replays.py.
