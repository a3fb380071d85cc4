"""Grade and validate on a pool of Celery workers (issue 14): ``labctl worker`` and ``--workers URL``.

The work of a run comes in independent **units**: one target x one lab in grade mode, one lab in
validate mode. The controller (``labctl grade|validate --workers redis://...``, module
``controller``) collects the run's checks as a local run would, writes them to its own journal as
planned, queues one Celery task per unit (queue ``grade`` for SSH-only grading, ``provision`` for
units that make hosts), shows the usual progress, and appends every check and environment record
a unit sends back to its journal; the reports (grades.json, CSV, HTML, JUnit, Allure) are then
written from that journal exactly as for a local run (``harness.reporting.journal.result_from_journal``).

A worker (``labctl worker --broker URL``, module ``tasks``) runs a unit as its own pytest session
in a subprocess: the same plugin, restricted to that target (a one-target inventory) and lab, with
a unit run id ``<run id>-u<n>a<attempt>`` (its own run lock, so ``labctl reap`` on the worker's
machine tells a live unit from a dead one). It returns the unit's journal records, its JUnit
test cases and Allure files.

Redis is the broker and the result backend. Celery settings for long units: late acks, prefetch
1, reject on worker lost, a visibility timeout above the hard time limit, soft/hard time limits.
A worker killed outright leaves its message unacknowledged until the visibility timeout, so the
controller also watches each started unit's heartbeat key (refreshed by the task while it runs,
expiring ``HEARTBEAT_TTL`` s after the worker dies) and re-queues a unit whose worker is gone:
once. A unit lost again is ERROR "worker lost" for each of its checks, never missing. A copy of a
superseded task that Redis delivers later does nothing (``labharness:<run>:superseded``), nor does
any task of a finished run (``labharness:<run>:done``).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit, urlunsplit

from celery import Celery

QUEUE_GRADE = "grade"
QUEUE_PROVISION = "provision"
QUEUES = (QUEUE_GRADE, QUEUE_PROVISION)

#: per unit: SIGINT to its pytest at the soft limit (it reports what it graded), killed at the hard one
SOFT_LIMIT = int(os.environ.get("LABHARNESS_UNIT_SOFT_LIMIT", "2700"))
HARD_LIMIT = int(os.environ.get("LABHARNESS_UNIT_HARD_LIMIT", str(SOFT_LIMIT + 300)))
#: Redis redelivers an unacknowledged message after this long: above the longest unit
VISIBILITY_TIMEOUT = HARD_LIMIT + 600
HEARTBEAT_EVERY = 2.0
HEARTBEAT_TTL = int(os.environ.get("LABHARNESS_HEARTBEAT_TTL", "12"))
MAX_ATTEMPTS = 2  # the first run and one re-queue
KEY_TTL = 7 * 24 * 3600

app = Celery("labharness", include=["harness.distributed.tasks"])


def configure(broker: str) -> Celery:
    """Point the app at ``broker`` (Redis: broker and result backend) with the settings for long units."""
    app.conf.update(
        broker_url=broker,
        result_backend=broker,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_soft_time_limit=SOFT_LIMIT,
        task_time_limit=HARD_LIMIT,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=KEY_TTL,
        task_default_queue=QUEUE_GRADE,
        task_create_missing_queues=True,
        broker_connection_timeout=4,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=3,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
        redis_socket_connect_timeout=4,
        redis_socket_timeout=10,
        redis_retry_on_timeout=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
    )
    return app


def redact(url: str) -> str:
    """The broker URL without its password, for messages and reports."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, f"{parts.username or ''}:***@{host}", parts.path, parts.query, parts.fragment))
    return url


def check_broker(url: str, timeout: float = 4.0) -> None:
    """One clear line (UsageError, exit 2) when the broker does not answer."""
    from harness.core.errors import UsageError

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError(f"--workers {redact(url)}: give a Redis URL, e.g. redis://controller:6379/0")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except Exception as exc:  # refused, unknown host, auth, timeout
        raise UsageError(f"cannot reach the broker {redact(url)}: {exc}") from None


def worker_name() -> str:
    return f"lh-{os.getpid()}@{socket.gethostname()}"


def key(run_id: str, *parts: str) -> str:
    return ":".join(("labharness", run_id, *parts))


#: what a worker's own cache shares with this machine's (hard links): the key and the images the
#: container provisioner mounts; never a build in progress (``hostimage/``, ``work/``) or logs
SHARED_CACHE = ("ssh", "standins", "guest", "debs", "rootfs", "accel.json")


def seed_cache(dest, source=None) -> None:
    """A worker cache of its own at ``dest``, hard-linked from ``source`` (default: this machine's),
    with its own known_hosts (copies where hard links cannot be made)."""
    import shutil
    import subprocess
    from pathlib import Path

    from harness.core.runs import cache_dir

    source, dest = Path(source or cache_dir()), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in SHARED_CACHE:
        src = source / name
        if not src.exists() or (dest / name).exists():
            continue
        if subprocess.run(["cp", "-al", str(src), str(dest / name)], capture_output=True).returncode:
            shutil.rmtree(dest / name, ignore_errors=True) if src.is_dir() else None
            subprocess.run(["cp", "-a", str(src), str(dest / name)], check=True)
    (dest / "ssh" / "known_hosts").unlink(missing_ok=True)
