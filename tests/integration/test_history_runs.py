"""Several real gate-like runs of a project that changes between commits; the history shows
the coverage trend, a planted duration regression, a planted same-commit flake, and ignores an
infrastructure outage (more than 80% of the tests failing)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from history_project import CLEAN_ENV, Project, make_project

from testgate.checks import GateResult
from testgate.history import newest_run, queries, store, view
from testgate.render.html import write_html_report


def _runs(project: Project, lock: Path) -> dict[str, int]:
    env = {"SHARED_LOCK": str(lock)}
    ids = {"base": project.gate_run(env=env)}
    # an untested function lands: coverage drops
    project.write("src/calc.py", project.root.joinpath("src/calc.py").read_text() + (
        "\n\ndef mul(a, b):\n    if a == 0:\n        return 0\n    return a * b\n"
    ))  # fmt: skip
    project.commit("mul, untested")
    ids["mul"] = project.gate_run(env=env)
    project.write("src/calc.py", project.root.joinpath("src/calc.py").read_text() + (
        "\n\ndef div(a, b):\n    if b == 0:\n        raise ZeroDivisionError(a)\n"
        "    return a / b\n"
    ))  # fmt: skip
    project.commit("div, untested")
    # the same commit twice: the shared resource is busy the first time only
    lock.touch()
    ids["flake-fail"] = project.gate_run(env=env)
    lock.unlink()
    ids["flake-pass"] = project.gate_run(env=env)
    # a commit that makes one test slow
    project.write("tests/slow.env", "0.6\n")
    project.commit("slow fixture")
    ids["slow"] = project.gate_run(env={**env, "SLEEPY": "0.6"})
    # the database is down: every test errors; that is the machine, not the code
    lock.with_name("db-down").touch()
    ids["outage"] = project.gate_run(env=env)
    return ids


def test_history_of_real_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    ids = _runs(project, tmp_path / "lock")
    db = store.connect(project.db, create=False)

    every = {r.id: r for r in queries.runs(db, include_infra=True)}
    assert len(every) == 6
    assert every[ids["outage"]].infrastructure_failure
    assert every[ids["outage"]].failed == every[ids["outage"]].tests == 4
    assert every[ids["base"]].branch == "main"
    assert every[ids["flake-fail"]].commit == every[ids["flake-pass"]].commit
    assert every[ids["mul"]].commit != every[ids["base"]].commit
    assert not every[ids["flake-fail"]].passed

    # coverage trend: 100% -> lower -> lower; the outage is no data point
    trend = queries.coverage_trend(db)
    assert [p.run.id for p in trend] == [ids[k] for k in ("base", "mul", "flake-fail",
                                                          "flake-pass", "slow")]  # fmt: skip
    assert trend[0].percent == 100.0
    assert trend[0].percent > trend[1].percent > trend[2].percent == trend[4].percent

    # the planted regression, judged against the median of the earlier runs
    (regression,) = queries.duration_regressions(db, last=4)
    assert regression.node_id == "tests/test_calc.py::test_sleepy"
    assert regression.current >= 0.6
    assert regression.baseline < 0.3

    # the same-commit flake, and only it: the outage made every test fail on the commit
    # where they had passed, yet it is ignored
    report = queries.flaky_tests(db)
    assert [(t.node_id, t.flaked, t.active) for t in report.tests] == [
        ("tests/test_calc.py::test_shared_state", 1, True)
    ]
    assert report.tests[0].commits == (every[ids["flake-fail"]].commit,)

    # --baseline history:main: the newest real run on main (the outage skipped)
    base = newest_run("history:main", project.db)
    assert base.run.id == ids["slow"]
    assert base.coverage == trend[-1].percent
    assert set(base.files) == {"src/calc.py"}
    assert "tests/test_calc.py::test_add" in base.durations

    # the HTML report draws the trend of these runs
    html = write_html_report(
        project.reports / "index.html",
        result=GateResult(()),
        reports=[],
        coverage=None,
        flaky=None,
        history=view(project.db),
    ).read_text()
    assert 'id="trends"' in html
    assert "tests/test_calc.py::test_shared_state" in html
    # the repro command the report prints for it runs that test
    (repro,) = re.findall(r"<pre>(python -m pytest [^<]*test_shared_state)</pre>", html)
    argv = [sys.executable, *shlex.split(repro)[1:], "-p", "no:randomly"]
    done = subprocess.run(
        argv, cwd=project.root, capture_output=True, text=True, check=False,
        env={**CLEAN_ENV, "SHARED_LOCK": str(tmp_path / "lock")},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout  # the database is still down
    assert "1 error" in done.stdout

    # and the commands say the same (every command line the README shows)

    done = project.testgate("history", "trend", "--fail-on-drop", "1")
    assert done.returncode == 1, done.stderr
    assert "more than the allowed 1" in done.stderr
    assert project.testgate("history", "trend", "--fail-on-drop", "70").returncode == 0

    done = project.testgate("history", "trend", "--module", "src/*", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["points"][0]["percent"] == 100.0

    done = project.testgate("history", "regressions", "--last", "4", "--fail-on-regression")
    assert done.returncode == 1
    assert done.stdout.startswith("tests/test_calc.py::test_sleepy: ")

    done = project.testgate("history", "flaky", "--fail-on-flaky")
    assert done.returncode == 1
    assert "tests/test_calc.py::test_shared_state" in done.stdout
    assert "test_add" not in done.stdout

    done = project.testgate("history", "runs")
    assert done.returncode == 0
    assert [line.split()[5] for line in done.stdout.splitlines()[1:]] == [
        "pass", "FAIL", "FAIL", "FAIL", "FAIL", "infra",
    ]  # fmt: skip

    out = project.reports / "history.json"
    assert project.testgate("history", "export", "-o", str(out)).returncode == 0
    exported = json.loads(out.read_text())
    assert [r["id"] for r in exported["runs"]] == sorted(ids.values())
    assert set(exported["runs"][0]) == {
        "id", "time", "commit", "branch", "passed", "tests", "failed", "flaky", "coverage",
        "seconds",
    }  # fmt: skip
    assert exported["runs"][0]["coverage"] == 100.0

    (project.root / "pyproject.toml").write_text("[tool.testgate]\nhistory_keep = 2\n")
    done = project.testgate("history", "prune")
    assert done.returncode == 0, done.stderr
    assert "deleted 4 runs" in done.stdout


def test_import_a_reports_folder_from_another_job(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    env = {"SHARED_LOCK": str(tmp_path / "lock")}
    report, coverage = project.test_run(env)
    # what a CI job uploads: junit/, coverage.json and the parallel data files, gate.json
    artifact = tmp_path / "artifact"
    shutil.copytree(project.reports, artifact)
    (artifact / "gate.json").write_text(
        json.dumps(
            {
                "meta": {"format": 1, "tool": "testgate", "version": "0"},
                "passed": True,
                "checks": [{"id": "coverage.total", "status": "pass", "actual": 100.0,
                            "limit": 90.0, "message": "total coverage 100.00%"}],
            }
        )
    )  # fmt: skip
    done = project.testgate("history", "import", str(artifact), "--branch", "main")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{artifact}: recorded as run 1 in ")
    db = store.connect(project.db, create=False)
    (run,) = queries.runs(db)
    assert (run.kind, run.branch, run.passed, run.tests) == ("import", "main", True, 4)
    assert run.commit == project.commit_id()
    assert run.coverage == coverage.totals.percent == 100.0
    assert run.seconds == report.seconds
    assert newest_run("history:main", project.db).files["src/calc.py"].percent == 100.0

    # without coverage.json, the data files under coverage/ are read
    (artifact / "coverage.json").unlink()
    done = project.testgate("history", "import", str(artifact), "--branch", "main")
    assert done.returncode == 0, done.stderr
    assert [r.coverage for r in queries.runs(db)] == [100.0, 100.0]
