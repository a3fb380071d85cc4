"""The plugin's command-line options, and the parsing of those that need it (``--lab-param``)."""

from __future__ import annotations

import pytest

from harness.core.errors import UsageError
from harness.provisioners import NAMES as PROVISIONERS


def add_options(parser: pytest.Parser) -> None:
    g = parser.getgroup("labharness", "lab harness (grading and validation of course labs)")
    g.addoption("--mode", dest="lh_mode", choices=("grade", "validate"), default=None,
                help="validate: provision hosts and run each lab's reference solution before its checks (default); "
                     "grade: only run checks against existing hosts (needs --inventory)")
    g.addoption("--inventory", dest="lh_inventory", default=None, metavar="YAML",
                help="the targets (students) and their hosts; implies --provisioner static")
    g.addoption("--provisioner", dest="lh_provisioner", default=None, choices=PROVISIONERS,
                help="who makes the hosts: container (default), static (inventory), libvirt")
    g.addoption("--report-dir", dest="lh_report_dir", default="reports", metavar="DIR",
                help="reports go to DIR/<run-id>/ (default: ./reports)")
    g.addoption("--keep", dest="lh_keep", choices=("never", "failed", "always"), default="never",
                help="keep provisioned hosts after a lab: never, when a check did not pass, always")
    g.addoption("--run-id", dest="lh_run_id", default=None, help="label for everything this run creates (default: generated)")
    g.addoption("--lab-param", dest="lh_params", action="append", default=[], metavar="LAB.NAME=VALUE",
                help="override a course value, e.g. --lab-param disk_images.data_dir=/srv/data")
    g.addoption("--host-image", dest="lh_host_image", default=None, metavar="PATH",
                help="libvirt provisioner (implied): boot the hosts from this host image (a directory made by "
                     "`labctl image build`, its disk.qcow2, or 'latest')")
    g.addoption("--hypervisor", dest="lh_hypervisors", action="append", default=[], metavar="URI",
                help="libvirt provisioner: a libvirt URI to run host VMs on, repeatable (default qemu:///system)")
    g.addoption("--host-key-policy", dest="lh_host_key_policy", default=None, choices=("tofu", "strict", "ignore"),
                help="SSH host keys of an inventory's hosts: tofu (record on first use, refuse a change; the default), "
                     "strict (only hosts already in known_hosts), ignore; overrides the inventory's host_key_policy")
    g.addoption("--no-negative-control", dest="lh_negative_control", action="store_false", default=True,
                help="validate mode: do not run each lab's checks on its fresh hosts before the solution "
                     "(the negative control, harness/plugin/negative.py)")
    g.addoption("--known-hosts", dest="lh_known_hosts", default=None, metavar="FILE",
                help="the harness's known_hosts file (default: $LABHARNESS_CACHE/ssh/known_hosts); overrides the inventory's")


def parse_params(raw: list[str]) -> dict[str, dict[str, str]]:
    """``--lab-param LAB.NAME=VALUE`` items as {lab: {name: value}}."""
    out: dict[str, dict[str, str]] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        lab, dot, name = key.partition(".")
        if not sep or not dot or not lab or not name:
            raise UsageError(f"--lab-param {item!r}: expected LAB.NAME=VALUE")
        out.setdefault(lab, {})[name] = value
    return out
