"""Writing flaky-junit.xml (Surefire's flakyFailure/rerunFailure shape): lxml, as testgate does,
vs junitparser's xunit2 classes, which would build the same elements through its wrappers.

    .venv/bin/python bench/junit_write.py [--tests N] [--rounds R]

N tests of a hunt (a third flaky with two flakyFailure each, a tenth failing in every run with
a failure and two rerunFailure), written both ways, interleaved; prints the medians, the ratio,
whether the two files are the same bytes, and the import time of each library in a fresh
process. junitparser's suite bookkeeping grows faster than linearly with the number of cases,
so the default is 2,000 tests, not a hunt of a 100,000-test suite. junitparser is in the
`bench` dependency group, not a testgate dependency.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import compare

from testgate.flaky.aggregate import Failure, TestSummary
from testgate.flaky.report import flaky_junit
from testgate.model.flaky import FAILED, FLAKY, SKIPPED


def hunt(n: int) -> list[TestSummary]:
    tests = []
    for i in range(n):
        node = f"tests/pkg{i % 37}/test_mod{i % 400}.py::TestThing::test_case_{i}"
        if i % 3 == 0:
            fails = tuple(Failure(r, 1000 + r, f"assert {i} == {r}\ndetail") for r in (2, 5))
            tests.append(TestSummary(node, 8, 2, 0, fails, 1.5))
        elif i % 10 == 1:
            fails = tuple(Failure(r, 1000 + r, f"boom {i}") for r in (1, 2, 3))
            tests.append(TestSummary(node, 0, 3, 0, fails, 0.3))
        elif i % 50 == 2:
            tests.append(TestSummary(node, 0, 0, 10, (), 0.0))
        else:
            tests.append(TestSummary(node, 10, 0, 0, (), 0.2))
    return tests


def with_junitparser(tests: list[TestSummary]) -> bytes:
    """The same document through junitparser's xunit2 API, serialized as testgate does."""
    import junitparser
    from junitparser import xunit2
    from lxml import etree

    xml = xunit2.JUnitXml()
    suite = xunit2.TestSuite("testgate.flaky")  # type: ignore[no-untyped-call,unused-ignore]  # untyped in junitparser; absent in the lint env
    failures = skipped = 0
    for t in tests:
        parts = t.id.split("::")
        module = parts[0].removesuffix(".py").replace("/", ".")
        case = xunit2.TestCase(parts[-1], ".".join([module, *parts[1:-1]]))
        case._elem.set("file", parts[0])
        case.time = round(t.seconds / max(1, t.runs), 3)

        def text(f: Failure) -> str:
            return f"run {f.iteration} (seed {f.seed}): {f.message}"

        def interim(kind: type[xunit2.InterimResult], f: Failure) -> xunit2.InterimResult:
            result = kind(text(f).splitlines()[0], "AssertionError")
            result.stack_trace = text(f)
            return result

        if t.verdict == FLAKY:
            for f in t.failures:
                case.add_interim_result(interim(xunit2.FlakyFailure, f))
        elif t.verdict == FAILED:
            failures += 1
            first, *rest = t.failures
            failure = junitparser.Failure(text(first).splitlines()[0], "AssertionError")
            failure.text = text(first)
            case.result = [failure]
            for f in rest:
                case.add_interim_result(interim(xunit2.RerunFailure, f))
        elif t.verdict == SKIPPED:
            skipped += 1
            case.result = [junitparser.Skipped("skipped in every run")]
        suite.add_testcase(case)
    suite.update_statistics()  # type: ignore[no-untyped-call,unused-ignore]  # untyped in junitparser; absent in the lint env
    xml.add_testsuite(suite)
    return bytes(
        etree.tostring(xml._elem, xml_declaration=True, encoding="utf-8", pretty_print=True)
    )


def import_time(module: str) -> float:
    code = f"import time\nt = time.perf_counter()\nimport {module}\nprint(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=int, default=2_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    tests = hunt(args.tests)
    ours, theirs = flaky_junit(tests), with_junitparser(tests)
    print(f"{args.tests} tests: testgate {len(ours) / 1e6:.1f} MB, junitparser "
          f"{len(theirs) / 1e6:.1f} MB, same bytes: {ours == theirs}")  # fmt: skip
    compare(
        {
            "lxml (testgate)": lambda: flaky_junit(tests),
            "junitparser xunit2": lambda: with_junitparser(tests),
        },
        reference="lxml (testgate)",
        rounds=args.rounds,
    )
    compare(
        {
            "import lxml.etree": lambda: import_time("lxml.etree"),
            "import junitparser": lambda: import_time("junitparser"),
        },
        reference="import lxml.etree",
        rounds=args.rounds,
        self_timed=True,
        label="import (a fresh process each run)",
    )


if __name__ == "__main__":
    main()
