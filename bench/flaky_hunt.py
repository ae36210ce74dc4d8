"""The flake hunt, measured on one planted suite, side by side in one run.

1. Wall time of `testgate flaky --count 10` against `pytest --flake-finder --flake-runs=10`
   (pytest-flakefinder), 10 sequential `pytest -p randomly` runs (the reference), and the
   alternative way to use two cores: 10 sequential `pytest -p randomly -n 2` runs (xdist).
2. The pytest runs needed to find a polluter among 200 tests: testgate's bisection against
   detect-test-pollution on the same suite.
3. With `--before SRC` (the `src` folder of an older testgate, e.g. from
   `git archive <rev> src | tar -x -C /tmp/tg-before`), that version side by side with this
   one: the polluter search and the whole hunt, with the pytest runs per classified test.

Usage: python bench/flaky_hunt.py [--rounds 3] [--before /tmp/tg-before/src]
       (needs the `bench` dependency group)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import compare, run_command

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


def wall_time(root: Path, rounds: int, before: str | None, others: bool = True) -> None:
    testgate = [sys.executable, "-m", "testgate", "flaky", "--count", "10"]
    hunts = {
        "testgate flaky --count 10": HuntContender(root, None),
        # the bounded classification alone, without the explanations (causes, leaks, fixes)
        "testgate flaky --count 10 --no-explain": HuntContender(root, None, ["--no-explain"]),
    }
    if before:
        hunts["testgate flaky --count 10 (before)"] = HuntContender(root, before)
    print(f"== wall time, {len(list((root / 'tests').glob('test_*.py')))} modules, "
          f"{os.cpu_count()} cores ==")  # fmt: skip
    if not others:
        compare(
            {"10 x pytest -p randomly (sequential)": sequential(root, []), **hunts},
            reference="10 x pytest -p randomly (sequential)",
            rounds=rounds,
        )
    else:
        compare(
            {
                "10 x pytest -p randomly (sequential)": sequential(root, []),
                "testgate flaky --count 10 --no-classify": run_command(
                    [*testgate, "--no-classify"], cwd=root
                ),
                **hunts,
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
    for name, hunt in hunts.items():
        print(f"{name}: {statistics.median(hunt.per_test):.1f} pytest runs per classified test "
              f"(median of {rounds} hunts)")  # fmt: skip


SEARCH = """
import json, sys, time
from pathlib import Path
from testgate.flaky.aggregate import Iteration, TestSummary
from testgate.flaky.classify import Classifier
from testgate.flaky.runner import run_pytest
from testgate.model import Outcome

root, victim = Path(sys.argv[1]), sys.argv[2]
work = root / "work"
# the failing order, as a hunt iteration records it: every test before the victim
run = run_pytest(["-p", "no:randomly"], root=root, log=work / "order.jsonl", timeout=300)
assert run.outcome_of(victim) is Outcome.FAILED, run.status
hunt_it = Iteration(1, 0, run.status, run.exit_code, "-", run.seconds, run.records, run.order)
start = time.perf_counter()
found = Classifier(root, work, timeout=300, jobs=2).classify(
    TestSummary(victim, passed=1, failed=1, skipped=0), [hunt_it]
)
print(json.dumps({"runs": found.pytest_runs, "polluter": found.polluter,
                  "seconds": time.perf_counter() - start,
                  "p_chance": getattr(found, "p_chance", None)}))
"""


def search(root: Path, victim: str, src: str | None) -> dict[str, object]:
    """One polluter search by the testgate in `src` (None: this one), in a fresh process."""
    env = dict(os.environ, **({"PYTHONPATH": src} if src else {}))
    done = subprocess.run(
        [sys.executable, "-c", SEARCH, str(root), victim],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"polluter search failed: {done.stderr[-2000:]}")
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def polluter_runs(
    root: Path, polluter: str, victim: str, before: str | None, rounds: int, others: bool = True
) -> None:
    print("== pytest runs to find a polluter among 200 tests ==")
    versions = {"testgate": None, **({"testgate before": before} if before else {})}
    found: dict[str, list[dict[str, object]]] = {name: [] for name in versions}
    for _ in range(rounds):
        for name, src in versions.items():
            found[name].append(search(root, victim, src))
    for name, results in found.items():
        assert all(r["polluter"] == polluter for r in results), results
        runs = [int(r["runs"]) for r in results]  # type: ignore[call-overload]
        secs = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
        chance = results[0]["p_chance"]
        print(f"{name + ':':<22} {statistics.median(runs):5.1f} pytest runs (median of "
              f"{rounds}; {secs:.1f} s) with the failing-order run a hunt already has"
              + (f"; p_chance {chance}" if chance is not None else ""))  # fmt: skip
    ours = statistics.median(int(r["runs"]) for r in found["testgate"])  # type: ignore[call-overload]
    if not others:
        return
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
    theirs_runs = 4 + steps
    print(f"detect-test-pollution: {theirs_runs:5d} pytest runs ({theirs:.1f} s; "
          f"{steps} bisection steps)")  # fmt: skip
    print(f"ratio (testgate / detect-test-pollution): {ours / theirs_runs:.2f}x runs")


class HuntContender:
    """`testgate flaky --count 10` by one testgate version; keeps the classification runs."""

    def __init__(self, root: Path, src: str | None, extra: Sequence[str] = ()) -> None:
        self.root, self.src, self.extra = root, src, list(extra)
        self.per_test: list[float] = []

    def __call__(self) -> None:
        env = dict(os.environ, **({"PYTHONPATH": self.src} if self.src else {}))
        done = subprocess.run(
            [sys.executable, "-m", "testgate", "flaky", "--count", "10", *self.extra],
            cwd=self.root, env=env, capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode not in (0, 1):
            raise SystemExit(f"testgate flaky exited {done.returncode}: {done.stderr[-2000:]!r}")
        report = json.loads((self.root / "reports" / "flaky.json").read_text())
        runs = [t["classify_runs"] for t in report["tests"] if t["verdict"] == "flaky"]
        self.per_test.append(sum(runs) / len(runs) if runs else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", help="the src folder of an older testgate to compare")
    parser.add_argument(
        "--versions-only",
        action="store_true",
        help="only testgate (and --before) against sequential pytest: no other tools",
    )
    args = parser.parse_args()
    others = not args.versions_only
    with tempfile.TemporaryDirectory() as tmp:
        pollution = pollution_suite(Path(tmp) / "pollution")
        polluter_runs(*pollution, args.before, args.rounds, others)
        wall_time(planted_suite(Path(tmp) / "planted"), args.rounds, args.before, others)


if __name__ == "__main__":
    main()
