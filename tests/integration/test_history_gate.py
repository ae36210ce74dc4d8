"""The real `testgate gate`, twice on a changing project: each run lands in the history, and
the second index.html draws the trend of both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from history_project import CLEAN_ENV, make_project

from testgate.history import queries, store


def _tests_then_gate(root: Path, lock: Path, *gate_args: str) -> subprocess.CompletedProcess[str]:
    env = {**CLEAN_ENV, "SHARED_LOCK": str(lock)}
    data = root / "reports" / "coverage" / ".coverage"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "--branch", "--source=src", "--parallel-mode",
         f"--data-file={data}", "-m", "pytest", "-q", "-p", "no:randomly",
         "-p", "no:cacheprovider", "--junitxml=reports/junit/unit.xml", "tests"],
        cwd=root, env=env, capture_output=True, check=False,
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "testgate", "gate", *gate_args],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_gate_appends_to_history_and_reports_the_trend(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    project.write("pyproject.toml", "[tool.testgate.coverage]\nfail_under = 90\n")
    project.commit("budget")
    first = _tests_then_gate(project.root, tmp_path / "lock")
    assert first.returncode == 0, first.stdout + first.stderr
    untested = "\n\ndef mul(a, b):\n    if a:\n        return a * b\n    return 0\n"
    project.write("src/calc.py", (project.root / "src/calc.py").read_text() + untested)
    project.commit("mul, untested")
    second = _tests_then_gate(project.root, tmp_path / "lock")
    assert second.returncode == 1, second.stdout + second.stderr  # coverage fell below 90

    db = store.connect(project.db, create=False)
    first_run, second_run = queries.runs(db)
    assert (first_run.kind, first_run.passed, first_run.branch) == ("gate", True, "main")
    assert (second_run.passed, second_run.tests) == (False, 4)
    assert first_run.coverage == 100.0
    assert second_run.coverage is not None
    assert second_run.coverage < 90
    assert first_run.commit != second_run.commit
    checks = dict(
        db.execute("SELECT check_id, status FROM checks WHERE run_id = ?", (second_run.id,))
    )
    assert checks["coverage.total"] == "fail"

    page = (project.reports / "index.html").read_text()
    assert "Trends (last 2 runs)" in page
    assert ">FAILED<" in page
    badges = sorted(p.name for p in (project.reports / "badges").iterdir())
    assert badges == ["coverage.svg", "flaky.svg", "tests.svg"]

    done = project.testgate("history", "trend", "--fail-on-drop", "5")
    assert done.returncode == 1
    assert "total coverage dropped" in done.stderr


def test_baseline_from_history_judges_the_drop_against_the_last_run_on_main(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "proj")
    project.write("pyproject.toml", "[tool.testgate.coverage]\nmax_drop = 0.5\n")
    project.commit("budget")
    missing = _tests_then_gate(project.root, tmp_path / "lock", "--baseline", "history:main")
    assert missing.returncode == 2, missing.stdout + missing.stderr  # no history yet: fail closed
    assert "inputs.baseline" in missing.stdout

    assert _tests_then_gate(project.root, tmp_path / "lock").returncode == 0
    untested = "\n\ndef mul(a, b):\n    if a:\n        return a * b\n    return 0\n"
    project.write("src/calc.py", (project.root / "src/calc.py").read_text() + untested)
    project.commit("mul, untested")
    dropped = _tests_then_gate(project.root, tmp_path / "lock", "--baseline", "history:main")
    assert dropped.returncode == 1, dropped.stdout + dropped.stderr
    gate = json.loads((project.reports / "gate.json").read_text())
    drop = next(c for c in gate["checks"] if c["id"] == "coverage.max_drop")
    assert drop["status"] == "fail"
    assert drop["limit"] == 0.5
    assert "history:main" in drop["message"]
