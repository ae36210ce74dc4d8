"""Classification and the recorder plugin on real pytest runs, with orders we choose."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from testgate.flaky import classify as classify_mod
from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.classify import (
    Classifier,
    classify_all,
)
from testgate.flaky.runner import Record, run_pytest
from testgate.model import Outcome
from testgate.model.flaky import BRITTLE, NON_DETERMINISTIC, ORDER_DEPENDENT

pytest_plugins = ("pytester",)


def run_printed(command: str | None, root: Path) -> subprocess.CompletedProcess[str]:
    """Run a command exactly as testgate printed it, `python` being this interpreter."""
    assert command is not None
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "pytest"]
    return subprocess.run(
        [sys.executable, *argv[1:]], cwd=root, capture_output=True, text=True, check=False
    )


STATE = {
    "tests/__init__.py": "",
    "tests/state.py": "COUNT = [0]\nREADY = []\n",
    "tests/test_a.py": "from tests.state import COUNT\n\ndef test_a():\n    COUNT[0] += 1\n",
    "tests/test_b.py": "from tests.state import COUNT\n\ndef test_b():\n    COUNT[0] += 1\n",
    "tests/test_c.py": "def test_c():\n    assert True\n",
    "tests/test_r1.py": "from tests.state import READY\n\ndef test_r1():\n    READY.append(1)\n",
    "tests/test_r2.py": "from tests.state import READY\n\ndef test_r2():\n    READY.append(2)\n",
    "tests/test_v.py": """
        from tests.state import COUNT, READY

        def test_needs_two_polluters():
            assert COUNT[0] < 2

        def test_needs_two_setters():
            assert len(READY) >= 2

        def test_not_really_order_dependent():
            assert True
        """,
}
A, B, C = "tests/test_a.py::test_a", "tests/test_b.py::test_b", "tests/test_c.py::test_c"
R1, R2 = "tests/test_r1.py::test_r1", "tests/test_r2.py::test_r2"
V2 = "tests/test_v.py::test_needs_two_polluters"
S2 = "tests/test_v.py::test_needs_two_setters"
FAKE = "tests/test_v.py::test_not_really_order_dependent"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\naddopts = ["-p", "no:hypothesispytest"]\n'
    )
    for name, text in STATE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def iteration(n: int, order: list[str], victim: str, outcome: Outcome) -> Iteration:
    records = [Record(t, Outcome.PASSED) for t in order] + [Record(victim, outcome, "x")]
    return Iteration(n, n, "completed", 1, "x.xml", 1.0, tuple(records), (*order, victim))


def classifier(root: Path, alone: int = 0, **kwargs: Any) -> Classifier:
    return Classifier(root, root / "work", timeout=120, jobs=2, alone=alone, **kwargs)


def in_order(*ids: str) -> str:
    """The whole order without pytest-randomly: its reseeding would make every run alike."""
    return f"python -m pytest -p no:randomly -p no:cacheprovider {' '.join(ids)}"


def test_two_polluters_together_give_an_order_dependent_victim_without_one_culprit(
    project: Path,
) -> None:
    runs = [iteration(1, [A, C, B], V2, Outcome.FAILED), iteration(2, [C], V2, Outcome.PASSED)]
    summary = TestSummary(V2, passed=1, failed=1, skipped=0)
    found = classify_all(classifier(project), [summary], runs)[V2]
    assert (found.kind, found.polluter, found.verified) == (ORDER_DEPENDENT, None, True)
    # the whole order, in the order it failed in, is the repro: it ran and failed every time
    assert found.repro == in_order(A, C, B, V2)
    assert found.note is not None
    assert "no single test" in found.note
    assert found.p_chance is not None
    assert found.p_chance <= 0.01 / 4
    assert found.repro_deterministic is True
    assert found.repro_runs == found.repro_failed >= 5
    # the replay (not counted as evidence), 4 alone (1 + 3), 2 bisection steps, the pair refuted
    # in its first batch of 2 runs (2 jobs), 5 unseeded runs of the order
    assert found.pytest_runs == 14
    assert run_printed(found.repro, project).returncode == 1


def test_two_setters_together_give_a_brittle_test_without_one_state_setter(
    project: Path,
) -> None:
    runs = [iteration(1, [C], S2, Outcome.FAILED), iteration(2, [R1, C, R2], S2, Outcome.PASSED)]
    summary = TestSummary(S2, passed=1, failed=1, skipped=0)
    found = classifier(project).classify(summary, runs)
    assert (found.kind, found.state_setter) == (BRITTLE, None)
    assert found.passes_with == in_order(R1, C, R2, S2)
    assert found.p_chance is not None
    assert found.p_chance <= 0.01 / 4
    assert run_printed(found.passes_with, project).returncode == 0
    assert found.repro == f"python -m pytest -p no:randomly -p no:cacheprovider {S2}"
    # every run alone failed: 5, enough without counting the seeded replay
    assert (found.repro_runs, found.repro_failed, found.repro_deterministic) == (5, 5, True)
    assert run_printed(found.repro, project).returncode == 1


def test_a_failure_the_replay_does_not_bring_back_is_non_deterministic_at_once(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(classify_mod, "has_repeat", lambda: False)
    runs = [iteration(1, [A, B], FAKE, Outcome.FAILED), iteration(2, [], FAKE, Outcome.PASSED)]
    summary = TestSummary(FAKE, passed=1, failed=1, skipped=0, failures=())
    found = classifier(project, alone=3).classify(summary, runs)
    assert (found.kind, found.p_chance, found.polluter) == (NON_DETERMINISTIC, None, None)
    assert found.note == (
        "its failure did not come back when its failing order (iteration 1, seed 1) was replayed"
    )
    assert found.pytest_runs == 2  # the replay, then its own repro checked: no bisection
    assert found.repro == (
        f"python -m pytest -p randomly -p no:cacheprovider --randomly-seed=0 {FAKE}"
    )
    # the repro was run and its result is reported as it was: it passed, honestly
    assert (found.repro_runs, found.repro_failed, found.repro_deterministic) == (1, 0, False)
    assert run_printed(found.repro, project).returncode == 0


TWICE = {
    "tests/test_twice.py": """
        from tests.state import COUNT

        SEEN = []

        def test_victim_and_not_idempotent():
            SEEN.append(1)
            assert len(SEEN) == 1, "second run in one process"
            assert COUNT[0] == 0, "polluted"
        """,
}
TW = "tests/test_twice.py::test_victim_and_not_idempotent"


def test_alone_means_one_fresh_process_per_run(project: Path) -> None:
    """A victim that also fails when run twice in one process: run alone repeatedly in one
    process it would fail, and its polluter would never be named."""
    for name, text in TWICE.items():
        (project / name).write_text(textwrap.dedent(text))
    runs = [iteration(1, [C, A], TW, Outcome.FAILED)]
    summary = TestSummary(TW, passed=1, failed=1, skipped=0)
    found = classifier(project, alpha=0.001).classify(summary, runs)
    assert (found.kind, found.polluter) == (ORDER_DEPENDENT, A)
    assert found.p_chance is not None
    assert found.p_chance <= 0.001 / 4
    assert (found.repro_runs, found.repro_failed, found.repro_deterministic) == (6, 6, True)
    assert found.repro is not None
    assert run_printed(found.repro, project).returncode == 1


@pytest.mark.parametrize("cap", [1, 3])  # 1: reached by the run alone, right after the replay
def test_the_cap_leaves_a_claim_undecided_and_says_so(project: Path, cap: int) -> None:
    (project / "tests/test_one.py").write_text(
        "from tests.state import COUNT\n\ndef test_one():\n    assert COUNT[0] == 0\n"
    )
    victim = "tests/test_one.py::test_one"
    runs = [iteration(1, [C, A], victim, Outcome.FAILED)]
    summary = TestSummary(victim, passed=1, failed=1, skipped=0, failures=())
    found = classifier(project, max_runs=cap).classify(summary, runs)
    assert (found.kind, found.polluter, found.p_chance) == (NON_DETERMINISTIC, None, None)
    assert found.note is not None
    assert "order effects were not ruled out" in found.note
    assert f"{cap} classification runs" in found.note
    assert found.pytest_runs == cap + 1  # the cap, then the repro it prints, checked
    assert found.repro_runs == 1


def events(pytester: pytest.Pytester, *args: str) -> list[dict[str, object]]:
    log = pytester.path / "log.jsonl"
    pytester.runpytest_inprocess(
        "-p", "testgate.flaky.plugin", f"--testgate-flaky-log={log}", "-p", "no:randomly", *args
    )
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_recorder_names_every_outcome(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_kinds="""
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("setup")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("teardown")

        def test_pass(): pass
        def test_fail(): assert 0, "nope"
        def test_setup_error(broken_setup): pass
        def test_teardown_error(broken_teardown): pass
        def test_skip(): pytest.skip("later")
        @pytest.mark.xfail(reason="bug 1")
        def test_xfail(): assert 0
        @pytest.mark.xfail(reason="bug 2")
        def test_xpass(): pass
        @pytest.mark.xfail(reason="bug 3", strict=True)
        def test_xpass_strict(): pass
        @pytest.mark.parametrize("x", [1, 2])
        def test_param(x): pass
        """
    )
    got = events(pytester, "--count", "2")
    done = {e["id"]: e for e in got if e["event"] == "done"}
    assert {i: e["outcome"] for i, e in done.items()} == {
        "test_kinds.py::test_pass[1-2]": "passed",
        "test_kinds.py::test_pass[2-2]": "passed",
        "test_kinds.py::test_fail[1-2]": "failed",
        "test_kinds.py::test_fail[2-2]": "failed",
        "test_kinds.py::test_setup_error[1-2]": "error",
        "test_kinds.py::test_setup_error[2-2]": "error",
        "test_kinds.py::test_teardown_error[1-2]": "error",
        "test_kinds.py::test_teardown_error[2-2]": "error",
        "test_kinds.py::test_skip[1-2]": "skipped",
        "test_kinds.py::test_skip[2-2]": "skipped",
        "test_kinds.py::test_xfail[1-2]": "xfailed",
        "test_kinds.py::test_xfail[2-2]": "xfailed",
        "test_kinds.py::test_xpass[1-2]": "xpassed",
        "test_kinds.py::test_xpass[2-2]": "xpassed",
        "test_kinds.py::test_xpass_strict[1-2]": "failed",
        "test_kinds.py::test_xpass_strict[2-2]": "failed",
        "test_kinds.py::test_param[1-1-2]": "passed",
        "test_kinds.py::test_param[1-2-2]": "passed",
        "test_kinds.py::test_param[2-1-2]": "passed",
        "test_kinds.py::test_param[2-2-2]": "passed",
    }
    assert done["test_kinds.py::test_fail[1-2]"]["message"] == "AssertionError: nope\nassert 0"
    assert done["test_kinds.py::test_skip[1-2]"]["message"] == "Skipped: later"
    assert done["test_kinds.py::test_xfail[1-2]"]["message"] == "bug 1"
    assert all(e["repeat"] for e in done.values())
    assert [e["event"] for e in got][:3] == ["configure", "collected", "start"]
    assert got[-1] == {"event": "finish", "exitstatus": 1}


def test_the_recorder_records_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    got = events(pytester)
    [done] = [e for e in got if e["event"] == "done"]
    assert (done["id"], done["outcome"]) == ("test_broken.py", "error")
    assert "no_such_module_anywhere" in str(done["message"])


def test_the_recorder_switches_xdist_off_and_roots_ids(pytester: pytest.Pytester) -> None:
    sub = pytester.mkdir("sub")
    (sub / "pytest.ini").write_text("[pytest]\n")
    (sub / "test_here.py").write_text("def test_here():\n    pass\n")
    got = events(pytester, "-n", "2", "sub")
    assert [e["id"] for e in got if e["event"] == "done"] == ["sub/test_here.py::test_here"]
    assert not got[-2].get("repeat")


def test_without_the_log_option_the_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "testgate.flaky.plugin", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_run_pytest_kills_a_hang_outside_any_test(tmp_path: Path) -> None:
    (tmp_path / "test_slow_import.py").write_text("import time\ntime.sleep(600)\n")
    run = run_pytest(["-p", "no:randomly"], root=tmp_path, log=tmp_path / "x.jsonl", timeout=2)
    assert (run.status, run.records, run.order) == ("timed_out", (), ())
    assert run.exit_code is not None
    assert run.exit_code < 0


ONCE = """
from pathlib import Path

