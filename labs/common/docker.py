"""What the Docker labs' checks read from a host, shared: a container's and an image's inspect JSON.

Read-only (``docker ... inspect`` on the host). A missing container or image is the student's
state, so it is an assertion (FAIL) that names it and the host, never an ERROR.
"""

from __future__ import annotations

import json
from pathlib import Path


def container(host, name: str) -> dict:
    """``docker container inspect NAME`` on the host, or a FAIL saying it does not exist."""
    res = host.run("docker container inspect %s 2>/dev/null", name)
    assert res.rc == 0, f"container {name} does not exist on {host.name}"
    return json.loads(res.stdout)[0]


def running(host, name: str) -> dict:
    """The container's inspect JSON, or a FAIL saying it does not exist or is not running."""
    c = container(host, name)
    assert c["State"]["Running"], f"{name} is {c['State']['Status']}"
    return c


def image(host, ref: str, how: str = "") -> dict:
    """``docker image inspect REF`` on the host, or a FAIL saying it does not exist (``how``: a hint to add)."""
    res = host.run("docker image inspect %s", ref)
    assert res.rc == 0, f"image {ref} does not exist on {host.name}" + (f" ({how})" if how else "")
    return json.loads(res.stdout)[0]


MERGE = "/usr/local/bin/merge-daemon-json"
MERGE_SCRIPT = Path(__file__).parent / "files" / "merge-daemon-json.py"


def merge_daemon_json(h, daemon_json: str, keys: dict) -> None:
    """Merge ``keys`` into the host's daemon.json, keeping the keys already there (as a student edits
    it by hand: DK03's mirrors, DK24's insecure registries and DK33's bridge live in one file).
    Shared by every lab that edits daemon.json."""
    h.put_file(MERGE, MERGE_SCRIPT.read_bytes(), 0o755)
    h.check("%s %s %s", MERGE, daemon_json, json.dumps(keys))
