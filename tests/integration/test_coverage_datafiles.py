""".coverage data files: read with coverage.py's own analysis, combined across checkouts and
machines, loaded for the gate, turned into reports. The data files are real, written with
coverage.py's CoverageData API as a run on another machine would have recorded them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import coverage
import coverage.files
import pytest

from testgate.errors import ConfigError, InputError
from testgate.model import display_percent
from testgate.read.coverage import (
    combine_data_files,
    combine_project_data,
    find_data_files,
    load_project_coverage,
    package_totals,
    project_precision,
    read_coverage,
    write_coverage_reports,
)

M = """\
def f(x):
    if x > 0:
        return 1
    return 2


def g():
    return 3


def h():  # pragma: no cover
    return 4
"""
N = """\
def n(k):
    return k
"""
# f(1) ran, g() and the `x <= 0` branch did not.
M_LINES = [1, 2, 3, 7, 11]
M_ARCS = [(-1, 1), (1, 7), (7, 11), (11, -1), (-1, 2), (2, 3), (3, -1)]
N_LINES = [1, 2]
N_ARCS = [(-1, 1), (1, -1), (-1, 2), (2, -1)]

CONFIG = """\
[tool.coverage.run]
branch = {branch}
relative_files = {relative}
[tool.coverage.report]
precision = 2
"""


def make_project(root: Path, *, branch: bool = True, relative: bool = False) -> Path:
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "m.py").write_text(M)
    (root / "src" / "pkg" / "n.py").write_text(N)
    (root / "pyproject.toml").write_text(
        CONFIG.format(branch=str(branch).lower(), relative=str(relative).lower())
    )
    return root


def write_data(
    path: Path,
    files: Mapping[str, Any],
    *,
    arcs: bool,
) -> Path:
    """A data file as `coverage run` on some machine would have left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = coverage.CoverageData(basename=str(path))
    if arcs:
        data.add_arcs({k: list(v) for k, v in files.items()})
    else:
        data.add_lines({k: list(v) for k, v in files.items()})
    data.write()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def test_a_data_file_reads_as_coverage_analyses_it(project: Path) -> None:
    data_file = write_data(
        project / ".coverage",
        {str(project / "src/pkg/m.py"): M_ARCS, str(project / "src/pkg/n.py"): N_ARCS},
        arcs=True,
    )
    data = read_coverage(data_file, root=project)
    m = data.files["src/pkg/m.py"]
    assert m.executable_lines == {1, 2, 3, 4, 7, 8}  # h() is excluded, its `def` too
    assert (m.missing_lines, m.excluded) == ((4, 8), 2)
    assert (m.branches, m.missing_branches, m.partial_branches) == (2, ((2, 4),), 1)
    assert data.files["src/pkg/n.py"].percent == 100.0
    assert (data.precision, data.has_branches, data.source) == (2, True, str(data_file))
    # (6 + 1 covered lines and branches) / (8 statements + 2 branches)
    assert display_percent(data.totals.percent, data.precision) == "70.00"
    assert package_totals(data)["src/pkg"].statements == 8


def test_statement_data_has_no_branches(project: Path) -> None:
    data_file = write_data(
        project / ".coverage", {str(project / "src/pkg/m.py"): M_LINES}, arcs=False
    )
    data = read_coverage(data_file, root=project)
    assert not data.has_branches
    assert data.totals.branches == 0
    assert display_percent(data.totals.percent, 2) == "66.67"


def test_project_config_decides_what_is_reported(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.coverage.report]\nprecision = 3\nomit = ['*/n.py']\nexclude_also = ['def g']\n"
    )
    data_file = write_data(
        project / ".coverage",
        {str(project / "src/pkg/m.py"): M_LINES, str(project / "src/pkg/n.py"): N_LINES},
        arcs=False,
    )
    data = read_coverage(data_file, root=project)
    assert list(data.files) == ["src/pkg/m.py"]
    assert data.files["src/pkg/m.py"].missing_lines == (4,)
    assert data.precision == 3
    assert project_precision(project) == 3