import pytest

FLAG = Path(__file__).with_name("flag")

def test_fails_once_per_flag():
    if FLAG.exists():
        FLAG.unlink()
        raise AssertionError("the flag was up")

def test_skipped_alone():
    if FLAG.exists():
        FLAG.unlink()
        raise AssertionError("the flag was up")
    pytest.skip("alone")
"""
ONCE_ID = "tests/test_once.py::test_fails_once_per_flag"
SKIP_ID = "tests/test_once.py::test_skipped_alone"


def test_a_failure_that_comes_back_once_only_is_not_order_dependent(project: Path) -> None:
    """The replay fails (the flag is up), alone passes, then no order fails it again."""
    (project / "tests/test_once.py").write_text(ONCE)
    (project / "tests/flag").write_text("")
    runs = [iteration(1, [C, A], ONCE_ID, Outcome.FAILED)]
    found = classifier(project).classify(TestSummary(ONCE_ID, 1, 1, 0), runs)
    assert (found.kind, found.polluter, found.p_chance) == (NON_DETERMINISTIC, None, None)
    assert found.note == (
        "it passed alone, but its failing order did not fail it every time: "
        "order effects were not ruled out"
    )
    (project / "tests/flag").write_text("")
    runs = [iteration(1, [], ONCE_ID, Outcome.FAILED)]  # nothing ran before it: no bisection
    found = classifier(project).classify(TestSummary(ONCE_ID, 1, 1, 0), runs)
    assert (found.kind, found.pytest_runs) == (NON_DETERMINISTIC, 6)  # replay, 4 alone, repro


def test_skipped_alone_is_neither_side(project: Path) -> None:
    (project / "tests/test_once.py").write_text(ONCE)
    (project / "tests/flag").write_text("")
    runs = [iteration(1, [C], SKIP_ID, Outcome.FAILED)]
    found = classifier(project).classify(TestSummary(SKIP_ID, 1, 1, 0), runs)
    assert (found.kind, found.note) == (NON_DETERMINISTIC, "alone it was skipped")


def test_failing_alone_then_passing_alone_is_not_brittle(project: Path) -> None:
    """Fails in its first two processes (the replay and the first run alone), then passes."""
    (project / "tests/test_twice.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            RUNS = Path(__file__).with_name("runs")

            def test_fails_in_the_first_two_processes():
                n = int(RUNS.read_text()) if RUNS.exists() else 0
                RUNS.write_text(str(n + 1))
                assert n >= 2
            """
        )
    )
    test = "tests/test_twice.py::test_fails_in_the_first_two_processes"
    runs = [iteration(1, [C], test, Outcome.FAILED), iteration(2, [A], test, Outcome.PASSED)]
    found = classifier(project).classify(TestSummary(test, 1, 1, 0), runs)
    assert (found.kind, found.state_setter, found.p_chance) == (NON_DETERMINISTIC, None, None)
    assert found.note == "alone it passed in some runs and failed in others"


def test_failing_alone_when_no_order_makes_it_pass_again_is_not_brittle(project: Path) -> None:
    """It passed once after C in the hunt, but neither C then it, nor that order, pass now."""
    runs = [iteration(1, [A], S2, Outcome.FAILED), iteration(2, [C], S2, Outcome.PASSED)]
    found = classifier(project).classify(TestSummary(S2, 1, 1, 0), runs)
    assert (found.kind, found.state_setter, found.p_chance) == (NON_DETERMINISTIC, None, None)
    assert found.note == (
        "it failed alone, but no order made it pass every time: order effects were not ruled out"
    )


def test_failing_alone_with_no_order_to_pass_in_is_not_brittle(project: Path) -> None:
    runs = [iteration(1, [C], S2, Outcome.FAILED), iteration(2, [], S2, Outcome.PASSED)]
    found = classifier(project).classify(TestSummary(S2, 1, 1, 0), runs)
    assert (found.kind, found.state_setter, found.p_chance) == (NON_DETERMINISTIC, None, None)
    assert found.note == "it failed alone, and it passed only with no test before it"
