"""The argument handling of testgate's nox sessions (the sessions themselves run in
tests/integration/test_nox_sessions.py, under real nox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from testgate.nox import (
    Project,
    Shard,
    choose_workers,
    chooses_workers,
    coverage_core,
    describe,
    parse_shard,
    plan,
    register,
)


@pytest.mark.parametrize(
    ("posargs", "shard", "rest"),
    [
        ([], None, []),
        (["-k", "parse"], None, ["-k", "parse"]),
        (["--shard", "2/4", "-x"], Shard(2, 4), ["-x"]),
        (["-x", "--shard=1/1"], Shard(1, 1), ["-x"]),
    ],
)
def test_shard_is_taken_out_of_the_pytest_arguments(
    posargs: list[str], shard: Shard | None, rest: list[str]
) -> None:
    assert parse_shard(posargs) == (shard, rest)


@pytest.mark.parametrize(
    ("posargs", "message"),
    [
        (["--shard", "2-4"], "expected K/N"),
        (["--shard"], "expected K/N"),
        (["--shard=a/4"], "expected K/N"),
        (["--shard", "0/4"], "between 1 and N"),
        (["--shard", "5/4"], "between 1 and N"),
    ],
)
def test_impossible_shard_is_refused(posargs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard(posargs)


def test_shard_names_its_reports() -> None:
    assert Shard(3, 4).suffix == "-3"


@pytest.mark.parametrize(
    ("args", "chosen"),
    [
        ([], False),
        (["-k", "parse", "-x"], False),
        (["-n", "4"], True),
        (["-n4"], True),
        (["--numprocesses=2"], True),
        (["--dist", "loadfile"], True),
        (["-p", "no:xdist"], True),
        (["-pno:xdist"], True),
    ],
)
def test_caller_choice_of_workers_wins(args: list[str], chosen: bool) -> None:
    assert chooses_workers(args) is chosen


def test_register_refuses_unknown_sessions() -> None:
    with pytest.raises(ValueError, match="unknown testgate session") as raised:
        register(Project(), sessions=["unit", "units"])
    assert str(raised.value) == (
        "unknown testgate session(s): units; "
        "valid: unit, integration, coverage, durations, gate, flaky"
    )


def test_register_refuses_an_integration_session_without_integration_tests() -> None:
    with pytest.raises(ValueError, match="integration session: no tests/integration folder"):
        register(Project(integration=(), testgate=()), sessions=["unit", "integration"])


def test_what_the_noxfile_says_wins_over_what_the_files_say(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "requirements-test.txt").write_text("pytest\n", encoding="utf-8")
    project = Project(
        install=("-e", ".[all]"),
        groups=(),
        unit=(),
        integration=("checks/slow",),
        testgate=("testgate==1.0",),
    )
    decided = plan(project, tmp_path)
    assert decided.install == ("-e", ".[all]")
    assert (decided.groups, decided.requirements) == ((), ())
    assert (decided.testgate, decided.testgate_error) == (("testgate==1.0",), None)
    assert (decided.unit, decided.integration) == ((), ("checks/slow",))
    # pytest's own discovery in the unit session would collect the integration tests too
    assert decided.unit_ignore == ("checks/slow",)
    assert decided.notes["requirements"] == "given"
    assert describe("unit", decided).startswith("Unit tests ( minus checks/slow; given)")
    assert describe("integration", decided).startswith("Integration tests (checks/slow; given)")


def test_xdist_only_when_the_recorded_runs_say_it_pays() -> None:
    assert choose_workers({}, cores=8) is None  # nothing recorded: serial measures the suite
    assert choose_workers({"serial": {"wall": 30.0, "test_seconds": 28.0}}, cores=1) is None
    # 2 s to start and collect, 28 s of tests: 4 + 28 * 1.1 / 4 = 11.7 s < 24 s
    assert choose_workers({"serial": {"wall": 30.0, "test_seconds": 28.0}}, cores=4) == "4"
    # collection dominates (6 s of 8 s): a second collection in every worker does not pay
    assert choose_workers({"serial": {"wall": 8.0, "test_seconds": 2.0}}, cores=2) is None
    # both measured: the faster by 10%, whatever the prediction said
    both = {"serial": {"wall": 20.0, "test_seconds": 18.0}, "xdist": {"wall": 19.0}}
    assert choose_workers(both, cores=2) is None
    both["xdist"] = {"wall": 12.0}
    assert choose_workers(both, cores=2) == "2"


@pytest.mark.parametrize(
    ("version", "branch", "core"),
    [
        ((3, 11), False, None),
        ((3, 12), False, "sysmon"),
        ((3, 13), True, None),  # coverage.py measures branches with sys.monitoring from 3.14
        ((3, 14), True, "sysmon"),
    ],
)
def test_cheapest_coverage_core(version: tuple[int, int], branch: bool, core: str | None) -> None:
    assert coverage_core(version, branch) == core