def test_combine_maps_other_checkouts_and_machines_onto_the_project(project: Path) -> None:
    reports = project / "reports" / "coverage"
    first = write_data(
        reports / ".coverage.unit.host1.1.a",
        {"/srv/a/checkout1/src/pkg/m.py": M_ARCS},
        arcs=True,
    )
    second = write_data(
        reports / "shard-2" / ".coverage.unit.host2.2.b",
        {
            "/builds/xyz/src/pkg/m.py": [(-1, 1), (1, 7), (-7, 8), (8, -7)],
            "/opt/venv/lib/python3.12/site-packages/pkg/n.py": N_ARCS,
        },
        arcs=True,
    )
    out = combine_data_files([first, second], root=project, out=reports / ".coverage")
    assert out == reports / ".coverage"
    combined = coverage.CoverageData(basename=str(out))
    combined.read()
    assert combined.measured_files() == {
        str(project / "src/pkg/m.py"),
        str(project / "src/pkg/n.py"),
    }
    data = read_coverage(out, root=project)
    assert data.files["src/pkg/m.py"].missing_lines == (4,)  # g ran on the second machine
    assert first.is_file()
    assert second.is_file()  # inputs are kept
    assert sorted(p.name for p in reports.iterdir()) == [
        ".coverage",
        ".coverage.unit.host1.1.a",
        "shard-2",
    ]


