"""Provisioners make a lab's topology real and hand back one ``Host`` per topology host.

``container`` (default): Docker containers on this machine. ``static``: machines that
already exist, named by an inventory (students' hosts). ``libvirt``: nested host VMs booted
from a host image (``labctl image build``) on one or more libvirt URIs. Checks never know which one made their hosts.
"""

from __future__ import annotations

from harness.errors import UsageError
from harness.provisioners.base import Provisioner

NAMES = ("container", "static", "libvirt")


def get_provisioner(name: str, **kwargs) -> Provisioner:
    if name == "container":
        from harness.provisioners.container import ContainerProvisioner

        return ContainerProvisioner(**kwargs)
    if name == "static":
        from harness.provisioners.static import StaticProvisioner

        return StaticProvisioner(**kwargs)
    if name == "libvirt":
        from harness.provisioners.libvirt import LibvirtProvisioner

        return LibvirtProvisioner(**kwargs)
    raise UsageError(f"unknown provisioner {name!r} (choose from: {', '.join(NAMES)})")
