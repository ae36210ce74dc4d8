"""The flake hunt, measured on one planted suite, side by side in one run.

1. Wall time of `testgate flaky --count 10` against `pytest --flake-finder --flake-runs=10`
   (pytest-flakefinder), 10 sequential `pytest -p randomly` runs (the reference), and the
   alternative way to use two cores: 10 sequential `pytest -p randomly -n 2` runs (xdist).
2. The pytest runs needed to find a polluter among 200 tests: testgate's bisection against
   detect-test-pollution on the same suite.

Usage: python bench/flaky_hunt.py [--rounds 3]   (needs the `bench` dependency group)
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import compare, run_command

from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.classify import Classifier
from testgate.flaky.runner import run_pytest
from testgate.model import Outcome

PYPROJECT = '[tool.pytest.ini_options]\naddopts = ["-q", "-p", "no:hypothesispytest"]\n'

WORK = """
def work():
    return sum(i * i for i in range(60_000))  # a few ms of real CPU per test
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def planted_suite(root: Path, modules: int = 12, per_module: int = 10) -> Path:
    """Stable tests doing a little work, plus one of each flaky kind."""
    files = {
        "pyproject.toml": PYPROJECT,
        "tests/__init__.py": "",
        "tests/state.py": 'STATE = {"polluted": False, "ready": False}\n' + WORK,
        "tests/test_flaky.py": (
            "import secrets\nfrom tests.state import STATE\n\n"
            "def test_coin():\n    assert secrets.randbelow(4)\n\n"
            "def test_victim():\n    assert not STATE['polluted']\n\n"
            "def test_brittle():\n    assert STATE['ready']\n"
        ),
        "tests/test_setters.py": (
            "from tests.state import STATE\n\n"
            "def test_polluter():\n    STATE['polluted'] = True\n\n"
            "def test_setter():\n    STATE['ready'] = True\n"
        ),
    }
    for m in range(modules):
        body = "from tests.state import work\n\n" + "".join(
            f"def test_{t}():\n    assert work() > 0\n\n" for t in range(per_module)
        )
        files[f"tests/test_m{m:02d}.py"] = body
    return write(root, files)


def pollution_suite(root: Path, tests: int = 200) -> tuple[Path, str, str]:
    """200 tests in 20 modules; one pollutes a module-level flag a later victim reads."""
    files = {
        "pyproject.toml": PYPROJECT,
        "tests/__init__.py": "",
        "tests/state.py": "POLLUTED = []\n",
        "tests/test_zz_victim.py": (
            "from tests.state import POLLUTED\n\ndef test_victim():\n    assert not POLLUTED\n"
        ),
    }
    per = 10
    polluter = ""
    for m in range(tests // per):
        lines = ["from tests.state import POLLUTED\n"]
        for t in range(per):
            if (m, t) == (13, 7):
                lines.append(f"def test_{t}():\n    POLLUTED.append(1)\n")
                polluter = f"tests/test_m{m:02d}.py::test_{t}"
            else:
                lines.append(f"def test_{t}():\n    assert True\n")
        files[f"tests/test_m{m:02d}.py"] = "\n".join(lines)
    return write(root, files), polluter, "tests/test_zz_victim.py::test_victim"


def sequential(root: Path, extra: list[str]) -> Callable[[], None]:
    def go() -> None:
        for seed in range(1, 11):
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "randomly", "-p", "no:cacheprovider",
                 f"--randomly-seed={seed}", *extra],
                cwd=root, capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode not in (0, 1):
                raise SystemExit(f"pytest exited {done.returncode}: {done.stdout[-2000:]!r}")

    return go


def wall_time(root: Path, rounds: int) -> None:
    testgate = [sys.executable, "-m", "testgate", "flaky", "--count", "10"]
    print(f"== wall time, {len(list((root / 'tests').glob('test_*.py')))} modules, "
          f"{os.cpu_count()} cores ==")  # fmt: skip
    compare(
        {
            "10 x pytest -p randomly (sequential)": sequential(root, []),
            "testgate flaky --count 10 --no-classify": run_command(
                [*testgate, "--no-classify"], cwd=root
            ),
            "testgate flaky --count 10": run_command(testgate, cwd=root),
            "pytest --flake-finder --flake-runs=10": run_command(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "--flake-finder",
                    "--flake-runs=10",
                ],
                cwd=root,
            ),
            "10 x pytest -p randomly -n 2 (xdist)": sequential(root, ["-n", "2"]),
        },
        reference="10 x pytest -p randomly (sequential)",
        rounds=rounds,
    )


def polluter_runs(root: Path, polluter: str, victim: str) -> None:
    print("== pytest runs to find a polluter among 200 tests ==")
    work = root / "work"
    start = time.perf_counter()
    # the failing order, as a hunt iteration records it: every test before the victim
    run = run_pytest(["-p", "no:randomly"], root=root, log=work / "order.jsonl", timeout=300)
    assert run.outcome_of(victim) is Outcome.FAILED, run.status
    hunt_it = Iteration(1, 0, run.status, run.exit_code, "-", run.seconds, run.records, run.order)
    found = Classifier(root, work, timeout=300, jobs=2).classify(
        TestSummary(victim, passed=1, failed=1, skipped=0), [hunt_it]
    )
    ours = time.perf_counter() - start
    assert found.polluter == polluter, found
    print(f"testgate:              {found.pytest_runs:3d} pytest runs ({ours:.1f} s with the "
          "failing-order run a hunt already has; runs: alone, bisection steps, "
          "verified pair)")  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        # its console script: run as `python -m` it loads itself into pytest as `__main__`
        [str(Path(sys.executable).with_name("detect-test-pollution")), "--failing-test",
         victim, "--tests", "tests"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    theirs = time.perf_counter() - start
    out = done.stdout
    assert polluter in out, out[-2000:]
    steps = len(re.findall(r"^running step \d+", out, re.MULTILINE))
    # discover + alone + whole group + the steps + the double check
    runs = 4 + steps
    print(f"detect-test-pollution: {runs:3d} pytest runs ({theirs:.1f} s; {steps} bisection steps)")
    print(f"ratio (testgate / detect-test-pollution): {found.pytest_runs / runs:.2f}x runs, "
          f"{ours / theirs:.2f}x time")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        polluter_runs(*pollution_suite(Path(tmp) / "pollution"))
        wall_time(planted_suite(Path(tmp) / "planted"), args.rounds)


if __name__ == "__main__":
    main()
