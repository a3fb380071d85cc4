"""The pieces of running on Celery workers (harness/distributed) that need no broker."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.cli import build_parser, main
from harness.distributed import check_broker, redact
from harness.distributed.junit import junit_error_case, write_junit
from harness.distributed.planning import inventory_for, strip_xdist, unit_args
from harness.core.errors import UsageError
from harness.reporting.journal import Planned


def test_one_target_one_lab_inventory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = {"version": 1, "defaults": {"key_file": "keys/id", "known_hosts": "/abs/kh"},
           "targets": [{"name": "s01", "labs": ["a", "b"], "lab_hosts": {"a": {"docker01": {"address": "10.0.0.1"}},
                                                                          "b": {"docker01": {"address": "10.0.0.2"}}}},
                       {"name": "s02", "hosts": {"docker01": {"address": "10.0.0.3", "key_file": "k2"}}}]}
    one = inventory_for(raw, "s01", "b")
    assert [t["name"] for t in one["targets"]] == ["s01"]
    assert one["targets"][0]["labs"] == ["b"] and list(one["targets"][0]["lab_hosts"]) == ["b"]
    assert one["defaults"] == {"key_file": str(tmp_path / "keys/id"), "known_hosts": "/abs/kh"}  # absolute for workers
    two = inventory_for(raw, "s02", "a")
    assert two["targets"][0]["hosts"]["docker01"]["key_file"] == str(tmp_path / "k2")
    assert "lab_hosts" not in two["targets"][0]
    assert raw["targets"][0]["labs"] == ["a", "b"]  # the controller's copy is untouched


def test_unit_options():
    args = ["labs/x", "-p", "no:cacheprovider", "-q", "--report-dir=r", "--keep=failed", "-n", "2", "--dist",
            "loadgroup", "--lab-param=x.a=1", "-k", "dk20 and not slow", "--mode=grade", "--host-key-policy=strict"]
    assert "-n" not in strip_xdist(args) and "loadgroup" not in strip_xdist(args)
    assert unit_args(args) == ["--keep=failed", "--lab-param=x.a=1", "-k", "dk20 and not slow",
                               "--host-key-policy=strict"]


def test_junit_merged_counts(tmp_path):
    ok = ET.Element("testcase", classname="labs.x.test_x", name="test_a[s01]", time="0.1")
    failed = ET.Element("testcase", classname="labs.x.test_x", name="test_b[s01]", time="0.1")
    ET.SubElement(failed, "failure", message="no")
    skipped = ET.Element("testcase", classname="labs.x.test_x", name="test_c[s01]", time="0.1")
    ET.SubElement(skipped, "skipped", message="needs kvm")
    lost = junit_error_case(Planned("labs/x/test_x.py::test_d[s01]", "x", "s01", "test_d", "D", 1.0), "worker lost")
    write_junit(tmp_path / "junit.xml", [ok, failed, skipped, lost], 3.0)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "1", "1", "1")
    assert suite[3].get("classname") == "labs.x.test_x" and suite[3].get("name") == "test_d[s01]"


def test_broker_url_checked_and_redacted():
    assert redact("redis://:s3cret@ctl:6379/0") == "redis://:***@ctl:6379/0"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(UsageError, match="give a Redis URL"):
        check_broker("amqp://guest@localhost//")
    with pytest.raises(UsageError, match=r"^cannot reach the broker redis://127\.0\.0\.1:1/0: "):
        check_broker("redis://127.0.0.1:1/0", timeout=1)


def test_cli_worker_and_workers_option(capsys):
    p = build_parser()
    ns = p.parse_args(["worker", "--broker", "redis://h:1/0", "--concurrency", "3", "--queues", "grade"])
    assert (ns.broker, ns.concurrency, ns.queues) == ("redis://h:1/0", 3, "grade")
    assert p.parse_args(["validate", "--workers", "redis://h/0"]).workers == "redis://h/0"
    assert p.parse_args(["validate"]).workers is None  # without --workers nothing changes
    assert main(["worker", "--broker", "redis://127.0.0.1:1/0", "--queues", "bogus"]) == 2
    assert "--queues 'bogus'" in capsys.readouterr().err
    assert main(["validate", "--image", "latest", "--workers", "redis://127.0.0.1:1/0"]) == 2
