"""The course's container steps in validate mode: the notes' own lines (the course replay,
``labs/containers/replay.py``), scenario by scenario, on docker01."""

from __future__ import annotations

from harness.core.lab import Solution
from harness.core.replay import typed_step
from labs.containers import replay

solution = Solution()


typed_step(solution, "DK05: docker run -d -p 80:80 nginx", replay.DK05)
typed_step(solution, "DK10: a one-shot centos:7.2.1511, nginx on 80, stop/kill, an -it shell, docker rm -f `docker ps -aq`", replay.DK10)
typed_step(solution, "DK20: ubuntu /bin/echo 'Hello world', -it ubuntu /bin/bash, my_nginx02 (--rm -d -p 80:80)", replay.DK20)
typed_step(solution, "B03: touch test in an -it ubuntu:14.04 shell; docker commit -m 'Add a test file' -a AZ -> test:0.1", replay.B03)
typed_step(solution, "B05: docker create -it ubuntu:latest; docker run --name mydocker -t -i centos /bin/bash", replay.B05)
typed_step(solution, "C08: nginx:alpine as nginx, an -ti /bin/sh, test_echo (echo 1), test_ping (ping), nginx -p 8080:80", replay.C08)
typed_step(solution, "C12: docker cp /tmp/test.txt to nginx and back to ./, stop/start, rm -f nginx", replay.C12)
typed_step(solution, "A09: docker run -ti --name nginx -d nginx; docker commit -a cool -m 'this is test ' -> nginx:1.0", replay.A09)


# The typical mistakes are the replay's (replay.py), graded by tests/integration/test_replays.py.
