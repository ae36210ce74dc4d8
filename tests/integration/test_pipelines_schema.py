"""The pipelines in ci/ are valid for their CI systems and pass the workflow security audit."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
GITHUB = REPO / "ci" / "github" / "ci.yml"
OWN = REPO / ".github" / "workflows" / "ci.yml"
GITLAB = REPO / "ci" / "gitlab-ci.yml"


def _tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    assert found, f"{name} is not installed: it is in the 'test' dependency group"  # never skip
    return found


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ("vendor.github-workflows", GITHUB),
        ("vendor.github-workflows", OWN),
        ("vendor.gitlab-ci", GITLAB),
    ],
)
def test_pipeline_matches_its_schema(schema: str, path: Path) -> None:
    done = _run(_tool("check-jsonschema"), "--builtin-schema", schema, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout


def test_the_schemas_reject_a_broken_pipeline(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(GITHUB.read_text().replace("runs-on:", "runs_on:", 1))
    schema = ("--builtin-schema", "vendor.github-workflows")
    done = _run(_tool("check-jsonschema"), *schema, str(broken))
    assert done.returncode == 1


def test_github_workflow_has_no_zizmor_findings_even_for_auditors() -> None:
    done = _run(_tool("zizmor"), "--offline", "--persona", "auditor", str(GITHUB), str(OWN))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_would_catch_template_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    bad = workflows / "ci.yml"
    bad.write_text(
        GITHUB.read_text().replace(
            "run: python -m pip install nox uv\n",
            'run: echo "${{ github.event.pull_request.title }}"\n',
            1,
        )
    )
    done = _run(_tool("zizmor"), "--offline", str(bad))
    assert done.returncode != 0
    assert "template-injection" in done.stdout + done.stderr


def test_the_repository_runs_the_published_pipeline_unchanged() -> None:
    # GitHub only runs (and reuses) workflows from .github/workflows, so it is a copy
    assert OWN.read_bytes() == GITHUB.read_bytes()


def test_github_pipeline_shape() -> None:
    text = GITHUB.read_text()
    for needle in (
        "permissions:\n  contents: read",
        'python: ["3.10", "3.11", "3.12", "3.13"]',
        "shard: [1, 2, 3]",
        'SHARDS: "3"',
        'nox -s unit -- --shard "$SHARD/$SHARDS"',
        'nox -s flaky -- --count "$HUNT_COUNT" --seed "$HUNT_SEED"',
        '--slice "$SLICE/$HUNT_SLICES" --reports "reports/hunt-$SLICE"',
        "nox -s flaky -- --combine slices/hunt-*",
        'nox -s flaky -- --new --base "origin/$BASE_REF"',
        "fetch-depth: 0",
        "schedule:",
        "persist-credentials: false",
        "include-hidden-files: true",
    ):
        assert needle in text, needle
    steps = [ln.strip().removeprefix("- ") for ln in text.splitlines()]
    uses = [ln.removeprefix("uses:").strip() for ln in steps if ln.startswith("uses:")]
    assert len(uses) > 10
    for ref in uses:
        _, _, rest = ref.partition("@")
        sha = rest.split()[0]
        assert len(sha) == 40, ref  # pinned by commit, the version in a comment
        assert all(c in "0123456789abcdef" for c in sha), ref
        assert "# v" in rest, ref


def _yaml(path: Path) -> Any:
    # ruamel.yaml comes with check-jsonschema, which these tests need anyway
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(path.read_text())


def test_the_nightly_hunt_is_sliced_and_combined_and_pull_requests_burn_in() -> None:
    github = _yaml(GITHUB)
    jobs = github["jobs"]
    slices = jobs["hunt"]["strategy"]["matrix"]["slice"]
    assert slices == list(range(1, int(github["env"]["HUNT_SLICES"]) + 1))
    assert jobs["flaky"]["needs"] == "hunt"
    assert "schedule" in jobs["hunt"]["if"]
    assert "schedule" in jobs["flaky"]["if"]
    assert jobs["burn-in"]["if"] == "github.event_name == 'pull_request'"
    assert "burn-in" in jobs["gate"]["needs"]
    # every slice shares one seed: the workflow run's id, the same in every job of a run
    (step,) = [s for s in jobs["hunt"]["steps"] if "--slice" in s.get("run", "")]
    assert step["env"]["HUNT_SEED"] == "${{ github.run_id }}"

    gitlab = _yaml(GITLAB)
    assert gitlab["hunt"]["parallel"] == 3
    assert '--slice "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in gitlab["hunt"]["script"][-1]
    assert '--seed "$CI_PIPELINE_ID"' in gitlab["hunt"]["script"][-1]
    assert gitlab["flaky"]["script"][-1] == "testgate flaky --combine reports/hunt-*"
    assert gitlab["flaky"]["needs"] == [{"job": "hunt", "artifacts": True}]
    rules = {job: gitlab[job]["rules"][0]["if"] for job in ("hunt", "flaky", "burn-in")}
    assert rules == {
        "hunt": '$CI_PIPELINE_SOURCE == "schedule"',
        "flaky": '$CI_PIPELINE_SOURCE == "schedule"',
        "burn-in": '$CI_PIPELINE_SOURCE == "merge_request_event"',
    }
    assert gitlab["burn-in"]["variables"]["GIT_DEPTH"] == "0"
    assert "--new --base" in gitlab["burn-in"]["script"][-1]