def test_relative_files_combine_to_relative_paths(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", relative=True)
    a = write_data(tmp_path / "in" / ".coverage.a", {"src/pkg/m.py": M_ARCS}, arcs=True)
    b = write_data(tmp_path / "in" / ".coverage.b", {"D:\\ci\\src\\pkg\\n.py": N_ARCS}, arcs=True)
    out = combine_data_files([a, b], root=project, out=tmp_path / "out" / ".coverage")
    combined = coverage.CoverageData(basename=str(out))
    combined.read()
    assert combined.measured_files() == {"src/pkg/m.py", "src/pkg/n.py"}
    assert sorted(read_coverage(out, root=project).files) == ["src/pkg/m.py", "src/pkg/n.py"]


def test_the_projects_own_paths_setting_applies_first(project: Path, tmp_path: Path) -> None:
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('[tool.coverage.paths]\nsource = ["src/", "/weird/layout/"]\n')
    a = write_data(tmp_path / ".coverage.a", {"/weird/layout/pkg/m.py": M_ARCS}, arcs=True)
    out = combine_data_files([a], root=project, out=tmp_path / ".coverage")
    assert list(read_coverage(out, root=project).files) == ["src/pkg/m.py"]
    # `coverage report` applies [paths] to uncombined data too, and so do we.
    assert list(read_coverage(a, root=project).files) == ["src/pkg/m.py"]


def test_unmappable_and_ambiguous_paths_are_left_and_said(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (project / "vendor" / "pkg").mkdir(parents=True)
    (project / "vendor" / "pkg" / "m.py").write_text(M)
    reports = project / "reports"
    write_data(
        reports / "coverage" / ".coverage.x",
        {"/ci/pkg/m.py": M_ARCS, "/ci/elsewhere/zzz.py": N_ARCS},
        arcs=True,
    )
    with caplog.at_level(logging.WARNING), pytest.raises(InputError) as caught:
        load_project_coverage(reports, root=project)
    message = caught.value.message
    assert message.startswith(f"{reports / 'coverage' / '.coverage'}: ")
    assert "could not map: /ci/pkg/m.py (matches src/pkg/m.py and vendor/pkg/m.py)" in message
    assert "/ci/elsewhere/zzz.py (not in the project tree)" in message
    assert "ambiguous" in caplog.text


def test_mixing_branch_and_statement_data_says_what_to_do(project: Path, tmp_path: Path) -> None:
    a = write_data(tmp_path / ".coverage.a", {str(project / "src/pkg/m.py"): M_ARCS}, arcs=True)
    b = write_data(tmp_path / ".coverage.b", {str(project / "src/pkg/n.py"): N_LINES}, arcs=False)
    with pytest.raises(InputError, match=r"\.coverage\.b: Can't combine .*same branch setting"):
        combine_data_files([a, b], root=project, out=tmp_path / ".coverage")
    assert not (tmp_path / ".coverage").exists()
    assert not list(tmp_path.glob(".testgate-*"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"not sqlite at all", "not a coverage.py data file (no SQLite header)"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "delete it and run the tests with coverage"),
    ],
)
def test_broken_inputs_are_named(
    project: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    good = write_data(tmp_path / ".coverage.a", {str(project / "src/pkg/m.py"): M_ARCS}, arcs=True)
    bad = tmp_path / ".coverage.bad"
    bad.write_bytes(content)
    with pytest.raises(InputError) as caught:
        combine_data_files([good, bad], root=project, out=tmp_path / ".coverage")
    assert caught.value.message.startswith(f"{bad}: ")
    assert message in caught.value.message


def test_a_corrupt_data_file_is_an_input_error_when_read(project: Path) -> None:
    path = write_data(project / ".coverage", {str(project / "src/pkg/m.py"): M_ARCS}, arcs=True)
    raw = bytearray(path.read_bytes())
    raw[100:] = b"\xa5" * (len(raw) - 100)  # the header survives, the pages do not
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=rf"^{path}: .*delete it and run the tests"):
        read_coverage(path, root=project)


def test_nothing_to_combine(project: Path) -> None:
    with pytest.raises(InputError, match="no coverage data files to combine"):
        combine_data_files([], root=project, out=project / ".coverage")


def test_data_with_no_measured_file_is_refused(project: Path) -> None:
    path = write_data(project / ".coverage", {}, arcs=False)
    with pytest.raises(InputError, match=r"No data to report.*check \[tool.coverage.run\]"):
        read_coverage(path, root=project)


def test_unparsable_source_is_an_error_unless_coverage_ignores_errors(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (project / "src" / "pkg" / "bad.py").write_text("def (:\n")
    path = write_data(
        project / ".coverage",
        {str(project / "src/pkg/bad.py"): [1], str(project / "src/pkg/n.py"): N_LINES},
        arcs=False,
    )
    with pytest.raises(InputError, match=r"Couldn't parse .*bad.py"):
        read_coverage(path, root=project)
    with (project / "pyproject.toml").open("a") as handle:
        handle.write("ignore_errors = true\n")
    with caplog.at_level(logging.WARNING):
        data = read_coverage(path, root=project)
    assert list(data.files) == ["src/pkg/n.py"]
    assert "Couldn't parse" in caplog.text


def test_a_broken_coverage_configuration_is_a_config_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.coverage.report]\nprecision = "two"\n')
    with pytest.raises(ConfigError, match=r"coverage.py configuration: .*precision"):
        project_precision(project)
    data_file = write_data(project / ".coverage", {"/x/m.py": N_LINES}, arcs=False)
    with pytest.raises(ConfigError, match=r"^.*project: coverage.py configuration: "):
        read_coverage(data_file, root=project)


def test_a_missing_root_is_named(tmp_path: Path) -> None:
    path = write_data(tmp_path / ".coverage", {"/x/m.py": N_LINES}, arcs=False)
    with pytest.raises(InputError, match="cannot use it as the project root"):
        read_coverage(path, root=tmp_path / "nope")


def test_relative_paths_mean_the_current_directory_not_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path / "p")
    write_data(tmp_path / "in" / ".coverage.a", {"/ci/src/pkg/m.py": M_ARCS}, arcs=True)
    monkeypatch.chdir(tmp_path)
    out = combine_data_files(["in/.coverage.a"], root=Path("p"), out=Path("out/.coverage"))
    assert (tmp_path / "out" / ".coverage").is_file()
    assert list(read_coverage(out, root=Path("p")).files) == ["src/pkg/m.py"]
    write_coverage_reports(out, Path("reports"), root=Path("p"))
    assert (tmp_path / "reports" / "coverage.json").is_file()


def test_reading_leaves_cwd_and_coverage_state_as_they_were(project: Path) -> None:
    path = write_data(project / ".coverage", {str(project / "src/pkg/n.py"): N_LINES}, arcs=False)
    before = (os.getcwd(), coverage.files.RELATIVE_DIR)
    read_coverage(path, root=project)
    assert (os.getcwd(), coverage.files.RELATIVE_DIR) == before


