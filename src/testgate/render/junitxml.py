"""`reports/gate-junit.xml`: one test case per check, so a CI test tab shows broken budgets."""

from __future__ import annotations

from lxml import etree

from testgate.checks import GateResult, Status
from testgate.render.text import value


def render(result: GateResult, *, suite_name: str = "testgate.gate") -> bytes:
    failures = len(result.failed)
    root = etree.Element("testsuites", name="testgate", tests=str(len(result.checks)))
    root.set("failures", str(failures))
    root.set("errors", "0")
    suite = etree.SubElement(root, "testsuite", name=suite_name, tests=str(len(result.checks)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", "0")
    for check in result.checks:
        case = etree.SubElement(suite, "testcase", classname=suite_name, name=check.id, time="0")
        text = (
            f"{check.message}\nactual: {value(check.id, check.actual)}"
            f"\nlimit: {value(check.id, check.limit)}"
        )
        if check.details:
            text += "\n" + "\n".join(check.details)
        if check.status is Status.FAIL:
            failure = etree.SubElement(case, "failure", message=check.message, type="budget")
            failure.text = text
        else:
            out = etree.SubElement(case, "system-out")
            warn = "warning (informational): " if check.status is Status.WARN else ""
            out.text = warn + text
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)
