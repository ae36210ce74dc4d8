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
from testgate.flaky.hunt import derive_seed
from testgate.gate import check_junit_dir
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
    return _commit(root)


def _commit(root: Path) -> Path:
    """The project as a git repository with this repository's pipeline, image line removed."""
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


def _pipeline(
    root: Path,
    home: Path,
    *extra: str,
    expect: tuple[str, ...] = ("unit: [1/3]", "unit: [2/3]", "unit: [3/3]", "integration"),
) -> str:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
    }
    argv = [_tool("gitlab-ci-local"), "--shell-executor-no-image", "--shell-isolation"]
    argv += ["--no-artifacts-to-source", "--variable", "INSTALL=", "--concurrency", "2", *extra]
    done = subprocess.run(
        argv, cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    log = done.stdout + done.stderr
    passed = {ln.split(None, 1)[1].strip() for ln in log.splitlines() if ln.startswith(" PASS ")}
    for job in expect:
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


HUNTED = {
    "pyproject.toml": """
[project]
name = "hunted"
version = "0"

[tool.testgate.flaky]
max_flaky = 1
""",
    "tests/__init__.py": "",
    "tests/state.py": "STATE = {'polluted': False}\n",
    # order-dependent, so deterministic per seed: the pipeline's hunt and one machine's agree
    "tests/test_victim.py": (
        "from tests.state import STATE\n\n\ndef test_victim():\n"
        "    assert not STATE['polluted']\n\n\ndef test_plain():\n    assert True\n"
    ),
    "tests/test_polluter.py": (
        "from tests.state import STATE\n\n\ndef test_polluter():\n"
        "    STATE['polluted'] = True\n\n\ndef test_other():\n    assert True\n"
    ),
}


@pytest.mark.slow
def test_the_scheduled_hunt_runs_in_three_slices_and_combines(tmp_path: Path) -> None:
    _tool("rsync")
    root = tmp_path / "hunted"
    for name, text in HUNTED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    _commit(root)
    count = 5
    log = _pipeline(
        root,
        tmp_path / "home",
        "--variable", "CI_PIPELINE_SOURCE=schedule",
        "--variable", f"HUNT_COUNT={count}",
        "--variable", "HUNT_INSTALL=",
        "--needs", "flaky",
        expect=("hunt: [1/3]", "hunt: [2/3]", "hunt: [3/3]", "flaky"),
    )  # fmt: skip
    for k, planned in ((1, "1, 4"), (2, "2, 5"), (3, "3")):
        assert f"slice {k}/3 of a {count}-iteration hunt" in log
        assert f"iterations {planned};" in log

    reports = next((root / ".gitlab-ci-local" / "artifacts").glob("flaky*")) / "reports"
    combined = json.loads((reports / "flaky.json").read_text())
    meta = combined["meta"]
    assert (meta["slices"], meta["count"], meta["complete"]) == (3, count, True)
    assert [r["iteration"] for r in combined["runs"]] == list(range(1, count + 1))
    assert [r["seed"] for r in combined["runs"]] == [
        derive_seed(meta["seed"], i) for i in range(1, count + 1)
    ]
    tests = {t["id"]: t for t in combined["tests"]}
    victim = tests["tests/test_victim.py::test_victim"]
    assert (victim["verdict"], victim["kind"]) == ("flaky", "order-dependent")
    assert victim["polluter"] == "tests/test_polluter.py::test_polluter"
    assert "flaky.tests: pass: 1 flaky test in 5 runs, within the maximum 1" in log

    # one machine, the pipeline's seed: the same orders and the same counts
    one = subprocess.run(
        [sys.executable, "-m", "testgate", "flaky", "--count", str(count), "--seed",
         str(meta["seed"]), "--reports", str(tmp_path / "one"), "--no-classify"],
        cwd=root, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert one.returncode == 0, one.stderr  # one flaky test is within max_flaky
    alone = json.loads((tmp_path / "one" / "flaky.json").read_text())
    assert [r["seed"] for r in alone["runs"]] == [r["seed"] for r in combined["runs"]]
    counts = {t["id"]: (t["runs"], t["passed"], t["failed"]) for t in alone["tests"]}
    assert counts == {i: (t["runs"], t["passed"], t["failed"]) for i, t in tests.items()}
