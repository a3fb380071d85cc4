"""The course's volume steps in validate mode: the notes' own lines (the course replay,
``labs/volumes/replay.py``), scenario by scenario, on docker01."""

from __future__ import annotations

from harness.core.lab import Solution
from harness.core.replay import typed_step
from labs.volumes import replay

solution = Solution()


typed_step(solution, "DK26: cc_web with -v /chaoge_web:/webapp, web with :ro, web02 with an anonymous /webapp volume", replay.DK26)
typed_step(solution, "DK27: dbdata with a /dbdata volume; db1 and db2 with --volumes-from dbdata", replay.DK27)
typed_step(solution, "B08: tar dbdata's volume to ./backup.tar, restore it into dbdata2's empty volume", replay.B08)
typed_step(solution, "C11: docker volume create my-vol; nginx writes a.txt on it, nginx2 sees it at /opt/hh", replay.C11)
typed_step(solution, "C24: /data/web bound into web1 and web2; edits from the host and from web1; :ro; a single-file mount", replay.C24)
typed_step(solution, "C25: nginx-web serves /data/web read-only; web1, web2 --volumes-from it; stop it, web3; rm -fv it", replay.C25)


# The typical mistakes are the replay's (replay.py), graded by tests/integration/test_replays.py.
