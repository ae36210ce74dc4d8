"""Real nox runs of testgate's sessions in a second project that registers them."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import coverage
import pytest
from nox_project import Run, make_project, nox

pytestmark = pytest.mark.slow


def junit_names(path: Path) -> list[str]:
    return sorted(case.attrib["name"] for case in ET.parse(path).iter("testcase"))  # noqa: S314 - our own pytest output


def measured(data_files: list[Path]) -> dict[str, set[int]]:
    lines: dict[str, set[int]] = {}
    for path in data_files:
        data = coverage.CoverageData(basename=str(path))
        data.read()
        for name in data.measured_files():
            lines.setdefault(name, set()).update(data.lines(name) or ())
    return lines


@dataclass(frozen=True)
class Results:
    """Every nox run happens once, in order; each test checks what one run left behind."""

    project: Path
    chain: Run
    unit_junit: list[str]
    unit_data: list[Path]
    unit_lines: dict[str, set[int]]
    integration_junit: list[str]
    integration_lines: dict[str, set[int]]
    coverage: Run
    coverage_json: dict[str, object] | None
    posargs: Run
    posargs_junit: list[str]
    listing: Run
    gate: Run
    gate_json: dict[str, object] | None
    unpatched: Run
    unpatched_data: list[Path]
    shards: list[Run]
    shard_junit: list[list[str]]
    shard_data: list[list[Path]]
    bad_shard: Run
    configured: Run
    configured_junit: list[str]
    misconfigured: Run
    variant: Run


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    project = make_project(tmp_path_factory.mktemp("nox-project"))
    reports = project / "reports"
    # xdist by request: on its first run the session would go serial (nothing recorded yet)
    chain = nox(project, "-s", "unit", "integration", "--", "-n", "2")
    unit_data = sorted((reports / "coverage").glob(".coverage.unit.*"))
    unit_lines = measured(unit_data)
    integration_lines = measured(sorted((reports / "coverage").glob(".coverage.integration.*")))
    unit_junit = junit_names(reports / "junit" / "unit.xml") if chain.returncode == 0 else []
    integration_junit = (
        junit_names(reports / "junit" / "integration.xml") if chain.returncode == 0 else []
    )
    cov = nox(project, "-s", "coverage")
    cov_json = reports / "coverage.json"
    cov_data = json.loads(cov_json.read_text()) if cov_json.exists() else None
    posargs = nox(project, "-R", "-s", "unit", "--", "-k", "parse")
    posargs_junit = junit_names(reports / "junit" / "unit.xml") if posargs.returncode == 0 else []
    listing = nox(project, "-l")
    gate = nox(project, "-R", "-s", "gate")
    gate_path = reports / "gate.json"
    gate_json = json.loads(gate_path.read_text()) if gate_path.exists() else None
    # coverage.py configured without patch=subprocess: the session adds it for the workers.
    rc = project / "no-patch.coveragerc"
    rc.write_text("[run]\nbranch = true\nsource = sample\n", encoding="utf-8")
    unpatched = nox(project, "-R", "-s", "unit", "--", "-n", "2", COVERAGE_RCFILE=str(rc))
    unpatched_data = sorted((reports / "coverage").glob(".coverage.unit.*"))
    shards, shard_junit, shard_data = [], [], []
    # Each shard sees the same recorded durations, as separate machines would: shard 1's own
    # results are set aside while shard 2 splits.
    aside = project / "shard-1-aside"
    for group in (1, 2):
        shards.append(
            nox(project, "-s", "unit", "--", "--shard", f"{group}/2", "-p", "no:randomly")
        )
        junit = reports / "junit" / f"unit-{group}.xml"
        shard_junit.append(junit_names(junit) if junit.exists() else [])
        shard_data.append(sorted((reports / "coverage").glob(f".coverage.unit-{group}.*")))
        if group == 1:
            aside.mkdir()
            for path in (reports / "junit").glob("unit-1.*"):
                path.rename(aside / path.name)
    for path in aside.iterdir():
        path.rename(reports / "junit" / path.name)
    bad_shard = nox(project, "-R", "-s", "unit", "--", "--shard", "3/2")
    pyproject = project / "pyproject.toml"
    original = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(original + '[tool.testgate]\nreports = "out"\n', encoding="utf-8")
    configured = nox(project, "-R", "-s", "unit")
    out_junit = project / "out" / "junit" / "unit.xml"
    configured_junit = junit_names(out_junit) if out_junit.exists() else []
    pyproject.write_text(original + '[tool.testgate]\nreprots = "out"\n', encoding="utf-8")
    misconfigured = nox(project, "-R", "-s", "unit")
    pyproject.write_text(original, encoding="utf-8")
    # Another noxfile, same venvs: an explicit reports folder handed to the CLI too, testgate
    # already in the venvs, a gate that requires only the sessions registered with it.
    (project / "noxfile_variant.py").write_text(
        "from testgate.nox import Project, register\n"
        'register(Project(testgate=(), reports="elsewhere", workers="1"),'
        ' sessions=["unit", "gate"])\n',
        encoding="utf-8",
    )
    variant = nox(project, "-f", "noxfile_variant.py", "-R", "-s", "gate")
    return Results(
        project=project,
        chain=chain,
        unit_junit=unit_junit,
        unit_data=unit_data,
        unit_lines=unit_lines,
        integration_junit=integration_junit,
        integration_lines=integration_lines,
        coverage=cov,
        coverage_json=cov_data,
        posargs=posargs,
        posargs_junit=posargs_junit,
        listing=listing,
        gate=gate,
        gate_json=gate_json,
        unpatched=unpatched,
        unpatched_data=unpatched_data,
        shards=shards,
        shard_junit=shard_junit,
        shard_data=shard_data,
        bad_shard=bad_shard,
        configured=configured,
        configured_junit=configured_junit,
        misconfigured=misconfigured,
        variant=variant,
    )


def test_unit_and_integration_sessions_write_junit_per_session(results: Results) -> None:
    assert results.chain.returncode == 0, results.chain.output
    assert results.unit_junit == ["test_other", "test_parse_negative", "test_parse_positive"]
    assert results.integration_junit == ["test_cli_doubles", "test_cli_needs_an_argument"]


def test_unit_session_measures_every_xdist_worker(results: Results) -> None:
    assert results.chain.returncode == 0, results.chain.output
    # the controller plus at least one worker, each its own parallel data file
    assert len(results.unit_data) >= 2
    assert "created: " in results.chain.output  # pytest-xdist started workers
    # relative_files: the paths combine across checkouts and machines
    assert set(results.unit_lines) == {"src/sample/__init__.py"}
    body_of_parse = {7, 8, 9}
    assert body_of_parse <= results.unit_lines["src/sample/__init__.py"]


def test_integration_session_measures_subprocesses(results: Results) -> None:
    assert results.chain.returncode == 0, results.chain.output
    main_body = {13, 14, 15, 16}
    assert main_body <= results.integration_lines["src/sample/__init__.py"]


def test_coverage_session_combines_sessions_and_subprocesses(results: Results) -> None:
    assert results.coverage.returncode == 0, results.coverage.output
    assert results.coverage_json is not None
    totals = results.coverage_json["totals"]
    assert isinstance(totals, dict)
    # unit covers parse(), only the integration subprocesses cover main(): 100% needs both
    assert totals["percent_covered"] == 100
    assert (results.project / "reports" / "coverage.xml").is_file()
    assert (results.project / "reports" / "htmlcov" / "index.html").is_file()


def test_posargs_reach_pytest(results: Results) -> None:
    assert results.posargs.returncode == 0, results.posargs.output
    assert results.posargs_junit == ["test_parse_negative", "test_parse_positive"]


def test_sessions_are_listed_with_docstrings(results: Results) -> None:
    assert results.listing.returncode == 0, results.listing.output
    for name in ("unit", "integration", "coverage", "durations", "gate"):
        assert f"* {name} -> " in results.listing.output
    assert "- flaky -> Flake hunt" in results.listing.output


def test_xdist_workers_are_measured_without_patch_in_the_project_settings(
    results: Results,
) -> None:
    assert results.unpatched.returncode == 0, results.unpatched.output
    assert len(results.unpatched_data) >= 2  # the controller and the workers
    assert set(measured(results.unpatched_data)) == {"src/sample/__init__.py"}


def test_shards_run_disjoint_groups_with_their_own_reports(results: Results) -> None:
    for shard in results.shards:
        assert shard.returncode == 0, shard.output
    first, second = results.shard_junit
    assert not set(first) & set(second)
    assert sorted(first + second) == results.unit_junit
    assert all(results.shard_data)  # .coverage.unit-1.*, .coverage.unit-2.*
    for group in (1, 2):
        assert (results.project / "reports" / "junit" / f"unit-{group}.json").is_file()


def test_impossible_shard_is_a_one_line_session_error(results: Results) -> None:
    assert results.bad_shard.returncode == 1
    assert "--shard 3/2: group K must be between 1 and N" in results.bad_shard.output


def test_gate_alone_runs_the_test_sessions_first(results: Results) -> None:
    order = re.findall(r"Running session (\w+)", results.gate.output)
    assert order == ["unit", "integration", "gate"], results.gate.output
    assert results.gate_json is not None, results.gate.output
    # exit status and report agree: 0 exactly when every budget holds
    assert results.gate.returncode == (0 if results.gate_json["passed"] else 1)


def test_sessions_write_where_the_configuration_says(results: Results) -> None:
    assert results.configured.returncode == 0, results.configured.output
    assert results.configured_junit == results.unit_junit


def test_configuration_error_stops_the_session_with_its_message(results: Results) -> None:
    assert results.misconfigured.returncode == 1
    assert "reprots" in results.misconfigured.output
    assert "did you mean" in results.misconfigured.output
    assert "Traceback" not in results.misconfigured.output


def test_explicit_reports_folder_reaches_the_cli(results: Results) -> None:
    order = re.findall(r"Running session (\w+)", results.variant.output)
    assert order == ["unit", "gate"], results.variant.output
    elsewhere = results.project / "elsewhere"
    assert junit_names(elsewhere / "junit" / "unit.xml") == results.unit_junit
    assert "testgate gate --reports elsewhere" in results.variant.output
    assert (elsewhere / "gate.json").is_file(), results.variant.output
