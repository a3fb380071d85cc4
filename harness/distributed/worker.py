"""``labctl worker --broker URL``: a Celery worker that runs units (``harness.distributed.tasks``).

It needs the package, its own reach to the targets (SSH keys, known_hosts) and, for ``provision``
units, its own Docker daemon. Units run in ``./lh-units/`` of its working directory; everything
they make carries the run id (``<run id>-u<n>a<attempt>``): ``labctl reap`` here removes what a
killed unit left.
"""

from __future__ import annotations

import os

from harness.distributed import QUEUES, app, check_broker, configure, redact, worker_name
from harness.core.errors import UsageError


def main(broker: str, concurrency: int, queues: list[str], name: str | None = None, loglevel: str = "INFO") -> int:
    unknown = [q for q in queues if q not in QUEUES]
    if unknown or not queues:
        raise UsageError(f"--queues {','.join(queues)!r}: choose among {', '.join(QUEUES)}")
    if concurrency < 1:
        raise UsageError("--concurrency: 1 or more")
    check_broker(broker)
    configure(broker)
    from pathlib import Path

    from harness.distributed.tasks import clean_stale  # importing it registers the task

    for left in clean_stale(Path.cwd() / "lh-units"):
        print(f"removed what a killed unit left: lh-units/{left}", flush=True)

    print(f"labctl worker {name or worker_name()}: queues {','.join(queues)}, concurrency {concurrency}, "
          f"broker {redact(broker)}, units in {os.getcwd()}/lh-units", flush=True)
    argv = ["worker", "-Q", ",".join(queues), "-c", str(concurrency), "-n", name or worker_name(),
            "--loglevel", loglevel, "--without-gossip", "--without-mingle", "-P", "prefork"]
    app.worker_main(argv)
    return 0
