"""Provisioners make a lab's topology real and hand back one ``Host`` per topology host.

``container`` (default): Docker containers on this machine. ``static``: machines that
already exist, named by an inventory (students' hosts). ``libvirt``: nested host VMs booted
from a host image (``labctl image build``) on one or more libvirt URIs. Checks never know which
one made their hosts, and the plugin only asks the interface (``base.Provisioner``).
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.core.errors import UsageError
from harness.provisioners.base import Provisioner

#: name -> "module:class", imported on use (libvirt-python is only needed by the libvirt one)
CLASSES = {
    "container": "harness.provisioners.container:ContainerProvisioner",
    "static": "harness.provisioners.static:StaticProvisioner",
    "libvirt": "harness.provisioners.libvirt:LibvirtProvisioner",
}
NAMES = tuple(CLASSES)


def choose(opt: Any) -> str:
    """The provisioner a run's options ask for: named, or implied by --inventory / --host-image."""
    return opt.lh_provisioner or ("static" if opt.lh_inventory else "libvirt" if opt.lh_host_image else "container")


def provisioner_class(name: str) -> type[Provisioner]:
    if name not in CLASSES:
        raise UsageError(f"unknown provisioner {name!r} (choose from: {', '.join(NAMES)})")
    module, cls = CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


def get_provisioner(name: str, **kwargs) -> Provisioner:
    """A provisioner by name with explicit arguments (tests, tools); the plugin uses ``from_options``."""
    return provisioner_class(name)(**kwargs)
