from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from testgate.cli import main
from testgate.flaky.aggregate import Iteration
from testgate.flaky.hunt import Settings, _clock, _progress_line, derive_seed, finished, load_state
from testgate.flaky.runner import Record
from testgate.model import Outcome


def test_plan_prints_299(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flaky", "--plan", "0.01", "0.95"]) == 0
    assert capsys.readouterr().out == "299\n"


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--plan", "0", "0.95"], "must be strictly between 0 and 1"),
        (["--plan", "x", "0.95"], "is not a number"),
        (["--count", "0"], "must be at least 1"),
        (["--count", "ten"], "is not a whole number"),
        (["--seed", "-1"], "must not be negative"),
        (["--seed", "s"], "is not a whole number"),
        (["--timeout", "0"], "must be more than 0 seconds"),
        (["--timeout", "soon"], "is not a number of seconds"),
        (["--alpha", "1.5"], "must be strictly between 0 and 1"),
        (["--alpha", "0"], "must be strictly between 0 and 1"),
        (["--max-classify-runs", "0"], "must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(
    argv: list[str], why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flaky", *argv]) == 2
    err = capsys.readouterr().err
    assert why in err
    assert err.count("\n") == 1


def test_resume_without_a_hunt_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["flaky", "--resume"]) == 2
    assert "no interrupted hunt to resume; run testgate flaky without --resume" in (
        capsys.readouterr().err
    )


def write_state(tmp_path: Path, **state: object) -> Path:
    work = tmp_path / "reports/flaky"
    work.mkdir(parents=True)
    base = {"format": 1, "seed": 5, "count": 3, "timeout": 300.0, "pytest_args": ["tests"]}
    (work / "state.json").write_text(json.dumps({**base, **state}))
    return work


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--seed", "6"], "--resume continues the hunt with seed 5; drop --seed"),
        (["--", "other"], "with its own pytest arguments; drop them"),
        (["--slice", "1/2"], "--resume continues the hunt with its own --slice; drop --slice"),
    ],
)
def test_resume_refuses_a_different_hunt(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    why: str,
) -> None:
    write_state(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["flaky", "--resume", *argv]) == 2
    assert why in capsys.readouterr().err


@pytest.mark.parametrize("text", ["{", '{"format": 9}', "[]"])
def test_a_broken_state_is_an_input_error(tmp_path: Path, text: str) -> None:
    work = write_state(tmp_path)
    (work / "state.json").write_text(text)
    with pytest.raises(Exception, match="start over without --resume") as info:
        load_state(work)
    assert getattr(info.value, "exit_code", None) == 2


def test_finished_iterations_are_kept_and_half_written_ones_dropped(tmp_path: Path) -> None:
    settings = Settings(tmp_path, tmp_path / "reports", 3, 5, 1, 300.0)
    settings.work.mkdir(parents=True)
    it = Iteration(1, 9, "completed", 0, "reports/flaky/run-01.xml", 1.0, (), ())
    (settings.work / "run-01.json").write_text(json.dumps(it.to_json()))
    (settings.work / "run-02.json").write_text('{"iteration": 2')
    assert finished(settings) == [it]
    assert not (settings.work / "run-02.json").exists()
    assert settings.name(1) == "run-01"
    assert Settings(tmp_path, tmp_path, 100, 5, 1, 1.0).name(7) == "run-007"


def test_seeds_are_derived_reproducibly() -> None:
    seeds = [derive_seed(7, i) for i in range(1, 11)]
    assert seeds == [derive_seed(7, i) for i in range(1, 11)]
    assert len(set(seeds)) == 10
    assert seeds != [derive_seed(8, i) for i in range(1, 11)]
    assert all(0 <= s < 2**32 for s in seeds)


def test_progress_line_has_elapsed_time_and_eta() -> None:
    it = Iteration(3, 77, "crashed", 3, "x", 2.04, (Record("a::b", Outcome.PASSED),), ())
    line = _progress_line(it, 2, 10, 65.0)
    assert line == (
        "testgate flaky: [2/10] iteration 3 seed 77 crashed (1 tests, 2.0 s); "
        "elapsed 1:05, ETA 4:20"
    )
    assert _clock(4.4) == "4 s"
    stream = io.StringIO()
    stream.write(line)
    assert stream.getvalue().endswith("ETA 4:20")


def test_carried_options_drop_test_paths_and_what_changes_which_tests_run() -> None:
    from testgate.flaky.classify import carried_options

    assert carried_options(["--import-mode=importlib", "tests"], ["tests"]) == (
        "--import-mode=importlib",
    )
    # A value equal to a test path stays: the paths are taken from the end.
    assert carried_options(["-k", "tests", "tests"], ["tests"]) == ("-k", "tests")
    everything = [
        "-x", "--exitfirst", "--maxfail", "3", "--maxfail=2", "-n", "4", "-nauto",
        "--count=3", "--repeat-scope", "session", "--dist", "load", "--randomly-seed=9",
        "-p", "randomly", "-pno:randomly", "-p", "myplugin", "-o", "addopts=", "-q",
        "tests/a.py::t", "tests/b.py",
    ]  # fmt: skip
    assert carried_options(everything, ["tests/a.py::t", "tests/b.py"]) == (
        "-p", "myplugin", "-o", "addopts=", "-q",
    )  # fmt: skip
    assert carried_options([], []) == ()
    # paths pytest took from `testpaths`, not from the command line: nothing to remove
    assert carried_options(["-q"], ["tests/unit", "tests/integration"]) == ("-q",)


def test_a_hunt_without_pytest_repeat_says_so_instead_of_shorter_repros(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "pytest_repeat", None)  # as if it could not be imported
    assert main(["flaky", "--count", "2"]) == 2
    assert capsys.readouterr().err == (
        f"testgate: pytest-repeat is not installed for {sys.executable}; install "
        "testgate[hunt] in the project's environment\n"
    )
    assert not (tmp_path / "reports" / "flaky.json").exists()
