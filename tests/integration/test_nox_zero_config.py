"""The two-line noxfile on projects of different shapes: `nox -s gate` passes with no other edit.

The noxfile and the commands are README.md's quickstart, read from it (nox_project.NOXFILE and
QUICKSTART), so the README shows what these tests run.

The shapes are the ones real projects have: a flat tests/ folder with a `tests` dependency group
(attrs), tests/unit + tests/integration with a `test` group (this repository), and no dependency
groups at all, no coverage settings, the package at the top level rather than in src/, tests
beside an integration folder inside tests/ (more-itertools has neither groups nor coverage
settings, and no src/ folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
from nox_project import (
    NOXFILE,
    SAMPLE,
    UNIT_TESTS,
    Run,
    make_project,
    nested_env,
    nox,
    readme_block,
    run,
    write_files,
)

pytestmark = pytest.mark.slow

FLAT_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1"

[dependency-groups]
tests = ["pytest>=8"]
dev = [{include-group = "tests"}, "ruff"]

[tool.coverage.run]
source = ["sample"]

[tool.coverage.report]
precision = 2
"""

NO_GROUPS_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1"
"""

# an integration folder inside tests/ (its own session), next to the unit tests
NO_GROUPS_INTEGRATION = """\
import sample


def test_round_trip():
    assert sample.parse(str(sample.parse("-12"))) == -12
"""


def flat(root: Path) -> Path:
    return write_files(root, {
        "pyproject.toml": FLAT_PYPROJECT,
        "noxfile.py": NOXFILE,
        "src/sample/__init__.py": SAMPLE,
        "tests/test_sample.py": UNIT_TESTS,
    })  # fmt: skip


def no_groups(root: Path) -> Path:
    # the package at the top level, not in src/ (as more-itertools has it)
    return write_files(root, {
        "pyproject.toml": NO_GROUPS_PYPROJECT,
        "noxfile.py": NOXFILE,
        "sample/__init__.py": SAMPLE,
        "tests/test_sample.py": UNIT_TESTS,
        "tests/integration/test_round_trip.py": NO_GROUPS_INTEGRATION,
    })  # fmt: skip


SHAPES = {"flat": flat, "unit-and-integration": make_project, "no-groups": no_groups}

# README.md's quickstart after its noxfile (its block names this file): what the test below runs
QUICKSTART = [["nox", "-l"], ["nox", "-s", "gate"]]


def test_readme_quickstart_is_what_these_tests_run() -> None:
    (block,) = [b for b in readme_block("sh") if b.startswith("nox -l")]
    shown = [line.split("  #", 1)[0].split() for line in block.splitlines() if line.strip()]
    assert shown == QUICKSTART


def sessions_run(run: Run) -> list[str]:
    return re.findall(r"Running session (\S+)", run.output)


@pytest.mark.parametrize("shape", SHAPES)
def test_two_line_noxfile_gate_passes_as_is(shape: str, tmp_path: Path) -> None:
    project = SHAPES[shape](tmp_path)
    listing = nox(project, *QUICKSTART[0][1:])
    gate = nox(project, *QUICKSTART[1][1:])
    assert gate.returncode == 0, gate.output
    report = json.loads((project / "reports" / "gate.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    junit = sorted(p.name for p in (project / "reports" / "junit").glob("*.xml"))
    counts = {c["id"]: c["actual"] for c in report["checks"]}
    if shape == "flat":
        # no integration folder: no integration session, no 0-test integration.xml
        assert sessions_run(gate) == ["unit", "gate"]
        assert junit == ["unit.xml"]
        assert "integration" not in listing.output
        assert "Unit tests (tests; group tests)" in listing.output
        assert "* gate -> Every budget at once (runs unit first)" in listing.output
        assert counts["tests.count"] == 3
        # a second run in the reused venv does not resolve the same install again
        second = nox(project, "-s", "unit")
        assert second.returncode == 0, second.output
        assert "install skipped: the same as the venv's last install" in second.output
        assert "uv pip install" not in second.output
    else:
        assert sessions_run(gate) == ["unit", "integration", "gate"]
        assert junit == ["integration.xml", "unit.xml"]
    if shape == "no-groups":
        # the integration folder inside tests/ runs once, in its own session
        assert "Unit tests (tests minus tests/integration; no test group" in listing.output
        assert counts["tests.count"] == 4
    record = json.loads((project / "reports" / "sessions" / "unit.json").read_text())
    assert record["instrumented"] is True
    assert record["coverage"]["branch"] is True
    if shape == "unit-and-integration":
        # start from today's numbers: the written budgets pass on the next run
        init = run([sys.executable, "-m", "testgate", "init", "--write"], project)
        assert init.returncode == 0, init.output
        again = nox(project, "-R", "-s", "gate")
        assert again.returncode == 0, again.output
        report = json.loads((project / "reports" / "gate.json").read_text(encoding="utf-8"))
        ids = {c["id"] for c in report["checks"]}
        assert {"coverage.total", "durations.max_test", "tests.count"} <= ids
        assert "durations.max_session:unit" in ids


# pyenv provides these interpreters on the test machines; its shims find them only when the
# version is selected.
PYENV_VERSION = "3.11.7:3.10.13:3.12.1:3.13.0"
VERSIONS = ("3.10", "3.11", "3.12")


def test_python_versions_side_by_side(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "noxfile.py").write_text(
        f"from testgate.nox import Project, register\nregister(Project(python={VERSIONS!r}))\n",
        encoding="utf-8",
    )
    gate = nox(project, "-s", "gate", PYENV_VERSION=PYENV_VERSION)
    assert gate.returncode == 0, gate.output
    assert sessions_run(gate) == [
        *(f"unit-{v}" for v in VERSIONS),
        *(f"integration-{v}" for v in VERSIONS),
        "gate",
    ]
    reports = project / "reports"
    assert sorted(p.name for p in (reports / "junit").glob("*.xml")) == [
        f"{s}-py{v}.xml" for s in ("integration", "unit") for v in VERSIONS
    ]
    for version in VERSIONS:
        assert list((reports / "coverage").glob(f".coverage.unit-py{version}.*"))
        record = json.loads((reports / "sessions" / f"unit-py{version}.json").read_text())
        assert record["python"].startswith(f"{version}.")
    checks = {c["id"]: c for c in json.loads((reports / "gate.json").read_text())["checks"]}
    assert checks["tests.count"]["message"] == (
        "tests per Python version (Python 3.10: 5, Python 3.11: 5, Python 3.12: 5), "
        "minimum 1 on each"
    )
    cov = nox(project, "-s", "coverage")
    assert cov.returncode == 0, cov.output
    combined = json.loads((reports / "coverage.json").read_text())
    # unit tests cover parse(), only the integration subprocesses main(): all versions combined
    assert combined["totals"]["percent_covered"] == 100


def test_line_coverage_on_3_12_is_measured_with_sys_monitoring(tmp_path: Path) -> None:
    """The cheapest coverage core that measures what the project asks for: sys.monitoring
    from 3.12 for line coverage (branches need 3.14), recorded with the session."""
    project = make_project(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace("branch = true", "branch = false"),
        encoding="utf-8",
    )
    (project / "noxfile.py").write_text(
        'from testgate.nox import Project, register\nregister(Project(python="3.12"))\n',
        encoding="utf-8",
    )
    unit = nox(project, "-s", "unit", PYENV_VERSION=PYENV_VERSION)
    assert unit.returncode == 0, unit.output
    assert "measured under coverage (sysmon core, branch=False)" in unit.output
    record = json.loads((project / "reports" / "sessions" / "unit.json").read_text())
    assert record["python"].startswith("3.12.")
    assert (record["coverage"]["core"], record["coverage"]["branch"]) == ("sysmon", False)


def test_sessions_without_a_venv_run_in_nox_s_own_environment(tmp_path: Path) -> None:
    """A CI image with everything preinstalled: `venv_backend="none"` and `nox --no-install`
    install nothing (no venv, so no install stamp either) and run the tests where nox runs."""
    project = make_project(tmp_path)
    (project / "noxfile.py").write_text(
        "from testgate.nox import Project, register\n"
        'register(Project(testgate=()), venv_backend="none")\n',
        encoding="utf-8",
    )
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # "python" is ours
    unit = nox(project, "--no-install", "-s", "unit", PYTHONPATH="src", PATH=path)
    assert unit.returncode == 0, unit.output
    assert "3 tests" in unit.output
    assert "install" not in unit.output.replace("--no-install", "")
    assert (project / "reports" / "junit" / "unit.xml").is_file()
    record = json.loads((project / "reports" / "sessions" / "unit.json").read_text())
    assert record["python"] == ".".join(map(str, sys.version_info[:3]))


def test_xdist_workers_left_unmeasured_stop_the_session(tmp_path: Path) -> None:
    """A test group pinning a coverage.py older than 7.10 cannot measure xdist workers: the
    session stops with what to check rather than report the controller's near-empty data."""
    project = make_project(tmp_path)
    (project / "noxfile.py").write_text(
        "from testgate.nox import Project, register\n"
        "register(Project(workers='2', extra_requirements=("
        "'pytest', 'pytest-xdist', 'coverage[toml]==7.9.2')))\n",
        encoding="utf-8",
    )
    unit = nox(project, "-s", "unit")
    assert unit.returncode == 1, unit.output
    assert (
        "coverage.py did not measure the pytest-xdist workers "
        f"({project / 'reports' / 'coverage'}): coverage >= 7.10 measures them"
    ) in unit.output


