"""A real project on disk for the history tests: git, pytest, coverage, nothing simulated.

Each `gate_run` runs the project's tests under coverage in a fresh process, reads the JUnit
file with testgate's reader and the coverage JSON coverage.py wrote, judges total coverage
like the gate does, and appends the run to the history with `record_run`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from git_repo import git

from testgate.checks import CheckResult, GateResult, Status
from testgate.history import record_run
from testgate.model import CoverageData, JUnitReport
from testgate.read.coverage import read_coverage
from testgate.read.junit import read_junit

CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("GITHUB_", "CI_", "COV_", "COVERAGE_", "PYTEST_"))
}


@dataclass
class Project:
    root: Path

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def db(self) -> Path:
        return self.reports / "history.sqlite"

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        return git(self.root, "rev-parse", "HEAD").strip()

    def commit_id(self) -> str:
        return git(self.root, "rev-parse", "HEAD").strip()

    def test_run(self, env: dict[str, str] | None = None) -> tuple[JUnitReport, CoverageData]:
        """pytest under coverage in a fresh process; exit 1 (failed tests) is a result too."""
        junit = self.reports / "junit" / "unit.xml"
        data = self.reports / "coverage" / ".coverage"
        data.parent.mkdir(parents=True, exist_ok=True)
        run_env = {**CLEAN_ENV, **(env or {})}
        done = subprocess.run(
            [sys.executable, "-m", "coverage", "run", "--branch", "--source=src",
             f"--data-file={data}", "-m", "pytest", "-q", "-p", "no:randomly",
             "-p", "no:cacheprovider", f"--junitxml={junit}", "tests"],
            cwd=self.root, capture_output=True, text=True, env=run_env, check=False,
        )  # fmt: skip
        assert done.returncode in (0, 1), done.stdout + done.stderr
        subprocess.run(
            [sys.executable, "-m", "coverage", "json", f"--data-file={data}",
             "-o", str(self.reports / "coverage.json")],
            cwd=self.root, capture_output=True, check=True, env=run_env,
        )  # fmt: skip
        coverage = read_coverage(self.reports / "coverage.json", root=self.root)
        return read_junit(junit, root=self.root), coverage

    def gate_run(self, *, fail_under: float = 90.0, env: dict[str, str] | None = None) -> int:
        report, coverage = self.test_run(env)
        pc = coverage.totals.percent
        total = CheckResult(
            "coverage.total",
            Status.PASS if pc >= fail_under else Status.FAIL,
            f"total coverage {pc:.2f}% is {'at least' if pc >= fail_under else 'below'} "
            f"the minimum {fail_under:g}%",
            round(pc, 2),
            fail_under,
        )
        bad = report.totals.failed + report.totals.errors
        tests = CheckResult(
            "tests.failed", Status.FAIL if bad else Status.PASS, f"{bad} tests failed", bad, 0
        )
        return record_run(
            self.db,
            result=GateResult((total, tests)),
            reports=[report],
            coverage=coverage,
            root=self.root,
            env={},  # provenance from git alone, whatever CI this suite itself runs on
        )

    def testgate(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "testgate", *args],
            cwd=self.root, capture_output=True, text=True, env=CLEAN_ENV, check=False,
        )  # fmt: skip


BASE_CODE = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a - b
"""

BASE_TESTS = """\
import os
import time
from pathlib import Path

from calc import add, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(2, 3) == -1


def test_sleepy():
    time.sleep(float(os.environ.get("SLEEPY", "0.01")))


def test_shared_state():
    # A shared resource another job left behind: fails while the lock file exists.
    lock = Path(os.environ["SHARED_LOCK"])
    assert not lock.exists(), "resource busy"
"""

CONFTEST = """\
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "src"))


@pytest.fixture(autouse=True)
def database():
    # An infrastructure outage breaks every test at once.
    if Path(os.environ["SHARED_LOCK"]).with_name("db-down").exists():
        raise ConnectionError("database unreachable")
"""


def make_project(root: Path) -> Project:
    project = Project(root)
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    project.write("src/calc.py", BASE_CODE)
    project.write("tests/test_calc.py", BASE_TESTS)
    project.write("tests/conftest.py", CONFTEST)
    project.write(".gitignore", "reports/\n__pycache__/\n")
    project.commit("calc")
    return project