# -- load_project_coverage ----------------------------------------------------------------


@pytest.mark.parametrize("entry", [load_project_coverage, combine_project_data])
def test_no_data_at_all_says_what_to_run(project: Path, entry: Any) -> None:
    with pytest.raises(InputError) as caught:
        entry(project / "reports", root=project)
    assert caught.value.message == (
        f"{project / 'reports'}: no coverage data (no coverage.json, no .coverage files under"
        f" {project / 'reports' / 'coverage'}); run the tests with coverage first"
        " (`nox -s unit`, or `coverage run -m pytest`)"
    )


def test_fresh_json_wins_stale_json_loses(project: Path) -> None:
    reports = project / "reports"
    write_data(
        reports / "coverage" / ".coverage.unit.1",
        {str(project / "src/pkg/m.py"): M_ARCS},
        arcs=True,
    )
    combined = combine_project_data(reports, root=project)
    assert combined == reports / "coverage" / ".coverage"
    write_coverage_reports(combined, reports, root=project)
    assert load_project_coverage(reports, root=project).source == str(reports / "coverage.json")
    # A newer run lands: the JSON is stale, the data files are combined again.
    newer = write_data(
        reports / "coverage" / ".coverage.unit.2",
        {str(project / "src/pkg/n.py"): N_ARCS},
        arcs=True,
    )
    future = (reports / "coverage.json").stat().st_mtime_ns + 10**9
    os.utime(newer, ns=(future, future))
    data = load_project_coverage(reports, root=project)
    assert data.source == str(reports / "coverage" / ".coverage")
    assert sorted(data.files) == ["src/pkg/m.py", "src/pkg/n.py"]


def test_json_alone_and_combined_file_alone_are_read(project: Path) -> None:
    reports = project / "reports"
    only = write_data(
        reports / "coverage" / ".coverage", {str(project / "src/pkg/n.py"): N_LINES}, arcs=False
    )
    assert load_project_coverage(reports, root=project).source == str(only)
    write_coverage_reports(only, reports, root=project)
    only.unlink()
    assert load_project_coverage(reports, root=project).source == str(reports / "coverage.json")


def test_parallel_files_without_measured_files_fail_closed(project: Path) -> None:
    reports = project / "reports"
    write_data(reports / "coverage" / ".coverage.unit.1", {}, arcs=True)
    with pytest.raises(InputError, match=r"coverage/\.coverage: No data to report"):
        load_project_coverage(reports, root=project)


def test_an_empty_coverage_json_is_named(project: Path) -> None:
    (project / "reports").mkdir()
    (project / "reports" / "coverage.json").write_text("")
    with pytest.raises(InputError, match=r"coverage.json: empty file"):
        load_project_coverage(project / "reports", root=project)


def test_find_data_files_skips_sidecars_and_temp_folders(tmp_path: Path) -> None:
    for rel in [
        ".coverage",
        ".coverage.unit.h.1.x",
        ".coverage.unit.h.1.x-journal",
        ".coverage.wal-wal",
        ".coveragerc",
        "s1/.coverage.unit-1",
        ".testgate-combine-abc/combined",
        ".testgate-combine-abc/.coverage.z",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / ".coverage.folder").mkdir()
    assert [p.relative_to(tmp_path).as_posix() for p in find_data_files(tmp_path)] == [
        ".coverage",
        ".coverage.unit.h.1.x",
        "s1/.coverage.unit-1",
    ]
    assert find_data_files(tmp_path / "none") == []


# -- write_coverage_reports ---------------------------------------------------------------


