"""Reading a 100,000-case JUnit file: testgate vs a bare lxml parse vs junitparser.

    .venv/bin/python bench/junit_read.py [--cases N] [--rounds R]

Generates `bench/out/junit-<N>.xml` once (pytest shape: classes, parameters, 5% failures with
long tracebacks, captured output, skips, xfails: tens of MB; `--light` for bare cases only),
then times, interleaved:

- `lxml.etree.parse`: the reference, a bare parse of the whole file (no normalization at all);
- `testgate read_junit`: streaming read + normalized `Case` values with node ids (goal <= 1.5x);
- `testgate read_junit root=`: the same with classnames mapped to files under a project root;
- `junitparser`: `JUnitXml.fromfile` and its own iteration over every case's name, time, result.

Three tables: wall time and CPU time in this process (contenders interleaved, rotated), and wall
time of the call alone in a fresh interpreter per run, as the CLI reads a file: on these VMs a
run in a process where another contender just freed a 150 MB tree measured up to 1.5x slower.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
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
CAPTURED = "".join(f"DEBUG worker {i}: processed batch of 128 items in 0.0{i}s\n" for i in range(8))


def generate(path: Path, cases: int, *, light: bool) -> None:
    """A pytest-like file; deterministic, so every run times the same bytes.

    realistic (default): xunit1 attributes (file, line), 5% failures with pytest-sized long
    tracebacks (~4 kB), 10% with captured stdout, 2% skips, 1% xfails: tens of MB for 100k cases.
    light: bare passing cases and a few short failures, the least a producer writes (~16 MB).
    """
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest tests">']
    out.append(
        f'<testsuite name="pytest" errors="0" failures="{cases // 20}" skipped="{cases // 50}" '
        f'tests="{cases}" time="1234.5" timestamp="2026-11-21T05:00:00" hostname="ci">'
    )
    traceback = TRACEBACK if light else TRACEBACK * 6
    for i in range(cases):
        m = i % 400
        module = f"tests.pkg{m % 37}.test_mod{m}"
        cls = f".TestThing{i % 7}" if i % 3 else ""
        name = f"test_case_{i}[param-{i % 11}]" if i % 4 == 0 else f"test_case_{i}"
        where = "" if light else f' file="tests/pkg{m % 37}/test_mod{m}.py" line="{i % 300}"'
        head = f'<testcase classname="{module}{cls}" name="{name}"{where} time="0.{i % 1000:03d}"'
        if i % 20 == 1:
            out.append(
                f'{head}><failure message="AssertionError: value &lt; expected">{traceback}'
                f"</failure><system-out>captured stdout line {i}\n</system-out></testcase>"
            )
        elif i % 50 == 2:
            out.append(
                f'{head}><skipped type="pytest.skip" message="needs network">x</skipped></testcase>'
            )
        elif i % 100 == 3:
            out.append(f'{head}><skipped type="pytest.xfail" message="known bug" /></testcase>')
        elif i % 10 == 4 and not light:
            out.append(f"{head}><system-out>{CAPTURED}</system-out></testcase>")
        else:
            out.append(f"{head} />")
    out.append("</testsuite>\n</testsuites>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--light", action="store_true", help="bare cases: the least bytes per case")
    args = ap.parse_args()
    path = OUT / f"junit-{args.cases}{'-light' if args.light else ''}.xml"
    if not path.exists():
        generate(path, args.cases, light=args.light)
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
    assert report.totals.failed == args.cases // 20
    assert len(junitparser_iter()) == args.cases  # type: ignore[arg-type]
    contenders = {
        "lxml.etree.parse": bare_lxml,
        "testgate read_junit": testgate,
        "testgate read_junit root=": testgate_root,
        "junitparser iteration": junitparser_iter,
    }
    compare(contenders, reference="lxml.etree.parse", rounds=args.rounds)
    compare(contenders, reference="lxml.etree.parse", rounds=args.rounds, clock=time.process_time)
    fresh_processes(path, rounds=args.rounds)


# Each run in a new interpreter, timing only the call, as a CLI reads a file: nothing a
# previous contender allocated or freed is in the way.
FRESH = {
    "lxml.etree.parse": (
        "from lxml import etree",
        "etree.parse(PATH, etree.XMLParser(resolve_entities=False, no_network=True,"
        " load_dtd=False))",
    ),
    "testgate read_junit": (
        "from testgate.read.junit import read_junit",
        "read_junit(PATH)",
    ),
    "junitparser iteration": (
        "import junitparser",
        "[(c.classname, c.name, c.time, [r.type for r in c.result])"
        " for s in junitparser.JUnitXml.fromfile(PATH) for c in s]",
    ),
}


def fresh_processes(path: Path, *, rounds: int) -> None:
    def contender(imports: str, call: str) -> Callable[[], float]:
        code = (
            f"import time\n{imports}\nPATH = {str(path)!r}\n"
            f"t = time.perf_counter()\nresult = {call}\nprint(time.perf_counter() - t)"
        )

        def go() -> float:
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            return float(done.stdout)

        return go

    compare(
        {name: contender(*spec) for name, spec in FRESH.items()},
        reference="lxml.etree.parse",
        rounds=rounds,
        self_timed=True,
        label="contender (a fresh process each run)",
    )


if __name__ == "__main__":
    main()
