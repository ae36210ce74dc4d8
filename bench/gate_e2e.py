"""`testgate gate` end to end on a synthetic project: 50,000 tests, 2,000 source files.

The script writes the project under bench/out/gate_e2e/: 2,000 modules (one template with
branches), a JUnit file of 50,000 cases in two sessions (unit shards + integration), and a
combined `.coverage` data file written with coverage.py's `CoverageData` API (arcs taken from
coverage.py's own parser of the template, a deterministic subset marked as executed).

It prints:
- medians (interleaved rounds) of `testgate gate` and `coverage report` on the same data, and
  their ratio (goal: gate <= 2 s): from `.coverage` without the analysis cache (each run
  deletes reports/.cache/coverage-analysis.sqlite first: every source file is parsed, as
  `coverage report` does) and with it (the previous run's parse of unchanged files is reused),
  and from coverage.json;
- in process, the share of the gate spent reading inputs (JUnit + coverage) vs checking and
  writing reports.

Run: .venv/bin/python bench/gate_e2e.py [--tests 50000] [--files 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import coverage
from _common import compare, run_command
from coverage.parser import PythonParser

from testgate.read.coverage import ANALYSIS_CACHE

OUT = Path(__file__).resolve().parent / "out" / "gate_e2e"

TEMPLATE = '''\
"""Module {n}."""


def parse_{n}(text, strict=False):
    if not text:
        return None
    parts = text.split(",")
    if strict and len(parts) > 3:
        raise ValueError(text)
    return [p.strip() for p in parts]


def clamp_{n}(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def describe_{n}(value):
    if value is None:
        kind = "none"
    elif isinstance(value, int):
        kind = "int"
    else:
        kind = "other"
    return f"{{kind}}:{{value}}"


def rarely_{n}(a, b):
    total = 0
    for i in range(a):
        if i % b:
            total += i
    return total
'''

PYPROJECT = """\
[tool.coverage.run]
branch = true
relative_files = true

[tool.coverage.report]
precision = 2

[tool.testgate.tests]
min_count = 40000
max_skipped = 1000

[tool.testgate.coverage]
fail_under = 50
fail_under_branches = 40
modules = { "src/pkg/core/*" = 50, "src/pkg/**" = 50 }

[tool.testgate.durations]
max_test = 2.0
paths = { "tests/unit/**" = 0.5 }
max_session = { unit = 5000, integration = 1000 }
"""


def executed_arcs(text: str) -> set[tuple[int, int]]:
    """A deterministic subset of the template's possible arcs: `rarely_*` never runs."""
    parser = PythonParser(text=text)
    parser.parse_source()
    rarely = text.index("def rarely_")
    cut = text[:rarely].count("\n") + 1
    arcs = set()
    for a, b in parser.arcs():
        if a > cut or b > cut or -cut in (a, b):
            continue
        if a > 0 and b > 0 and (a * 7 + b) % 5 == 0:
            continue  # some branches not taken
        arcs.add((a, b))
    return arcs