def test_reports_honour_the_project_config_and_replace_old_ones(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.coverage.run]\nbranch = true\n[tool.coverage.report]\nprecision = 1\n"
        "omit = ['*/n.py']\n"
    )
    reports = project / "reports"
    (reports / "htmlcov").mkdir(parents=True)
    (reports / "htmlcov" / "stale.html").write_text("old")
    data_file = write_data(
        project / ".coverage",
        {str(project / "src/pkg/m.py"): M_ARCS, str(project / "src/pkg/n.py"): N_ARCS},
        arcs=True,
    )
    write_coverage_reports(data_file, reports, root=project)
    written = json.loads((reports / "coverage.json").read_text())
    assert list(written["files"]) == ["src/pkg/m.py"]
    assert written["totals"]["percent_covered_display"] == "62.5"
    assert read_coverage(reports / "coverage.xml", root=project).files.keys() == {"src/pkg/m.py"}
    assert (reports / "htmlcov" / "index.html").is_file()
    assert not (reports / "htmlcov" / "stale.html").exists()
    assert sorted(p.name for p in reports.iterdir()) == [
        ".cache",  # what the reporters parsed, for the next ones
        "coverage.json",
        "coverage.xml",
        "htmlcov",
    ]


def test_reports_from_a_broken_data_file_are_not_written(project: Path) -> None:
    bad = project / ".coverage"
    bad.write_text("garbage")
    with pytest.raises(InputError, match="no SQLite header"):
        write_coverage_reports(bad, project / "reports", root=project)
    empty = write_data(project / ".coverage.e", {}, arcs=True)
    with pytest.raises(InputError, match="No data to report"):
        write_coverage_reports(empty, project / "reports", root=project)
    assert list((project / "reports").iterdir()) == []


def test_report_contexts_select_the_data_as_coverage_report_does(project: Path) -> None:
    data = coverage.CoverageData(basename=str(project / ".coverage"))
    data.set_context("test_a")
    data.add_lines({str(project / "src/pkg/n.py"): [1]})
    data.set_context("test_b")
    data.add_lines({str(project / "src/pkg/n.py"): [1, 2]})
    data.write()
    assert read_coverage(project / ".coverage", root=project).files["src/pkg/n.py"].missing == 0
    with (project / "pyproject.toml").open("a") as handle:
        handle.write('contexts = ["test_a"]\n')  # under [tool.coverage.report]
    only_a = read_coverage(project / ".coverage", root=project)
    assert only_a.files["src/pkg/n.py"].missing_lines == (2,)


def test_a_coverage_plugin_that_is_not_installed_is_a_config_error(project: Path) -> None:
    path = write_data(project / ".coverage", {str(project / "src/pkg/n.py"): N_LINES}, arcs=False)
    (project / "pyproject.toml").write_text('[tool.coverage.run]\nplugins = ["no_such_plugin_x"]\n')
    with pytest.raises(ConfigError, match=r"plugin 'no_such_plugin_x' is not installed here"):
        read_coverage(path, root=project)


# -- the analysis cache: what coverage.py parses from a source file, kept by its content ------