def test_an_outer_coverage_run_measures_nox_not_the_installs(tmp_path: Path) -> None:
    """nox run under coverage.py (a measured CI step, testgate's own tests): the sessions'
    installs and priming runs must not be measured by it. uv's bytecode workers are killed when
    done and left unfinished, even empty, data files that the outer run's gate refused."""
    import sqlite3
    import subprocess

    project = make_project(tmp_path / "p")
    outer = tmp_path / "outer"
    rcfile = tmp_path / "outer.ini"
    rcfile.write_text(f"[run]\nparallel = true\npatch = subprocess\ndata_file = {outer}/.c\n")
    env = {k: v for k, v in nested_env().items() if not k.startswith("COVERAGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--rcfile={rcfile}", "-m", "nox", "-s", "unit"],
        cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    files = sorted(outer.glob(".c.*"))
    assert files
    argvs = []
    for file in files:
        assert re.search(r"\.H\w+h$", file.name), f"{file.name}: unfinished data file"
        with contextlib.closing(sqlite3.connect(file)) as db:
            argvs.append(db.execute("SELECT value FROM meta WHERE key = 'sys_argv'").fetchone()[0])
    assert all("nox" in argv for argv in argvs), argvs


def test_testgate_nox_imports_only_nox_and_the_standard_library() -> None:
    """nox imports a noxfile with its own interpreter: testgate.nox may need nothing else."""
    code = (
        "import sys, nox; before = set(sys.modules); import testgate.nox; "
        "new = {m.partition('.')[0] for m in set(sys.modules) - before}; "
        "print(' '.join(sorted(m for m in new if m not in sys.stdlib_module_names)))"
    )
    done = run([sys.executable, "-c", code], Path.cwd())
    assert done.returncode == 0, done.output
    assert done.output.split() == ["testgate"]
