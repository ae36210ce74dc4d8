"""Real `coverage run -m pytest` in tmp_path projects: what testgate reads from the data files,
JSON and Cobertura equals what `coverage report` / `coverage json` say, and parallel files
recorded in two different checkouts combine to the same result as one single-directory run."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from testgate._safeio import OutputError
from testgate.errors import InputError
from testgate.model import CoverageData, display_percent
from testgate.read.coverage import (
    combine_data_files,
    find_data_files,
    load_project_coverage,
    read_coverage,
    write_coverage_reports,
)

pytestmark = pytest.mark.slow

CORE = """\
def classify(x):
    if x > 0:
        return "pos"
    elif x < -5:
        return "very negative"
    return "small"


def total(items):
    acc = 0
    for item in items:
        if item is None:
            continue
        acc += item
    return acc


def parse(text):
    try:
        return int(text)
    except ValueError:
        return None


def never():  # pragma: no cover
    return 0
"""

EXTRA = """\
def walk(n):
    out = [i for i in range(n) if i % 2]
    while n > 10:
        n -= 10
    return out, n


def unused(flag):
    if flag:
        return 1
    return 2
"""

TEST_CORE = """\
from pkg.core import classify, parse, total


def test_classify():
    assert classify(3) == "pos"
    assert classify(0) == "small"


def test_total():
    assert total([1, None, 2]) == 3


def test_parse():
    assert parse("4") == 4
"""

TEST_EXTRA = """\
from pkg.extra import walk


def test_walk():
    assert walk(3) == ([1], 3)
"""


def make_project(where: Path, *, branch: bool, relative_files: bool = False) -> Path:
    (where / "src" / "pkg").mkdir(parents=True)
    (where / "tests").mkdir()
    (where / "src" / "pkg" / "__init__.py").write_text("")
    (where / "src" / "pkg" / "core.py").write_text(CORE)
    (where / "src" / "pkg" / "extra.py").write_text(EXTRA)
    (where / "tests" / "test_core.py").write_text(TEST_CORE)
    (where / "tests" / "test_extra.py").write_text(TEST_EXTRA)
    (where / "pyproject.toml").write_text(
        "[tool.coverage.run]\n"
        f"branch = {str(branch).lower()}\n"
        "parallel = true\n"
        f"relative_files = {str(relative_files).lower()}\n"
        'source = ["pkg"]\n'
        "[tool.coverage.report]\n"
        "precision = 2\n"
    )
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """The child must not inherit the coverage/pytest settings of the run that tests us."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE", "PYTEST"))}
    env.update(extra)
    return env


PYTEST_PLUGINS = ("-p", "no:randomly", "-p", "no:cacheprovider")


