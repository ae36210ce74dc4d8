"""The gate over real projects: real pytest, real coverage.py, real git, then `testgate`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from git_repo import git

from testgate.cli import main
from testgate.read.junit import read_junit

PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src"]

[tool.coverage.run]
branch = true
relative_files = true
source = ["src/pkg"]

[tool.coverage.report]
precision = 2
"""

SOURCES = {
    "src/pkg/__init__.py": "",
    "src/pkg/core/__init__.py": "",
    "src/pkg/core/router.py": """\
        def route(path):
            if path == "/":
                return "index"
            if path.startswith("/api"):
                return "api"
            return "404"


        def never(x):
            if x:
                return 1
            return 2
        """,
    "src/pkg/util.py": """\
        def clamp(n, lo, hi):
            if n < lo:
                return lo
            if n > hi:
                return hi
            return n
        """,
    "src/pkg/unused.py": """\
        def nobody_calls_me():
            return 42
        """,
    "tests/test_router.py": """\
        import pytest

        from pkg.core.router import route


        def test_index():
            assert route("/") == "index"


        def test_api():
            assert route("/api/x") == "api"


        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass


        @pytest.mark.xfail(reason="known")
        def test_xfail():
            assert route("/nope") == "index"
        """,
    "tests/test_util.py": """\
        import pytest

        from pkg.util import clamp


        @pytest.mark.parametrize("n", [1, 2, 3])
        def test_clamp_inside(n):
            assert clamp(n, 0, 10) == n


        def test_clamp_low():
            assert clamp(-1, 0, 10) == 0
        """,
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body), encoding="utf-8")


def run(
    root: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR", "COVERAGE_PROCESS_START"):
        if env is None or name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        list(argv), cwd=root, capture_output=True, text=True, check=False, env=full_env
    )


def run_tests(root: Path, session: str = "unit", *extra: str) -> subprocess.CompletedProcess[str]:
    """As the unit session runs them: coverage in parallel mode, JUnit per session."""
    return run(
        root,
        sys.executable,
        "-m",
        "coverage",
        "run",
        "--parallel-mode",
        f"--data-file=reports/coverage/.coverage.{session}",
        "-m",
        "pytest",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        f"--junitxml=reports/junit/{session}.xml",
        "-o",
        "junit_family=xunit2",
        *extra,
    )


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def tg(root: Path, *argv: str, env: dict[str, str] | None = None) -> Done:
    """`testgate ARGV` in `root`, in this process (so coverage measures it)."""
    saved_env = dict(os.environ)
    saved_cwd = Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR"):
        os.environ.pop(name, None)
    os.environ.update(env or {})
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return Done(code, out.getvalue(), err.getvalue())


def set_budgets(root: Path, toml: str) -> None:
    (root / "pyproject.toml").write_text(PYPROJECT + textwrap.dedent(toml), encoding="utf-8")


def gate_json(root: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((root / "reports" / "gate.json").read_text(encoding="utf-8"))
    return doc


def checks(root: Path) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in gate_json(root)["checks"]}


