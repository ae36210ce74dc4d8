"""Three shards on three 'machines' (separate checkouts) combine to exactly the unsharded run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from testgate.checks import Status
from testgate.gate import check_junit_dir
from testgate.read.coverage import combine_data_files, read_coverage
from testgate.read.junit import read_junit

PYPROJECT = """
[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.coverage.run]
branch = true
source = ["src/calc"]
"""  # no [paths]: testgate remaps the other checkouts' paths by itself
CALC = """
def sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0


def kind(x):
    if isinstance(x, bool):
        return "bool"
    elif isinstance(x, int):
        return "int"
    elif isinstance(x, float):
        return "float"
    return "other"


def never_called(x):
    return x * 2
"""
TESTS = {
    "tests/test_sign.py": """
import pytest
from calc import sign

@pytest.mark.parametrize("x, expected", [(3, 1), (-2, -1)])
def test_sign(x, expected):
    assert sign(x) == expected

def test_zero_is_wrong_on_purpose():
    assert sign(0) == 1

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass
""",
    "tests/test_kind.py": """
import pytest
from calc import kind

class TestKind:
    def test_int(self):
        assert kind(1) == "int"

    def test_bool(self):
        assert kind(True) == "bool"

@pytest.mark.xfail(reason="floats are not handled yet", strict=True)
def test_float_xfail():
    assert kind(1.5) == "other"

def test_error_in_setup(missing_fixture):
    pass
""",
}


def _checkout(where: Path) -> Path:
    (where / "src" / "calc").mkdir(parents=True)
    (where / "pyproject.toml").write_text(PYPROJECT)
    (where / "src" / "calc" / "__init__.py").write_text(CALC)
    for name, text in TESTS.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text)
    return where


def _run(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *argv], cwd=cwd, capture_output=True, text=True, check=False
    )


def _test_run(checkout: Path, name: str, *pytest_args: str) -> int:
    """What one CI job does: pytest under coverage, JUnit and a parallel data file."""
    done = _run(
        checkout,
        "coverage",
        "run",
        "--parallel-mode",
        "--data-file=reports/coverage/.coverage",
        "-m",
        "pytest",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        f"--junitxml=reports/junit/{name}.xml",
        *pytest_args,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode


def _coverage_py_percent(checkout: Path, work: Path) -> float:
    """The unsharded run's total as plain coverage.py reports it: the reference."""
    data = sorted((checkout / "reports" / "coverage").glob(".coverage.*"))
    combined = work / ".coverage"
    argv = ["coverage", "combine", "--keep", f"--data-file={combined}", *map(str, data)]
    done = _run(checkout, *argv)
    assert done.returncode == 0, done.stderr
    out = work / "coverage.json"
    done = _run(checkout, "coverage", "json", f"--data-file={combined}", "-o", str(out))
    assert done.returncode == 0, done.stderr
    return float(json.loads(out.read_text())["totals"]["percent_covered"])


def _testgate_percent(gate_checkout: Path, reports: Path) -> float:
    data = sorted((reports / "coverage").glob(".coverage.*"))
    assert data
    out = combine_data_files(data, root=gate_checkout, out=reports / "combined.coverage")
    coverage = read_coverage(out, root=gate_checkout)
    assert list(coverage.files) == ["src/calc/__init__.py"]  # remapped across checkouts
    return coverage.totals.percent


def _outcomes(junit_dir: Path, root: Path) -> list[tuple[str, str]]:
    return sorted(
        (case.node_id, case.outcome.value)
        for path in sorted(junit_dir.glob("*.xml"))
        for case in read_junit(path, root=root).cases
    )