def coverage_run(project: Path, data_file: Path, *tests: str) -> None:
    data_file.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "run", "-m", "pytest", "-q", *PYTEST_PLUGINS, *tests],
        cwd=project,
        env=clean_env(PYTHONPATH="src", COVERAGE_FILE=str(data_file)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def coverage_cli(project: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def shown(data: CoverageData) -> str:
    return display_percent(data.totals.percent, data.precision)


@dataclass(frozen=True)
class Runs:
    single: Path  # both sessions run in one checkout, combined by coverage itself
    combined_data: Path  # `coverage combine --keep` of the single checkout's files
    report_total: str  # `coverage report --format=total`
    json_report: dict[str, object]
    sharded_root: Path  # a third checkout that receives the files of two others


def record(tmp: Path, *, branch: bool, relative_files: bool = False) -> Runs:
    single = make_project(tmp / "single", branch=branch, relative_files=relative_files)
    data = single / "reports" / "coverage"
    coverage_run(single, data / ".coverage.unit", "tests/test_core.py")
    coverage_run(single, data / ".coverage.integration", "tests/test_extra.py")
    out = single / "combined.coverage"
    parallel = [str(p) for p in find_data_files(data)]
    coverage_cli(single, "combine", "--keep", f"--data-file={out}", *parallel)
    total = coverage_cli(single, "report", f"--data-file={out}", "--format=total").strip()
    coverage_cli(single, "json", f"--data-file={out}", "-o", "coverage-cli.json")
    json_report = json.loads((single / "coverage-cli.json").read_text())

    # Two "machines": other checkout paths, one session each; their files are gathered
    # into the reports folder of a third checkout, as CI artifacts would be.
    root = make_project(tmp / "gate", branch=branch, relative_files=relative_files)
    for name, test in (("one", "tests/test_core.py"), ("two", "tests/test_extra.py")):
        machine = make_project(tmp / "machines" / name / "checkout", branch=branch,
                               relative_files=relative_files)  # fmt: skip
        coverage_run(machine, machine / "reports" / "coverage" / f".coverage.{name}", test)
        for f in find_data_files(machine / "reports" / "coverage"):
            target = root / "reports" / "coverage" / name / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        shutil.rmtree(machine)  # the other machine's tree is really gone
    return Runs(single, out, total, json_report, root)


@pytest.fixture(scope="module")
def branch_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return record(tmp_path_factory.mktemp("branch"), branch=True)


@pytest.fixture(scope="module")
def lines_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return record(tmp_path_factory.mktemp("lines"), branch=False)


@pytest.fixture(scope="module")
def relative_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return record(tmp_path_factory.mktemp("relative"), branch=True, relative_files=True)


@pytest.fixture(params=["branch", "lines", "relative"])
def runs(request: pytest.FixtureRequest) -> Runs:
    runs: Runs = request.getfixturevalue(f"{request.param}_runs")
    return runs


def assert_same_as_json(data: CoverageData, report: dict[str, object]) -> None:
    files = report["files"]
    assert isinstance(files, dict)
    assert sorted(data.files) == sorted(files)
    for key, entry in files.items():
        mine = data.files[key]
        summary = entry["summary"]
        assert mine.statements == summary["num_statements"]
        assert list(mine.missing_lines) == entry["missing_lines"]
        assert mine.excluded == summary["excluded_lines"]
        assert mine.branches == summary.get("num_branches", 0)
        assert mine.partial_branches == summary.get("num_partial_branches", 0)
        assert sorted(map(list, mine.missing_branches)) == sorted(entry.get("missing_branches", []))
        assert mine.covered == summary["covered_lines"]
    totals = report["totals"]
    assert isinstance(totals, dict)
    assert shown(data) == totals["percent_covered_display"]
    assert data.totals.percent == pytest.approx(totals["percent_covered"])


def test_data_file_reads_as_coverage_report_computes(runs: Runs) -> None:
    data = read_coverage(runs.combined_data, root=runs.single)
    assert shown(data) == runs.report_total
    assert data.precision == 2
    assert_same_as_json(data, runs.json_report)
    assert data.files["src/pkg/core.py"].missing_lines  # `never` is excluded, `classify` not
    assert data.files["src/pkg/extra.py"].executable_lines >= {8, 9, 10, 11}


def test_branch_setting_is_what_was_recorded(branch_runs: Runs, lines_runs: Runs) -> None:
    branchy = read_coverage(branch_runs.combined_data, root=branch_runs.single)
    lines = read_coverage(lines_runs.combined_data, root=lines_runs.single)
    assert branchy.has_branches
    assert branchy.totals.branches > 0
    assert branchy.totals.partial_branches > 0
    assert not lines.has_branches
    assert lines.totals.branches == 0
    assert lines.totals.percent != branchy.totals.percent


def test_the_json_report_reads_to_the_same_numbers(runs: Runs) -> None:
    data = read_coverage(runs.single / "coverage-cli.json", root=runs.single)
    assert_same_as_json(data, runs.json_report)
    assert shown(data) == runs.report_total


def test_cobertura_from_coverage_reads_to_the_same_numbers(runs: Runs, tmp_path: Path) -> None:
    xml = tmp_path / "cobertura.xml"
    coverage_cli(runs.single, "xml", f"--data-file={runs.combined_data}", "-o", str(xml))
    data = read_coverage(xml, root=runs.single)
    truth = read_coverage(runs.combined_data, root=runs.single)
    assert shown(data) == runs.report_total
    for key, mine in truth.files.items():
        theirs = data.files[key]
        assert (theirs.statements, theirs.missing_lines) == (mine.statements, mine.missing_lines)
        assert (theirs.branches, theirs.partial_branches) == (mine.branches, mine.partial_branches)
        assert theirs.executable_lines == mine.executable_lines
        # Cobertura says "exit" without the code object coverage.py means: -1 stands for it.
        assert [a for a, _ in theirs.missing_branches] == [a for a, _ in mine.missing_branches]


def test_two_checkouts_combine_to_the_single_directory_result(runs: Runs) -> None:
    root = runs.sharded_root
    reports = root / "reports"
    data = load_project_coverage(reports, root=root)
    assert shown(data) == runs.report_total
    assert_same_as_json(data, runs.json_report)
    assert (reports / "coverage" / ".coverage").is_file()
    assert len(find_data_files(reports / "coverage")) == 3  # the inputs are kept
    # coverage.py itself agrees on the combined file (it names files relative to root).
    total = coverage_cli(
        root, "report", f"--data-file={reports / 'coverage' / '.coverage'}", "--format=total"
    )
    assert total.strip() == runs.report_total


def test_reports_written_from_combined_data_agree(runs: Runs, tmp_path: Path) -> None:
    root = runs.sharded_root
    out = combine_data_files(
        find_data_files(root / "reports" / "coverage" / "one")
        + find_data_files(root / "reports" / "coverage" / "two"),
        root=root,
        out=tmp_path / "combined",
    )
    write_coverage_reports(out, tmp_path / "reports", root=root)
    written = json.loads((tmp_path / "reports" / "coverage.json").read_text())
    assert written["totals"]["percent_covered_display"] == runs.report_total
    assert sorted(written["files"]) == sorted(runs.json_report["files"])  # type: ignore[call-overload]
    assert (tmp_path / "reports" / "htmlcov" / "index.html").is_file()
    xml = read_coverage(tmp_path / "reports" / "coverage.xml", root=root)
    assert shown(xml) == runs.report_total
    # The reporters after the first analysed from the cache: still coverage.py's numbers.
    assert (tmp_path / "reports" / ".cache" / "coverage-analysis.sqlite").is_file()
    assert_same_as_json(
        read_coverage(tmp_path / "reports" / "coverage.json", root=root), runs.json_report
    )
    # Newer than the data files, so it is what the gate reads next.
    (tmp_path / "reports" / "coverage").mkdir()
    shutil.copy2(out, tmp_path / "reports" / "coverage" / ".coverage.old")
    os.utime(tmp_path / "reports" / "coverage" / ".coverage.old", ns=(0, 0))
    assert load_project_coverage(tmp_path / "reports", root=root).source == str(
        tmp_path / "reports" / "coverage.json"
    )


def test_absolute_data_read_elsewhere_without_combining_names_the_fix(branch_runs: Runs) -> None:
    shard = find_data_files(branch_runs.sharded_root / "reports" / "coverage" / "one")[0]
    with pytest.raises(
        InputError, match=r"(No source for code|outside the project).*combine it with `testgate"
    ):
        read_coverage(shard, root=branch_runs.sharded_root)


def test_relative_files_data_reads_anywhere_without_combining(relative_runs: Runs) -> None:
    shard = find_data_files(relative_runs.sharded_root / "reports" / "coverage" / "one")[0]
    data = read_coverage(shard, root=relative_runs.sharded_root)
    assert data.files["src/pkg/core.py"].covered > 0
    assert data.files["src/pkg/extra.py"].covered == 0


def test_a_real_codebase_reads_exactly_as_coverage_json(tmp_path: Path) -> None:
    """testgate's own sources (dataclasses, enums, generators, comprehensions, try/finally,
    walrus, pragmas...) measured by a real run: every file agrees with `coverage json`."""
    here = Path(__file__).resolve().parents[2]
    project = tmp_path / "testgate-copy"
    shutil.copytree(here / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests").mkdir()
    shutil.copy(here / "tests" / "unit" / "test_coverage_paths.py", project / "tests")
    (project / "pyproject.toml").write_text(
        '[tool.coverage.run]\nbranch = true\nsource = ["testgate"]\n'
        "[tool.coverage.report]\nprecision = 3\nexclude_also = ['if TYPE_CHECKING:']\n"
    )
    data_file = project / ".coverage"
    coverage_run(project, data_file, "tests")
    coverage_cli(project, "json", f"--data-file={data_file}", "-o", "cli.json")
    report = json.loads((project / "cli.json").read_text())
    data = read_coverage(data_file, root=project)
    assert len(data.files) > 20
    assert data.precision == 3
    assert_same_as_json(data, report)
    # The same from the analysis cache, as it fills and once full; `with` blocks included.
    cache = tmp_path / "facts.sqlite"
    assert read_coverage(data_file, root=project, cache=cache) == data
    assert read_coverage(data_file, root=project, cache=cache) == data
    with contextlib.closing(sqlite3.connect(cache)) as db:
        facts = [json.loads(row[0]) for row in db.execute("SELECT facts FROM facts")]
    assert len(facts) == len(data.files)
    assert any(f["fixers"] for f in facts)


def test_many_unknown_files_are_parsed_on_every_core(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real run over 90 modules: the cold read parses them in worker processes (one per
    core), the warm read parses none, and both equal a read without the cache."""
    from testgate._cpu import usable_cores
    from testgate.read.coverage_cache import PARALLEL_MIN, _can_fork

    project = tmp_path / "many"
    (project / "src" / "many").mkdir(parents=True)
    (project / "tests").mkdir()
    modules = PARALLEL_MIN + 26
    for n in range(modules):
        (project / "src" / "many" / f"m{n:03d}.py").write_text(CORE.replace("never", f"never{n}"))
        (project / "tests" / f"test_m{n:03d}.py").write_text(
            f"from many.m{n:03d} import classify\n\ndef test_it():\n"
            f"    assert classify({n % 3 - 1}) != 'x'\n"
        )
    (project / "pyproject.toml").write_text(
        '[tool.coverage.run]\nbranch = true\nsource = ["many"]\n'
        "[tool.coverage.report]\nprecision = 2\n"
    )
    data_file = project / "reports" / "coverage" / ".coverage"
    coverage_run(project, data_file, "tests")

    def read() -> tuple[CoverageData, str]:
        caplog.clear()
        with caplog.at_level("DEBUG", logger="testgate.read.coverage_cache"):
            data = load_project_coverage(project / "reports", root=project)
        said = [r.getMessage().partition(": ")[2] for r in caplog.records if "known" in r.message]
        return data, said[0] if said else ""

    cold, said_cold = read()
    warm, said_warm = read()
    workers = min(usable_cores(), modules // 32) if _can_fork() else 0  # not under xdist's threads
    expected = f" ({modules} by {workers} workers)" if workers > 1 else ""
    assert said_cold == f"0 files known, {modules} parsed{expected}"
    assert said_warm == f"{modules} files known, 0 parsed"
    # With another thread alive, forking is not safe: the files are parsed in process.
    (project / "reports" / ".cache" / "coverage-analysis.sqlite").unlink()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        threaded, said_threaded = read()
    finally:
        stop.set()
        other.join()
    assert said_threaded == f"0 files known, {modules} parsed"
    monkeypatch.setenv("TESTGATE_NO_CACHE", "1")
    off, _ = read()
    assert cold == warm == threaded == off
    assert len(off.files) == modules
    coverage_cli(project, "json", f"--data-file={data_file}", "-o", "cli.json")
    assert_same_as_json(off, json.loads((project / "cli.json").read_text()))


def test_data_naming_a_deleted_source_is_one_line_naming_it(tmp_path: Path) -> None:
    """A module measured, then deleted (or renamed) before the report: coverage.py cannot
    analyse it; the error names the file, whatever the analysis cache knew."""
    project = make_project(tmp_path, branch=True)
    data = project / "reports" / "coverage" / ".coverage.unit"
    coverage_run(project, data, "tests")
    (project / "src" / "pkg" / "extra.py").unlink()
    cache = project / "reports" / "analysis-cache.sqlite"
    for cached in (None, cache, cache):  # without a cache, filling it, then reading from it
        with pytest.raises(InputError) as caught:
            read_coverage(find_data_files(data.parent)[0], root=project, cache=cached)
        message = caught.value.message
        assert "No source for code: '" in message
        assert "extra.py'" in message
        assert "\n" not in message


def test_combining_onto_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    """SQLite cannot write the combined data (disk full, file size limit): the data files are
    not at fault, so the error says what to free, and no half-written file is left."""
    project = make_project(tmp_path, branch=True)
    data = project / "reports" / "coverage"
    coverage_run(project, data / ".coverage.unit", "tests")
    parallel = find_data_files(data)
    out = project / "reports" / "combined" / ".coverage"
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8 * 1024, hard))  # under any data file's size
    try:
        with pytest.raises(OutputError) as caught:
            combine_data_files(parallel, root=project, out=out)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert caught.value.message.startswith(
        f"{parallel[0]}: cannot write the combined coverage data: the disk is full or the file"
        " size limit is reached ("
    )
    assert caught.value.message.endswith("); free space and run again")
    assert list(out.parent.iterdir()) == []
