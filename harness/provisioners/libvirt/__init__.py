"""Hosts as nested VMs ("L1" hosts): qcow2 overlays on a host image, on one or more libvirt URIs.

Each topology host is a transient libvirt domain booted from a host image
(``labctl image build``, :mod:`harness.provisioners.libvirt.hostimage`) through a qcow2 overlay of its own, on an
isolated libvirt network made for the environment (no ``<forward>``: nothing leaves the
hypervisor; the hypervisor reaches the hosts, the hosts reach each other by their course names).
Under TCG the L1s get ``<cpu mode='maximum'>`` — QEMU emulates AMD SVM, so ``kvm_amd`` loads in
the L1 and lab guests (L2) run with ``type='kvm'`` there; where the hypervisor has KVM, the L1s
get KVM with ``host-passthrough`` and nested virtualisation if the hypervisor allows it.

One module a job, each importing only those above it in this list:

- ``hypervisor``: one libvirt URI — connection, storage pool and uploads, networks, its L1 domains;
- ``domain``: one L1 host as data (``L1Spec``), its domain XML, a cold boot;
- ``reaping``: what a dead run (or one environment) left on a hypervisor, removed;
- ``ready``: when a started host is ready (SSH, then its role's daemon), and what follows;
- ``templates``: saved-state templates and their clones (surgery on libvirt's save-file header);
- ``provisioner``: ``LibvirtProvisioner``, environments spread over the hypervisors.

Everything made carries the run id (domain ``<metadata>``, ``lh_<run id>_...`` names), so
``labctl reap`` removes what a dead run left on every hypervisor it is given.
"""

from __future__ import annotations

from harness.kvm.metadata import METADATA_NS
from harness.provisioners.libvirt.domain import MEMORY_MIB, TB_CACHE_MIB, L1Spec, domain_xml
from harness.provisioners.libvirt.hypervisor import (DEFAULT_URI, KIND, POOL, POOL_DIR, TEMPLATE_KIND, Hypervisor,
                                                     check_hypervisors, is_local)
from harness.provisioners.libvirt.provisioner import LibvirtProvisioner
from harness.provisioners.libvirt.ready import ImageBroken
from harness.provisioners.libvirt.reaping import default_uris, leftover_runs, reap, remove_run, run_of
from harness.provisioners.libvirt.templates import SAVE_HEADER, SAVE_MAGIC, Template

__all__ = [
    "DEFAULT_URI", "KIND", "MEMORY_MIB", "METADATA_NS", "POOL", "POOL_DIR", "SAVE_HEADER", "SAVE_MAGIC",
    "TB_CACHE_MIB", "TEMPLATE_KIND", "Hypervisor", "ImageBroken", "L1Spec", "LibvirtProvisioner", "Template",
    "check_hypervisors", "default_uris", "domain_xml", "is_local", "leftover_runs", "reap", "remove_run", "run_of",
]
