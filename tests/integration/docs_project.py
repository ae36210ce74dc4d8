"""The small project the documented `testgate` and `pytest` commands run in.

It has what the docs' command lines name: `src/pkg/core/`, unit and integration tests (one
marked slow), JUnit and coverage data from a real run under coverage.py, one gate run recorded
on branch `main` in the history, a truncated `broken.xml`, budgets in a `testgate.toml`, and
copies of the reports as `artifact/reports` and `baseline/reports`. No `[tool.testgate]` in
pyproject.toml: the gate runs its default checks there, and the documented way to start one
(`testgate init --write`) can run here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from git_repo import git

PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src"]
markers = ["slow: takes longer than the rest"]

[tool.coverage.run]
branch = true
parallel = true
relative_files = true
source = ["src/pkg"]

[tool.coverage.report]
precision = 2
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "src/pkg/__init__.py": "",
    "src/pkg/core/__init__.py": "",
    "src/pkg/core/calc.py": """\
        def clamp(n, lo, hi):
            if n < lo:
                return lo
            if n > hi:
                return hi
            return n


        def parse(text):
            text = text.strip()
            if text.startswith("-"):
                return -int(text[1:])
            return int(text)
        """,
    "tests/unit/test_calc.py": """\
        import pytest

        from pkg.core.calc import clamp, parse


        @pytest.mark.parametrize("n", [1, 2, 3, 4])
        def test_clamp_inside(n):
            assert clamp(n, 0, 10) == n


        def test_clamp_low():
            assert clamp(-5, 0, 10) == 0


        def test_clamp_high():
            assert clamp(50, 0, 10) == 10


        def test_parse():
            assert parse(" 42 ") == 42


        @pytest.mark.slow
        def test_parse_negative():
            assert parse("-7") == -7
        """,
    "tests/integration/test_cli.py": """\
        import subprocess
        import sys


        def test_parse_in_a_subprocess():
            code = "from pkg.core.calc import parse; print(parse('5') * 2)"
            done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env={"PYTHONPATH": "src"})
            assert done.stdout.strip() == "10"


        def test_clamp_twice():
            from pkg.core.calc import clamp
            assert clamp(clamp(99, 0, 50), 0, 10) == 10
        """,
    # budgets kept apart from pyproject.toml (`--config testgate.toml`)
    "testgate.toml": """\
        reports = "reports"

        [tests]
        min_count = 8

        [coverage]
        fail_under = 50
        modules = { "src/pkg/core/*" = 50 }
        """,
    # what a crashed producer leaves behind
    "broken.xml": """\
        <?xml version="1.0" encoding="utf-8"?>
        <testsuites><testsuite name="pytest" tests="2">
        <testcase classname="tests.test_a" name="test_one" time="0.1"/>
        <testcase classname="tests.test_a" name="test_two" ti""",
}

CLEAN_ENV = ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR", "COVERAGE_PROCESS_START")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def run(root: Path, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=root, env=environment(), capture_output=True, text=True,
        check=False, timeout=timeout,
    )  # fmt: skip


def run_session(root: Path, session: str, folder: str) -> None:
    """As the nox sessions run a test folder: coverage in parallel mode, JUnit per session."""
    done = run(
        root, sys.executable, "-m", "coverage", "run", "--parallel-mode",
        f"--data-file=reports/coverage/.coverage.{session}", "-m", "pytest", folder,
        "-p", "no:randomly", "-p", "no:cacheprovider", f"--junitxml=reports/junit/{session}.xml",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def make_docs_project(root: Path) -> Path:
    for name, body in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the planted project")
    run_session(root, "unit", "tests/unit")
    run_session(root, "integration", "tests/integration")
    gate = run(root, sys.executable, "-m", "testgate", "gate")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    for copy in ("artifact/reports", "baseline/reports"):
        shutil.copytree(root / "reports", root / copy)
    return root
