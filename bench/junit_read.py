"""Reading a 100,000-case JUnit file: testgate vs a bare lxml parse vs junitparser.

    .venv/bin/python bench/junit_read.py [--cases N] [--rounds R]

Generates `bench/out/junit-<N>.xml` (pytest xunit2 shape: classes, parameters, 5% failures
with tracebacks, 2% skips, 1% xfails, some captured output) once, then times, interleaved:

- `lxml.etree.parse`: the reference, a bare parse of the whole file (no normalization at all);
- `testgate read_junit`: streaming read + normalized `Case` values with node ids (goal <= 1.5x);
- `testgate read_junit root=`: the same with classnames mapped to files under a project root;
- `junitparser`: `JUnitXml.fromfile` and its own iteration over every case's name, time, result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import compare

from testgate.read.junit import read_junit

OUT = Path(__file__).resolve().parent / "out"
TRACEBACK = "".join(
    f"    def helper_{i}(x):\n&gt;       assert x == {i}, 'value &lt; expected'\n"
    "E       AssertionError\n"
    for i in range(12)
)


def generate(path: Path, cases: int) -> None:
    """A pytest-like xunit2 file; deterministic, so every run times the same bytes."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest tests">']
    out.append(
        f'<testsuite name="pytest" errors="0" failures="{cases // 20}" skipped="{cases // 50}" '
        f'tests="{cases}" time="1234.5" timestamp="2026-11-21T05:00:00" hostname="ci">'
    )
    for i in range(cases):
        module = f"tests.pkg{i % 400 % 37}.test_mod{i % 400}"
        cls = f".TestThing{i % 7}" if i % 3 else ""
        name = f"test_case_{i}[param-{i % 11}]" if i % 4 == 0 else f"test_case_{i}"
        head = f'<testcase classname="{module}{cls}" name="{name}" time="0.{i % 1000:03d}"'
        if i % 20 == 1:
            out.append(
                f'{head}><failure message="AssertionError: value &lt; expected">{TRACEBACK}'
                f"</failure><system-out>captured stdout line {i}\n</system-out></testcase>"
            )
        elif i % 50 == 2:
            out.append(
                f'{head}><skipped type="pytest.skip" message="needs network">x</skipped></testcase>'
            )
        elif i % 100 == 3:
            out.append(f'{head}><skipped type="pytest.xfail" message="known bug" /></testcase>')
        else:
            out.append(f"{head} />")
    out.append("</testsuite>\n</testsuites>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    path = OUT / f"junit-{args.cases}.xml"
    if not path.exists():
        generate(path, args.cases)
    project = OUT / "project"
    for j in range(400):
        mod = project / "tests" / f"pkg{j % 37}" / f"test_mod{j}.py"
        mod.parent.mkdir(parents=True, exist_ok=True)
        mod.touch()
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, {args.cases} cases")

    import junitparser

    def bare_lxml() -> object:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return etree.parse(str(path), parser)

    def testgate() -> object:
        return read_junit(path)

    def testgate_root() -> object:
        return read_junit(path, root=project)

    def junitparser_iter() -> object:
        rows = []
        for suite in junitparser.JUnitXml.fromfile(str(path)):
            for case in suite:
                rows.append((case.classname, case.name, case.time, [r.type for r in case.result]))
        return rows

    report = read_junit(path, root=project)
    assert report.totals.tests == args.cases, report.totals
    assert report.cases[4].node_id == "tests/pkg4/test_mod4.py::TestThing4::test_case_4[param-4]"
    assert len(junitparser_iter()) == args.cases  # type: ignore[arg-type]
    compare(
        {
            "lxml.etree.parse": bare_lxml,
            "testgate read_junit": testgate,
            "testgate read_junit root=": testgate_root,
            "junitparser iteration": junitparser_iter,
        },
        reference="lxml.etree.parse",
        rounds=args.rounds,
    )


if __name__ == "__main__":
    main()