@dataclass(frozen=True)
class Machines:
    single: Path  # the unsharded run's checkout, reports inside
    collected: Path  # every shard's reports, downloaded into one folder
    gate_checkout: Path  # where the combining job runs
    groups: tuple[tuple[str, ...], ...]
    codes: tuple[int, ...]


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> Machines:
    """One unsharded run, then 3 shards, each in its own checkout as on separate machines."""
    tmp = tmp_path_factory.mktemp("machines")
    single = _checkout(tmp / "single" / "project")
    assert _test_run(single, "unit") == 1  # the suite has a failing test
    previous = single / "reports" / "junit" / "unit.xml"

    collected = tmp / "gate" / "reports"
    groups, codes = [], []
    for k in (1, 2, 3):
        machine = _checkout(tmp / f"machine-{k}" / "build" / "checkout")
        shutil.copy(previous, machine / "previous.xml")  # last run's durations, as an artifact
        done = _run(
            machine,
            "testgate",
            "shard",
            "--splits",
            "3",
            "--group",
            str(k),
            "--durations",
            "previous.xml",
            "--output",
            "shard.txt",
            "--manifest",
            f"reports/junit/unit-{k}.json",
        )
        assert done.returncode == 0, done.stderr
        groups.append(tuple((machine / "shard.txt").read_text().splitlines()))
        codes.append(_test_run(machine, f"unit-{k}", "@shard.txt"))
        shutil.copytree(machine / "reports", collected, dirs_exist_ok=True)
    gate_checkout = _checkout(tmp / "gate" / "elsewhere")
    return Machines(single, collected, gate_checkout, tuple(groups), tuple(codes))


def _reports_copy(machines: Machines, tmp_path: Path) -> Path:
    return Path(shutil.copytree(machines.collected, tmp_path / "reports"))


def test_three_shards_on_three_machines_equal_one_unsharded_run(
    machines: Machines, tmp_path: Path
) -> None:
    every = [n for g in machines.groups for n in g]
    assert len(every) == len(set(every)) == 8
    assert all(machines.groups)
    assert max(machines.codes) == 1  # the failing test failed the job of its shard

    collected = _reports_copy(machines, tmp_path)
    sharded = _outcomes(collected / "junit", machines.gate_checkout)
    unsharded = _outcomes(machines.single / "reports" / "junit", machines.single)
    assert sharded == unsharded
    assert sorted(n for n, _ in sharded) == sorted(every)
    assert {o for _, o in sharded} == {"passed", "failed", "error", "skipped", "xfailed"}

    single_percent = _coverage_py_percent(machines.single, tmp_path)
    assert 0 < single_percent < 100
    single_reports = Path(shutil.copytree(machines.single / "reports", tmp_path / "single"))
    assert _testgate_percent(machines.single, single_reports) == pytest.approx(single_percent)
    assert _testgate_percent(machines.gate_checkout, collected) == pytest.approx(single_percent)

    check = check_junit_dir(collected / "junit")
    assert check is not None
    assert (check.status, check.message) == (Status.PASS, "all 3 'unit' shards reported")
    (collected / "junit" / "unit-2.xml").unlink()  # a CI job whose artifact never arrived
    lost = check_junit_dir(collected / "junit")
    assert lost is not None
    assert lost.status is Status.FAIL
    assert lost.message == "1 of 3 'unit' shards missing: unit-2.xml"


def test_the_gate_fails_closed_on_a_missing_shard(machines: Machines, tmp_path: Path) -> None:
    collected = _reports_copy(machines, tmp_path)
    assert _gate_check(machines.gate_checkout, collected, "inputs.shards", exit_code=1) == {
        "status": "pass",
        "message": "all 3 'unit' shards reported",
    }
    (collected / "junit" / "unit-2.xml").unlink()  # a CI job whose artifact never arrived
    # a failed inputs check is an input error: exit 2, whatever the tests did
    assert _gate_check(machines.gate_checkout, collected, "inputs.shards", exit_code=2) == {
        "status": "fail",
        "message": "1 of 3 'unit' shards missing: unit-2.xml",
    }


def _gate_check(checkout: Path, reports: Path, check_id: str, *, exit_code: int) -> dict[str, str]:
    """`testgate gate` on the collected reports (this suite has a failing test: never 0)."""
    done = _run(checkout, "testgate", "gate", "--reports", str(reports))
    assert done.returncode == exit_code, done.stdout + done.stderr
    gate = json.loads((reports / "gate.json").read_text())
    found = [c for c in gate["checks"] if c["id"] == check_id]
    ids = [c["id"] for c in gate["checks"]]
    assert len(found) == 1, f"gate.json has no {check_id} check, only {ids}"
    (check,) = found
    return {"status": check["status"], "message": check["message"]}