def _gate_read(project: Path, caplog: pytest.LogCaptureFixture) -> tuple[Any, str]:
    """load_project_coverage as the gate calls it, and what the cache said it did."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="testgate.read.coverage_cache"):
        data = load_project_coverage(project / "reports", root=project)
    said = [r.getMessage() for r in caplog.records if "files known" in r.getMessage()]
    return data, said[0].partition(": ")[2] if said else ""


def _data_in_reports(project: Path, *, arcs: bool = True) -> None:
    files: dict[str, Any] = {
        str(project / "src/pkg/m.py"): M_ARCS,
        str(project / "src/pkg/n.py"): N_ARCS,
    }
    if not arcs:
        files = {str(project / "src/pkg/m.py"): M_LINES, str(project / "src/pkg/n.py"): N_LINES}
    write_data(project / "reports" / "coverage" / ".coverage", files, arcs=arcs)


def test_the_second_read_reuses_the_parse_and_reads_the_same(
    project: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _data_in_reports(project)
    cold, said_cold = _gate_read(project, caplog)
    warm, said_warm = _gate_read(project, caplog)
    assert (said_cold, said_warm) == ("0 files known, 2 parsed", "2 files known, 0 parsed")
    assert (project / "reports" / ".cache" / "coverage-analysis.sqlite").is_file()
    monkeypatch.setenv("TESTGATE_NO_CACHE", "1")
    off, said_off = _gate_read(project, caplog)
    assert said_off == ""
    assert cold == warm == off
    assert warm.files["src/pkg/m.py"].missing_branches == ((2, 4),)


def test_a_changed_file_is_parsed_again(project: Path, caplog: pytest.LogCaptureFixture) -> None:
    _data_in_reports(project)
    _gate_read(project, caplog)
    m = project / "src" / "pkg" / "m.py"
    m.write_text(M.replace("    return 2\n", "    y = 2\n    return y\n"))
    data, said = _gate_read(project, caplog)
    assert said == "1 files known, 1 parsed"
    assert data.files["src/pkg/m.py"].statements == 7  # one more than before


def test_branch_and_statement_data_keep_apart(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _data_in_reports(project, arcs=False)
    lines, _ = _gate_read(project, caplog)
    _data_in_reports(project, arcs=True)
    arcs, said = _gate_read(project, caplog)
    assert said == "0 files known, 2 parsed"  # the statement-only facts have no arcs
    assert (lines.totals.branches, arcs.totals.branches) == (0, 2)


@pytest.mark.parametrize("damage", ["not a database", "bad rows", "a folder"])
def test_a_damaged_cache_never_changes_a_result(
    project: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    _data_in_reports(project)
    truth, _ = _gate_read(project, caplog)
    cache = project / "reports" / ".cache" / "coverage-analysis.sqlite"
    if damage == "not a database":
        cache.write_bytes(b"garbage " * 100)
    elif damage == "bad rows":
        import sqlite3

        with contextlib.closing(sqlite3.connect(cache)) as db, db:
            db.execute("UPDATE facts SET facts = '{\"statements\": 5}'")
    else:
        cache.unlink()
        cache.mkdir()
    data, said = _gate_read(project, caplog)
    assert data == truth
    if damage == "a folder":
        assert said == ""
        assert "cannot be opened" in caplog.text
    else:  # started again, or the rows read as misses and are written anew
        assert said == "0 files known, 2 parsed"
        assert _gate_read(project, caplog)[1] == "2 files known, 0 parsed"


def test_a_cache_that_fails_midway_is_left_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from testgate.read.coverage_cache import AnalysisCache

    path = tmp_path / "facts.sqlite"
    cache = AnalysisCache(path, timeout=0.05)
    assert not path.exists()  # opened at the first question
    assert cache.get("k") is None
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("DROP TABLE facts")
    assert cache.get("k") is None  # the table is gone: a warning, then no cache at all
    assert "cannot be read" in caplog.text
    assert (cache.db, cache.get("k")) == (None, None)
    cache.close()

    asking = AnalysisCache(path, timeout=0.05)  # the same, asking only whether a key is known
    assert not asking.has("k")
    with contextlib.closing(sqlite3.connect(path)) as other:
        other.execute("DROP TABLE facts")
    caplog.clear()
    assert not asking.has("k")
    assert "cannot be read" in caplog.text
    assert (asking.db, asking.has("k")) == (None, False)
    asking.close()

    locked = AnalysisCache(path, timeout=0.05)
    assert locked.get("k") is None  # the table is there again
    locked.put("k", {"statements": [1]})
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        locked.close()  # another writer holds the file: nothing is written, nothing fails
        other.execute("ROLLBACK")
    assert "cannot be written" in caplog.text
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM facts").fetchone() == (0,)


def test_a_worker_leaves_the_files_it_cannot_parse_to_the_analysis(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testgate.read.coverage_cache import _parse_files, _start_worker

    monkeypatch.chdir(project)  # a worker moves to the project root
    (project / "src" / "pkg" / "broken.py").write_text("def broken(:\n")
    names = [str(project / "src" / "pkg" / n) for n in ("m.py", "broken.py", "gone.py")]
    _start_worker(str(project))
    found = _parse_files(names, b"salt", True)
    assert len(found) == 1
    facts = json.loads(next(iter(found.values())))
    assert (facts["statements"], facts["excluded"]) == ([1, 2, 3, 4, 7, 8], [11, 12])