def generate(tests: int, files: int) -> Path:
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "reports" / "junit").mkdir(parents=True)
    (OUT / "reports" / "coverage").mkdir(parents=True)
    (OUT / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    arcs: dict[str, set[tuple[int, int]]] = {}
    for n in range(files):
        folder = "core" if n % 10 == 0 else f"area{n % 7}"
        rel = f"src/pkg/{folder}/mod_{n:04d}.py"
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = TEMPLATE.format(n=n)
        path.write_text(text, encoding="utf-8")
        arcs[rel] = executed_arcs(text)
    data = coverage.CoverageData(basename=str(OUT / "reports" / "coverage" / ".coverage"))
    data.add_arcs(arcs)
    data.write()

    sessions: dict[str, list[str]] = {"unit-1": [], "unit-2": [], "integration": []}
    seconds_of = dict.fromkeys(sessions, 0.0)
    for i in range(tests):
        mod = i % files
        if i % 10 == 9:
            session, where = "integration", "integration"
        else:
            session, where = ("unit-1" if i % 2 else "unit-2"), "unit"
        classname = f"tests.{where}.test_mod_{mod:04d}"
        seconds = 0.001 + (i % 97) / 1000
        seconds_of[session] += seconds
        body = ""
        if i % 500 == 0:
            body = '<skipped type="pytest.skip" message="not here">skip</skipped>'
        name = quoteattr(f"test_case_{i}[param-{i % 3}]")
        sessions[session].append(
            f'<testcase classname="{classname}" name={name} '
            f'file="tests/{where}/test_mod_{mod:04d}.py" time="{seconds:.3f}">{body}</testcase>'
        )
    for session, cases in sessions.items():
        head = (
            '<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="pytest" '
            f'tests="{len(cases)}" time="{seconds_of[session]:.3f}">\n'
        )
        xml = head + "\n".join(cases) + "\n</testsuite></testsuites>\n"
        (OUT / "reports" / "junit" / f"{session}.xml").write_text(xml, encoding="utf-8")
        if session.startswith("unit-"):  # what `testgate shard --manifest` leaves beside a shard
            group = int(session[5:])
            manifest = {"format": 1, "tool": "testgate", "session": "unit", "splits": 2,
                        "group": group, "tests": len(cases), "plan": "bench"}  # fmt: skip
            (OUT / "reports" / "junit" / f"{session}.json").write_text(json.dumps(manifest))
    return OUT


def phases(root: Path, rounds: int) -> None:
    """In process: reading inputs (`gather`) vs checks + reports, medians over `rounds`."""
    from testgate.commands.gate import write_reports
    from testgate.config import load
    from testgate.gate import gather, judge
    from testgate.model.gate import GateRun

    os.chdir(root)
    config = load(root)
    reading, total = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        inputs = gather(config)
        reading.append(time.perf_counter() - start)
        result = judge(inputs, config)
        flaky = inputs.flaky.report if inputs.flaky else None
        run = GateRun(result, inputs.reports, inputs.coverage_data, flaky, inputs.baseline)
        write_reports(run, config)
        total.append(time.perf_counter() - start)
    r, t = statistics.median(reading), statistics.median(total)
    print(
        f"in process: gate {t:.3f} s, of which reading inputs {r:.3f} s "
        f"({r / t:.0%}; JUnit, coverage data, git, sources), checks + reports {t - r:.3f} s"
    )
    failed = [c.id for c in run.result.checks if c.status.value == "fail"]
    print(f"checks: {len(run.result.checks)}, failed: {failed or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    root = generate(args.tests, args.files)
    print(
        f"generated {args.tests} tests, {args.files} source files in "
        f"{time.perf_counter() - start:.1f} s under {root}"
    )
    py = sys.executable
    with_json = json_variant(root)
    gate = run_command([py, "-m", "testgate", "gate"], cwd=root)
    cache = root / "reports" / ANALYSIS_CACHE

    def gate_cold() -> object:
        cache.unlink(missing_ok=True)
        return gate()

    gate()  # the warm contender starts warm
    contenders = {
        "coverage report": run_command(
            [py, "-m", "coverage", "report", "--data-file=reports/coverage/.coverage"],
            cwd=root,
        ),
        "testgate gate (.coverage, no cache)": gate_cold,
        "testgate gate (.coverage, cache)": gate,
        "testgate gate (coverage.json)": run_command([py, "-m", "testgate", "gate"], cwd=with_json),
    }
    print(f"wall time (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    compare(contenders, reference="coverage report", rounds=args.rounds)
    cpu_times(contenders, rounds=args.rounds)
    print("reading .coverage without the analysis cache (TESTGATE_NO_CACHE=1):")
    os.environ["TESTGATE_NO_CACHE"] = "1"
    phases(root, args.rounds)
    del os.environ["TESTGATE_NO_CACHE"]
    print("reading .coverage with the analysis cache of the previous round:")
    phases(root, args.rounds)
    print("reading coverage.json (what `nox -s coverage` leaves for `nox -s gate`):")
    phases(with_json, args.rounds)


def cpu_times(contenders: dict[str, Callable[[], object]], *, rounds: int) -> None:
    """User + system CPU seconds of each contender's process: steadier than wall time on a
    shared machine."""

    def child_cpu(fn: Callable[[], object]) -> Callable[[], float]:
        def go() -> float:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            fn()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime

        return go

    compare(
        {name: child_cpu(fn) for name, fn in contenders.items()},
        reference="coverage report",
        rounds=rounds,
        self_timed=True,
        label="contender (CPU s of its process)",
    )


def json_variant(root: Path) -> Path:
    """The same project after `testgate coverage`: coverage.json, no data files."""
    other = root.parent / (root.name + "_json")
    if other.exists():
        shutil.rmtree(other)
    (other / "reports").mkdir(parents=True)
    shutil.copy(root / "pyproject.toml", other / "pyproject.toml")
    shutil.copytree(root / "reports" / "junit", other / "reports" / "junit")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        cov = coverage.Coverage(data_file=str(root / "reports" / "coverage" / ".coverage"))
        cov.load()
        cov.json_report(outfile=str(other / "reports" / "coverage.json"))
    finally:
        os.chdir(cwd)
    return other


if __name__ == "__main__":
    main()
