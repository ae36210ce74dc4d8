"""The shell steps of ci/github/ci.yml, run by bash as the runner would run them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from testgate.checks import Status
from testgate.gate import check_junit_dir

REPO = Path(__file__).resolve().parents[2]
WORKFLOW: dict[str, Any] = YAML(typ="safe").load((REPO / "ci" / "github" / "ci.yml").read_text())


def _step(job: str, name: str) -> str:
    for step in WORKFLOW["jobs"][job]["steps"]:
        if step.get("name") == name:
            return str(step["run"])
    raise AssertionError(f"no step {name!r} in job {job!r}")


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` with `bash -e {0}`
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={**os.environ, **WORKFLOW["env"], **env},
        capture_output=True,
        text=True,
        check=False,
    )


def _write(path: Path, text: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_coverage_job_gathers_every_jobs_reports(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    for python in ("3.10", "3.11", "3.12", "3.13"):
        for k in (1, 2, 3):
            shard = artifacts / f"reports-unit-py{python}-{k}"
            _write(shard / "junit" / f"unit-{k}.xml", f"<testsuite name='{python}'/>")
            _write(shard / "junit" / f"unit-{k}.json", json.dumps({"splits": 3, "plan": "p"}))
            _write(shard / "coverage" / f".coverage.unit-{k}.host{python}.1.X")
    _write(artifacts / "reports-integration" / "junit" / "integration.xml")
    _write(artifacts / "reports-integration" / "coverage" / ".coverage.integration.h.2.Y")

    done = _bash(_step("coverage", "One reports folder from every job"), tmp_path)
    assert done.returncode == 0, done.stderr
    reports = tmp_path / "reports"
    assert len(list((reports / "coverage").glob(".coverage.*"))) == 13  # every version's data
    names = sorted(p.name for p in (reports / "junit").iterdir())
    assert names == [
        "integration.xml",
        "unit-1.json",
        "unit-1.xml",
        "unit-2.json",
        "unit-2.xml",
        "unit-3.json",
        "unit-3.xml",
    ]
    assert "3.12" in (reports / "junit" / "unit-2.xml").read_text()  # the GATE_PYTHON shards
    check = check_junit_dir(reports / "junit")
    assert check is not None
    assert check.status is Status.PASS


def test_a_missing_shard_artifact_stops_nothing_but_fails_the_shard_check(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    for k in (1, 3):
        shard = artifacts / f"reports-unit-py3.12-{k}"
        _write(shard / "junit" / f"unit-{k}.xml")
        _write(shard / "junit" / f"unit-{k}.json", json.dumps({"splits": 3}))
        _write(shard / "coverage" / f".coverage.unit-{k}.h.1.X")
    _write(artifacts / "reports-integration" / "junit" / "integration.xml")
    done = _bash(_step("coverage", "One reports folder from every job"), tmp_path)
    assert done.returncode == 0, done.stderr
    check = check_junit_dir(tmp_path / "reports" / "junit")
    assert check is not None
    assert check.message == "1 of 3 'unit' shards missing: unit-2.xml"


def test_failed_checks_become_annotations(tmp_path: Path) -> None:
    gate = {
        "meta": {"format": 1},
        "passed": False,
        "checks": [
            {"id": "coverage.total", "status": "pass", "message": "fine"},
            {
                "id": "tests.failed",
                "status": "fail",
                "message": "2 tests failed\nsee below: 100%",
                "annotations": [
                    {"file": "tests/test_a.py", "line": 12, "message": "assert 1 == 2"},
                    {"file": "tests/test_b.py", "line": None, "message": "boom"},
                ],
            },
            {"id": "inputs.shards", "status": "fail", "message": "1 of 3 'unit' shards missing"},
        ],
    }
    _write(tmp_path / "reports" / "gate.json", json.dumps(gate))
    done = _bash(_step("gate", "Annotations for the failed checks"), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "::error title=tests.failed::2 tests failed%0Asee below: 100%25",
        "::error title=inputs.shards::1 of 3 'unit' shards missing",
    ]


def test_previous_durations_feed_the_split_but_not_the_shards_artifact(tmp_path: Path) -> None:
    _write(tmp_path / "ci-durations" / "unit-1.xml", "previous")
    _write(tmp_path / "ci-durations" / "integration.xml", "previous")
    script = _step("unit", "Unit tests, shard ${{ matrix.shard }} of ${{ env.SHARDS }}")
    *prepare, run = script.strip().splitlines()
    assert run == 'nox -s unit -- --shard "$SHARD/$SHARDS"'  # the session, tested in its own area
    done = _bash("\n".join(prepare), tmp_path, SHARD="2")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "reports" / "junit").iterdir()) == [
        "previous-integration.xml",
        "previous-unit-1.xml",
    ]
    fresh = tmp_path / "first-run"
    fresh.mkdir()
    assert _bash("\n".join(prepare), fresh).returncode == 0  # no durations yet: nothing to copy
    assert not any((fresh / "reports" / "junit").iterdir())
    upload = next(
        s for s in WORKFLOW["jobs"]["unit"]["steps"] if "upload-artifact" in s.get("uses", "")
    )
    assert "previous" not in upload["with"]["path"]
    assert "reports/junit/unit-${{ matrix.shard }}.xml" in upload["with"]["path"]
