"""Explanations on a planted suite with known ground truth: leaked state, causes, non-idempotent
tests, deterministic repros and verified fixes, every printed command run."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import planted_why as planted
import pytest

from testgate.flaky import causes, leaks
from testgate.flaky.aggregate import TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.explain import explain_all
from testgate.flaky.trials import Trials

pytestmark = pytest.mark.slow


def run_printed(command: str, root: Path) -> subprocess.CompletedProcess[str]:
    """A printed command as a user runs it: `VAR=value` prefixes, then `python -m pytest`."""
    argv = shlex.split(command)
    env = dict(os.environ)
    while argv and "=" in argv[0] and not argv[0].startswith("-"):
        name, _, value = argv.pop(0).partition("=")
        env[name] = value
    assert argv[:3] == ["python", "-m", "pytest"]
    return subprocess.run(
        [sys.executable, *argv[1:]], cwd=root, env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return planted.make(tmp_path / "project")


def trials(root: Path) -> Trials:
    return Trials(root, root.parent / "work", timeout=120, jobs=2)


@pytest.mark.parametrize(
    ("polluter", "victim"),
    [
        (planted.ENV_POLLUTER, planted.ENV_VICTIM),
        (planted.CWD_POLLUTER, planted.CWD_VICTIM),
        (planted.GLOBAL_POLLUTER, planted.GLOBAL_VICTIM),
    ],
)
def test_each_polluter_s_leak_is_named_and_shown(project: Path, polluter: str, victim: str) -> None:
    found = leaks.explain(trials(project), polluter, victim, polluter=True, known=5)
    assert found.leaked == planted.TRUTH[victim][3]
    assert found.p_chance is not None
    assert found.p_chance <= 0.01
    [pair, restored] = found.evidence
    assert (pair.runs, pair.failed) == (6, 6)
    assert restored.condition == f"{found.leaked[0]} restored"
    assert restored.failed == 0
    assert restored.runs >= 3


def test_a_thread_is_reported_as_changed_without_a_claim(tmp_path: Path) -> None:
    (tmp_path / "test_t.py").write_text(
        textwrap.dedent(
            """
            import os, threading, time

            def test_starts_poller():
                threading.Thread(target=time.sleep, args=(5,), name="poller", daemon=True).start()
                os.environ["POLLING"] = "1"

            def test_needs_quiet():
                assert "POLLING" not in os.environ
            """
        )
    )
    found = leaks.explain(
        trials(tmp_path), "test_t.py::test_starts_poller", "test_t.py::test_needs_quiet",
        polluter=True, known=5,
    )  # fmt: skip
    assert found.leaked == ("os.environ['POLLING']",)
    assert found.changed == ("thread 'poller'",)


@pytest.mark.parametrize("test_id", [planted.RANDOM, planted.SECRETS, planted.HASH, planted.CLOCK])
def test_each_cause_is_named_with_a_deterministic_repro(project: Path, test_id: str) -> None:
    found = causes.find_cause(trials(project), test_id)
    assert found.cause == planted.TRUTH[test_id][1]
    assert found.p_chance is not None
    assert found.p_chance <= 0.01
    assert found.repro_deterministic
    assert found.repro is not None
    rows = {e.condition: (e.runs, e.failed) for e in found.evidence}
    assert found.fail is not None
    assert found.ok is not None
    assert rows[f"{found.cause}: {found.fail.label}"] == (7, 7)
    assert rows[f"{found.cause}: {found.ok.label}"][1] == 0
    assert run_printed(found.repro, project).returncode == 1


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "reports" not in p.parts and "__pycache__" not in p.parts
    }


def test_the_hunt_explains_fixes_and_finds_the_non_idempotent_test(tmp_path: Path) -> None:
    root = planted.make(tmp_path / "project")
    (root / "tests" / "test_nondet.py").write_text(
        "import random\n\n\ndef test_random_sample():\n    assert random.random() < 0.6\n"
    )
    for name in ("test_export.py", "test_config.py"):
        (root / "tests" / name).unlink()
    before = _tree(root)
    done = subprocess.run(
        [sys.executable, "-m", "testgate", "flaky", "--count", "6", "--seed", "5", "--jobs", "2"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    report = json.loads((root / "reports" / "flaky.json").read_text())
    tests = {t["id"]: t for t in report["tests"]}
    assert report["twice"]["status"] == "completed"
    assert report["twice"]["junit"] == "reports/flaky/twice.xml"
    assert (root / report["twice"]["junit"]).is_file()
    assert report["meta"]["alpha"] == 0.01

    victim = tests[planted.ENV_VICTIM]
    assert (victim["kind"], victim["polluter"]) == ("order-dependent", planted.ENV_POLLUTER)
    assert victim["leaked"] == ["os.environ['APP_MODE']"]
    once = tests[planted.TWICE]
    assert (once["verdict"], once["kind"]) == ("flaky", "non-idempotent")
    assert once["leaked"] == ["app.registry._PLUGINS"]
    rand = tests[planted.RANDOM]
    assert (rand["kind"], rand["cause"]) == ("non-deterministic", "random")
    for t in (victim, once, rand):
        assert t["repro_deterministic"] is True
        assert t["p_chance"] <= 0.01
        assert t["evidence"]
        assert t["fix"]["verified"] is True, t["fix"]
        assert (root / t["fix"]["patch"]).read_text().startswith("--- a/tests/")
        assert run_printed(t["repro"], root).returncode == 1
        assert f"    repro: {t['repro']}\n" in done.stdout
    assert _tree(root) == before  # suggested, never applied
    md = (root / "reports" / "flaky.md").read_text()
    assert "## Why" in md
    assert "| os.environ\\['APP\\_MODE'\\] restored |" in md  # escaped for Markdown


def test_every_repro_command_in_the_docs_fails_every_time(project: Path) -> None:
    page = Path(__file__).resolve().parents[2] / "docs/flaky-why.md"
    block = page.read_text().split("```console\n", 1)[1].split("```", 1)[0]
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    assert len(commands) == 6
    for command in commands:
        assert run_printed(command, project).returncode == 1, command


def test_a_culprit_a_fresh_run_contradicts_is_dropped_and_the_cause_found(
    project: Path,
) -> None:
    # a claim chance could have made: secrets fails 1 run in 3, never 7 in a row (0.05%)
    claimed = Finding(
        "order-dependent", "python -m pytest", polluter=planted.ENV_POLLUTER, verified=True
    )
    summary = TestSummary(planted.SECRETS, passed=6, failed=4, skipped=0)
    found = explain_all(
        trials(project), [summary], {planted.SECRETS: claimed}, (),
        reports_dir=project / "reports", known=5, fix=False,
    )[planted.SECRETS]  # fmt: skip
    assert (found.kind, found.cause, found.leaked) == ("non-deterministic", "random", ())
    assert found.repro_deterministic
