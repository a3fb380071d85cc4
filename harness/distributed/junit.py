"""One JUnit file for a run on workers, from the test cases every unit sends back."""

from __future__ import annotations

import datetime as dt
import socket
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from harness.reporting.journal import Planned


def junit_cases(text: str) -> list[ET.Element]:
    """The test cases of a unit's junit.xml (none when it is empty or unreadable)."""
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return []
    return list(root.iter("testcase"))


def junit_error_case(p: Planned, message: str) -> ET.Element:
    """The test case of a check the controller marks ERROR itself (lost worker, lost broker, missing)."""
    path, _, name = p.nodeid.partition("::")
    case = ET.Element("testcase", classname=path.removesuffix(".py").replace("/", "."), name=name, time="0.000")
    err = ET.SubElement(case, "error", message=message)
    err.text = message
    return case


def write_junit(path: Path, cases: list[ET.Element], seconds: float) -> None:
    """One test suite, as pytest writes it for a local run, from every unit's test cases."""
    counts = Counter()
    for c in cases:
        for kind in ("error", "failure", "skipped"):
            if c.find(kind) is not None:
                counts[kind] += 1
                break
    suites = ET.Element("testsuites", name="pytest tests")
    suite = ET.SubElement(suites, "testsuite", name="pytest", errors=str(counts["error"]),
                          failures=str(counts["failure"]), skipped=str(counts["skipped"]), tests=str(len(cases)),
                          time=f"{seconds:.3f}", timestamp=dt.datetime.now().isoformat(timespec="microseconds"),
                          hostname=socket.gethostname())
    suite.extend(cases)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
