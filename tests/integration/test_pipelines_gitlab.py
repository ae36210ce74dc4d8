"""ci/gitlab-ci.yml, run for real by gitlab-ci-local: 3 shards in 3 build folders, one gate."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testgate.checks import Status
from testgate.checks.shards import check_junit_dir
from testgate.read.junit import read_junit

REPO = Path(__file__).resolve().parents[2]
PIPELINE = REPO / "ci" / "gitlab-ci.yml"
IMAGE_LINE = "  image: python:3.12\n"

PYPROJECT = """
[project]
name = "calc"
version = "0"

[tool.pytest.ini_options]
pythonpath = ["src"]

[tool.coverage.run]
branch = true
source = ["src/calc"]

[tool.testgate.tests]
min_count = 8

[tool.testgate.coverage]
fail_under = 60
"""
CALC = """
def sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0


def unused(x):
    return x
"""
UNIT = """
import time
import pytest
from calc import sign

@pytest.mark.parametrize("x", range(1, 7))
def test_positive(x):
    time.sleep(0.01 * x)
    assert sign(x) == 1

def test_negative():
    assert sign(-1) == -1
"""
INTEGRATION = """
from calc import sign

def test_zero():
    assert sign(0) == 0
"""


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not installed: run ci/install-test-tools.sh"  # fail, never skip
    return found


def _project(root: Path) -> Path:
    for name, text in {
        "pyproject.toml": PYPROJECT,
        "src/calc/__init__.py": CALC,
        "tests/unit/test_sign.py": UNIT,
        "tests/integration/test_zero.py": INTEGRATION,
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    pipeline = PIPELINE.read_text()
    # no container registry here: the one line that names the image goes, the jobs then run
    # in a shell with this interpreter (gitlab-ci-local --shell-executor-no-image)
    assert pipeline.count(IMAGE_LINE) == 1
    (root / ".gitlab-ci.yml").write_text(pipeline.replace(IMAGE_LINE, ""))
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], cwd=root, check=True)
    return root


def _pipeline(root: Path, home: Path) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
    }
    argv = [_tool("gitlab-ci-local"), "--shell-executor-no-image", "--shell-isolation"]
    argv += ["--no-artifacts-to-source", "--variable", "INSTALL=", "--concurrency", "2"]
    done = subprocess.run(
        argv, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    log = done.stdout + done.stderr
    passed = {ln.split(None, 1)[1].strip() for ln in log.splitlines() if ln.startswith(" PASS ")}
    for job in ("unit: [1/3]", "unit: [2/3]", "unit: [3/3]", "integration"):
        assert job in passed, log[-4000:]
    return log


@pytest.mark.slow
def test_the_gitlab_pipeline_runs_three_shards_and_gates_them(tmp_path: Path) -> None:
    _tool("rsync")
    root = _project(tmp_path / "calc")
    first = _pipeline(root, tmp_path / "home")
    assert first.count("splitting them into equal counts") == 3  # nothing recorded yet
    # the second pipeline splits by the durations the first one cached
    second = _pipeline(root, tmp_path / "home")
    assert "equal counts" not in second
    assert "imported cache 'testgate-durations'" in second

    artifacts = root / ".gitlab-ci-local" / "artifacts"
    reports = next(artifacts.glob("gate*")) / "reports"
    junit = reports / "junit"
    assert sorted(p.name for p in junit.glob("*.xml")) == [
        "integration.xml",
        "unit-1.xml",
        "unit-2.xml",
        "unit-3.xml",
    ]
    ids = [c.node_id for p in sorted(junit.glob("unit-*.xml")) for c in read_junit(p).cases]
    assert len(ids) == len(set(ids)) == 7  # every unit test ran exactly once
    manifests = [json.loads(p.read_text()) for p in sorted(junit.glob("unit-*.json"))]
    assert all(m["expected_seconds"] is not None for m in manifests)
    shards = check_junit_dir(junit)
    assert shards is not None
    assert shards.status is Status.PASS

    shown = re.search(r"^ PASS  coverage +(\d+(?:\.\d+)?)% coverage$", second, re.MULTILINE)
    assert shown, second[-3000:]  # the job's `coverage:` regex found testgate's total
    coverage = json.loads((reports / "coverage.json").read_text())
    assert float(shown[1]) == float(coverage["totals"]["percent_covered_display"])
    assert list(coverage["files"]) == ["src/calc/__init__.py"]  # three build folders, one path
    assert coverage["totals"]["missing_lines"] == 1  # only unused() is never run
    assert (reports / "coverage.xml").read_text().lstrip().startswith("<?xml")

    assert " PASS  gate" in second, second[-3000:]
    gate = json.loads((reports / "gate.json").read_text())
    assert gate["passed"] is True, gate["checks"]
    assert (reports / "gate-junit.xml").is_file()