@pytest.fixture(scope="module")
def tested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project, tests run once with coverage; each test works on its own copy."""
    root = tmp_path_factory.mktemp("base") / "project"
    write_tree(root, SOURCES)
    set_budgets(root, "")
    done = run_tests(root)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture
def project(tested: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(tested, root)
    return root


def summary_counts(pytest_output: str) -> dict[str, int]:
    line = pytest_output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", line)}


def test_counts_equal_pytest_summary_and_red_tests_fail(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, SOURCES)
    write_tree(
        root,
        {
            "tests/test_red.py": """\
                import pytest


                @pytest.fixture
                def broken():
                    raise RuntimeError("no db")


                def test_fails():
                    assert 1 == 2


                def test_errors(broken):
                    pass
                """
        },
    )
    set_budgets(root, "")
    done = run_tests(root)
    assert done.returncode == 1
    counts = summary_counts(done.stdout)
    gate = run(root, sys.executable, "-m", "testgate", "gate")
    assert gate.returncode == 1, gate.stderr
    totals = gate_json(root)["totals"]
    assert counts == {"failed": 1, "passed": 6, "skipped": 1, "xfailed": 1, "error": 1}
    assert (totals["failed"], totals["errors"]) == (counts["failed"], counts["error"])
    assert totals["passed"] == counts["passed"]
    assert totals["xfailed"] == counts["xfailed"]
    assert totals["skipped"] == counts["skipped"]  # xfailed apart, as pytest counts them
    assert totals["tests"] == sum(counts.values())
    red = checks(root)["tests.failures"]
    assert red["status"] == "fail"
    assert red["details"] == [
        "FAILED tests/test_red.py::test_fails - assert 1 == 2",
        'ERROR tests/test_red.py::test_errors - failed on setup with "RuntimeError: no db"',
    ]
    assert gate.stdout.strip().splitlines()[-1].startswith("gate FAILED")


def test_inventory_budgets(project: Path) -> None:
    set_budgets(project, "[tool.testgate.tests]\nmin_count = 8\nmax_skipped = 1\nmax_xfailed = 1\n")
    assert tg(project, "gate").returncode == 0
    got = checks(project)
    assert (got["tests.count"]["actual"], got["tests.count"]["status"]) == (8, "pass")
    set_budgets(project, "[tool.testgate.tests]\nmin_count = 9\nmax_skipped = 0\nmax_xfailed = 0\n")
    gate = tg(project, "gate")
    assert gate.returncode == 1
    got = checks(project)
    assert {k: got[k]["status"] for k in ("tests.count", "tests.skipped", "tests.xfailed")} == {
        "tests.count": "fail",
        "tests.skipped": "fail",
        "tests.xfailed": "fail",
    }
    assert got["tests.skipped"]["details"] == [
        "SKIPPED tests/test_router.py::test_skipped - not today"
    ]


def coverage_report_total(root: Path) -> str:
    """The TOTAL percentage as `coverage report` prints it, on the combined data."""
    done = run(
        root,
        sys.executable,
        "-m",
        "coverage",
        "report",
        "--data-file=reports/coverage/.coverage",
    )
    assert done.returncode == 0, done.stderr
    total = next(line for line in done.stdout.splitlines() if line.startswith("TOTAL"))
    return total.split()[-1].rstrip("%")


def test_total_coverage_equals_coverage_report(project: Path) -> None:
    set_budgets(project, "[tool.testgate.coverage]\nfail_under = 50\n")
    gate = tg(project, "gate")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    shown = coverage_report_total(project)
    total = checks(project)["coverage.total"]
    assert f"{total['actual']:.2f}" == shown
    assert total["status"] == "pass"
    assert f"total coverage {shown}%" in total["message"]
    set_budgets(project, f"[tool.testgate.coverage]\nfail_under = {float(shown) + 0.01}\n")
    assert tg(project, "gate").returncode == 1
    failed = checks(project)["coverage.total"]
    assert failed["status"] == "fail"
    assert failed["message"].startswith(f"total coverage {shown}% is below the minimum")
    set_budgets(project, f"[tool.testgate.coverage]\nfail_under = {shown}\n")
    assert tg(project, "gate").returncode == 0


def test_coverage_command_writes_reports_and_checks_budgets(project: Path) -> None:
    set_budgets(project, "[tool.testgate.coverage]\nfail_under = 99\n")
    done = tg(project, "coverage")
    assert done.returncode == 1, done.stderr
    reports = project / "reports"
    assert (reports / "coverage.xml").is_file()
    assert (reports / "htmlcov" / "index.html").is_file()
    report = json.loads((reports / "coverage.json").read_text(encoding="utf-8"))
    assert f"{report['totals']['percent_covered']:.2f}" == coverage_report_total(project)
    assert "coverage.total" in done.stdout
    assert "FAIL coverage.total: total coverage" in done.stdout


def test_branches_modules_and_zero_files(project: Path) -> None:
    set_budgets(
        project,
        """
        [tool.testgate.coverage]
        fail_under_branches = 90
        modules = { "src/pkg/core/*" = 95, "src/pkg/*.py" = 10 }
        """,
    )
    assert tg(project, "gate").returncode == 1
    got = checks(project)
    assert got["coverage.branches"]["status"] == "fail"
    core = got["coverage.modules:src/pkg/core/*"]
    assert core["status"] == "fail"
    assert re.fullmatch(
        r"src/pkg/core/\*: \d+\.\d\d% is below the module minimum 95% "
        r"\(2 files; worst: src/pkg/core/router\.py \d+\.\d%\)",
        core["message"],
    ), core["message"]
    top = got["coverage.modules:src/pkg/*.py"]
    assert top["status"] == "pass"
    assert [d.split(":")[0] for d in top["details"]] == [
        "src/pkg/__init__.py",
        "src/pkg/unused.py",
        "src/pkg/util.py",
    ]
    zero = got["coverage.zero"]
    assert (zero["status"], zero["details"]) == ("warn", ["src/pkg/unused.py"])
    set_budgets(
        project, "[tool.testgate.coverage]\nfail_under_branches = 40\ninformational = ['zero']\n"
    )
    assert tg(project, "gate").returncode == 0


def test_max_drop_against_a_baseline_folder(project: Path) -> None:
    set_budgets(project, "[tool.testgate.coverage]\nmax_drop = 0.5\n")
    assert tg(project, "gate").returncode == 0
    assert checks(project)["coverage.max_drop"]["status"] == "warn"  # no baseline yet
    assert tg(project, "coverage").returncode == 0  # writes coverage.json
    shutil.copytree(project / "reports", project / "old")
    shutil.rmtree(project / "reports")

    # Delete covered code: the percentage drops, no line loses its coverage.
    util = project / "src" / "pkg" / "util.py"
    util.write_text("def clamp(n, lo, hi):\n    return max(lo, min(n, hi))\n", encoding="utf-8")
    assert run_tests(project).returncode == 0
    gate = tg(project, "gate", "--baseline", "old")
    assert gate.returncode == 0, gate.stdout
    drop = checks(project)["coverage.max_drop"]
    assert drop["status"] == "pass"
    assert drop["actual"] > 0.5
    assert "no line lost its coverage" in drop["message"]

    # Add untested code: the drop comes with new uncovered lines.
    shutil.rmtree(project / "reports")
    util.write_text(
        util.read_text(encoding="utf-8")
        + "\n\ndef untested(a, b):\n    c = a + b\n    d = c * 2\n    return d - 1\n",
        encoding="utf-8",
    )
    assert run_tests(project).returncode == 0
    assert tg(project, "gate", "--baseline", "old/gate.json").returncode == 1
    drop = checks(project)["coverage.max_drop"]
    assert drop["status"] == "fail"
    assert "src/pkg/util.py: 1 -> 3 uncovered lines" in drop["details"]


def test_diff_coverage_on_a_real_git_repo(project: Path) -> None:
    (project / ".gitignore").write_text("reports/\n", encoding="utf-8")
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base")
    git(project, "checkout", "-q", "-b", "feature")
    router = project / "src" / "pkg" / "core" / "router.py"
    text = router.read_text(encoding="utf-8")
    text = text.replace(
        'if path.startswith("/api"):',
        'if path.startswith("/admin"):\n        return "admin"\n    if path.startswith("/api"):',
    )
    router.write_text(text, encoding="utf-8")
    git(project, "commit", "-q", "-am", "admin route, untested")
    (project / "src" / "pkg" / "extra.py").write_text(
        "from pkg.util import clamp\n\nVALUE = clamp(5, 0, 3)\n", encoding="utf-8"
    )
    shutil.rmtree(project / "reports")
    assert run_tests(project).returncode == 0
    set_budgets(project, "[tool.testgate.coverage]\ndiff_fail_under = 80\n")
    gate = tg(project, "gate", env={"GITHUB_ACTIONS": "true"})
    assert gate.returncode == 1, gate.stdout + gate.stderr
    diff = checks(project)["coverage.diff"]
    assert diff["status"] == "fail"
    assert "against main" in diff["message"]
    # extra.py is new and untracked: all its lines count as changed, none ran
    assert diff["details"] == [
        "src/pkg/core/router.py: line 5; branch 4->5",
        "src/pkg/extra.py: lines 1, 3",
    ]
    assert diff["actual"] == 33.33  # (1 line + 1 branch covered) / (4 lines + 2 branches)
    assert (
        "::error file=src/pkg/core/router.py,line=5::line 5 changed but not covered by tests"
        in (gate.stdout.splitlines())
    ), gate.stdout
    set_budgets(project, "[tool.testgate.coverage]\ndiff_fail_under = 10\n")
    assert tg(project, "gate").returncode == 0
    set_budgets(project, "[tool.testgate.coverage]\ndiff_fail_under = 80\ndiff_base = 'nope'\n")
    assert tg(project, "gate").returncode == 1
    assert "diff base 'nope' is not a commit here" in checks(project)["coverage.diff"]["message"]


def test_stale_coverage_is_an_input_failure(project: Path) -> None:
    set_budgets(project, "[tool.testgate.coverage]\nfail_under = 10\n")
    assert tg(project, "coverage").returncode == 0
    junit = project / "reports" / "junit" / "unit.xml"
    # an hour before the test run started (its JUnit file's mtime minus its own duration, which
    # on a busy machine is seconds, not a rounding error)
    old = junit.stat().st_mtime - read_junit(junit).seconds - 3600
    for path in (project / "reports").rglob(".coverage*"):
        os.utime(path, (old, old))
    os.utime(project / "reports" / "coverage.json", (old, old))
    gate = tg(project, "gate")
    assert gate.returncode == 2
    assert gate.stderr.startswith("testgate: reports/coverage/.coverage.unit")
    # an hour before the JUnit file was written, less the run's own duration (under a second)
    assert re.search(r"stale, written (1:00:00|0:59:5\d) before the latest test run", gate.stderr)
    assert gate.stderr.count("\n") == 1
    assert checks(project)["inputs.coverage"]["status"] == "fail"


def test_truncated_junit_never_passes_unless_salvage_is_allowed(project: Path) -> None:
    junit = project / "reports" / "junit" / "unit.xml"
    junit.write_bytes(junit.read_bytes()[: junit.stat().st_size * 2 // 3])
    gate = tg(project, "gate")
    assert gate.returncode == 2
    assert gate_json(project)["passed"] is False
    truncated = checks(project)["inputs.junit.truncated"]
    assert truncated["status"] == "fail"
    assert "truncated: the test run crashed before finishing" in gate.stderr
    set_budgets(project, "[tool.testgate.tests]\nallow_salvaged = true\n")
    assert tg(project, "gate").returncode == 0
    assert checks(project)["inputs.junit.truncated"]["status"] == "warn"
    assert 0 < checks(project)["tests.count"]["actual"] < 8


def test_durations_budgets_from_a_real_run(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(
        root,
        {
            "tests/unit/test_quick.py": """\
                import time


                def test_quick():
                    pass


                def test_sluggish():
                    time.sleep(0.3)
                """,
            "tests/integration/test_slow.py": """\
                import time


                def test_slow():
                    time.sleep(0.3)
                """,
        },
    )
    set_budgets(
        root,
        """
        [tool.testgate.durations]
        max_test = 1.0
        paths = { "tests/unit/**" = 0.2 }
        max_session = { unit = 30 }
        """,
    )
    done = run(
        root,
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:randomly",
        "--junitxml=reports/junit/unit.xml",
        "-o",
        "junit_family=xunit2",
    )
    assert done.returncode == 0, done.stdout
    result = tg(root, "durations", env={"GITHUB_ACTIONS": "true"})
    assert result.returncode == 1, result.stdout + result.stderr
    doc = json.loads((root / "reports" / "durations.json").read_text(encoding="utf-8"))
    got = {c["id"]: c for c in doc["checks"]}
    unit = got["durations.paths:tests/unit/**"]
    assert unit["status"] == "fail"
    assert unit["details"][0].startswith("tests/unit/test_quick.py::test_sluggish: 0.3")
    assert got["durations.max_test"]["status"] == "pass"
    assert got["durations.max_session:unit"]["status"] == "pass"
    assert doc["slowest"][0]["id"] in (
        "tests/unit/test_quick.py::test_sluggish",
        "tests/integration/test_slow.py::test_slow",
    )
    assert any(
        line.startswith("::error file=tests/unit/test_quick.py,line=8::")
        for line in result.stdout.splitlines()
    ), result.stdout
    assert (root / "reports" / "durations.md").is_file()
    shutil.copytree(root / "reports", root / "old")
    set_budgets(root, "[tool.testgate.durations]\nmax_regression = 1.5\n")
    same = tg(root, "gate", "--baseline", "old/durations.json")
    assert same.returncode == 0, same.stdout
    regression = checks(root)["durations.regression"]
    assert (regression["status"], regression["actual"]) == ("pass", 1.0)

    # The same run against a baseline where test_sluggish took 0.05 s, with a tight session.
    doc["tests"]["tests/unit/test_quick.py::test_sluggish"] = 0.05
    (root / "old" / "durations.json").write_text(json.dumps(doc), encoding="utf-8")
    set_budgets(
        root, "[tool.testgate.durations]\nmax_regression = 1.5\nmax_session = { unit = 0.1 }\n"
    )
    slower = tg(root, "durations", "--baseline", "old")
    assert slower.returncode == 1
    got = {
        c["id"]: c for c in json.loads((root / "reports" / "durations.json").read_text())["checks"]
    }
    assert got["durations.regression"]["status"] == "fail"
    assert got["durations.regression"]["details"][0].startswith(
        "tests/unit/test_quick.py::test_sluggish: 0.05 s -> 0.3"
    )
    session = got["durations.max_session:unit"]
    assert session["status"] == "fail"
    assert session["actual"] > 0.6


def test_the_commands_the_input_errors_suggest_work(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_tree(root, SOURCES)
    set_budgets(root, "[tool.testgate.coverage]\nfail_under = 50\n")
    no_junit = tg(root, "gate")
    assert no_junit.returncode == 2
    hint = re.search(r"`(pytest --junitxml=[^`]+)`", no_junit.stderr)
    assert hint is not None, no_junit.stderr
    junit_arg = hint.group(1).split()[1].replace("<session>", "unit")
    run_pytest = [sys.executable, "-m", "pytest", "-p", "no:randomly", junit_arg]
    assert run(root, *run_pytest).returncode == 0
    no_coverage = tg(root, "gate")
    assert no_coverage.returncode == 2
    hint = re.search(r"`(coverage run [^`]+ -m pytest)`", no_coverage.stderr)
    assert hint is not None, no_coverage.stderr
    command = [sys.executable, "-m", *hint.group(1).split(), "-p", "no:randomly", junit_arg]
    assert run(root, *command).returncode == 0
    gate = tg(root, "gate")
    assert gate.returncode == 0, gate.stdout + gate.stderr
