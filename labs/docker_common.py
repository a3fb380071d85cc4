"""What the Docker labs' checks read from a host, shared: a container's and an image's inspect JSON.

Read-only (``docker ... inspect`` on the host). A missing container or image is the student's
state, so it is an assertion (FAIL) that names it and the host, never an ERROR.
"""

from __future__ import annotations

import json


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
