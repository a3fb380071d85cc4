"""The harness's mark on a libvirt domain: the ``<lh:run>`` metadata that names its run, and reading it back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

#: XML namespace of the harness's ``<metadata>`` element (``<lh:run>``). ``.invalid`` can never
#: resolve, which is what a private namespace URI should do.
METADATA_NS = "https://labharness.invalid/1"
METADATA_PREFIX = "lh"


def read_metadata(xml: str) -> dict[str, str]:
    """The ``<lh:run>`` key/values of a domain XML (``dom.XMLDesc()``) or of the bare element
    that ``dom.metadata(VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)`` returns (libvirt hands
    that back without its namespace: ``<run run_id="..."/>``); {} when absent."""
    root = ET.fromstring(xml)
    tag = f"{{{METADATA_NS}}}run"
    run = root if root.tag in (tag, "run") else root.find(f"metadata/{tag}")
    return dict(run.attrib) if run is not None else {}


def domain_metadata(domain: Any) -> dict[str, str]:
    """The harness metadata of a libvirt domain ({} for domains the harness did not make)."""
    import libvirt

    try:
        return read_metadata(domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return {}
        raise
