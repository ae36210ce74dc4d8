"""Burn-in of new tests against a full hunt, side by side in one run.

A project with 2,000 stable tests on its base branch and a change that adds 3 tests, one of
them flaky (it fails half the time); each stable test does `--work-ms` of CPU work (default 2,
a small unit test; 0 for empty tests, where process start-up is all a run costs). Contenders,
interleaved round after round:

- `testgate flaky --new --base trunk`: only the new tests' module, 10 runs each (they are fast);
- `testgate flaky --count 10`: the whole suite 10 times, the nightly way.

Each prints its median wall time and whether it named the flaky new test (in how many rounds).

Usage: python bench/flaky_burn_in.py [--rounds 3] [--jobs 2] [--work-ms 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import compare

STABLE_MODULES, PER_MODULE = 20, 100
FLAKY_ID = "tests/test_new.py::test_new_flaky"
PYPROJECT = '[tool.pytest.ini_options]\naddopts = ["-q", "-p", "no:hypothesispytest"]\n'
NEW = """
import secrets


def test_new_sum():
    assert sum([1, 2]) == 3


def test_new_join():
    assert "-".join("ab") == "a-b"


def test_new_flaky():
    assert secrets.randbelow(2)
"""


def git(root: Path, *argv: str) -> None:
    ident = [
        "-c",
        "user.name=b",
        "-c",
        "user.email=b@example.invalid",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run(["git", *ident, *argv], cwd=root, check=True, capture_output=True)


def project(root: Path, work_ms: float = 2.0) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "tests/__init__.py").write_text("")
    work = (
        f"import time\n\n\ndef work():\n    end = time.process_time() + {work_ms / 1000!r}\n"
        "    while time.process_time() < end:\n        pass\n\n\n"
    )
    tests = (
        f"def test_{n}():\n    work()\n    assert {n} + 1 == {n + 1}" for n in range(PER_MODULE)
    )
    body = work + "\n\n".join(tests)
    for m in range(STABLE_MODULES):
        (root / f"tests/test_stable_{m:02d}.py").write_text(body + "\n")
    git(root, "init", "-q", "-b", "trunk")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "2,000 stable tests")
    git(root, "checkout", "-q", "-b", "change")
    (root / "tests/test_new.py").write_text(NEW)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "3 new tests, one flaky")
    return root


def contender(root: Path, argv: list[str], report: Path, found: list[bool]) -> Callable[[], object]:
    def go() -> object:
        done = subprocess.run(
            [sys.executable, "-m", "testgate", "flaky", *argv],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 1):
            raise SystemExit(f"testgate flaky {argv} exited {done.returncode}: {done.stderr}")
        tests = {t["id"]: t for t in json.loads(report.read_text())["tests"]}
        found.append(tests.get(FLAKY_ID, {}).get("verdict") == "flaky")
        return done

    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work-ms", type=float, default=2.0, help="CPU ms per stable test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="testgate-burn-in-") as tmp:
        root = project(Path(tmp) / "project", args.work_ms)
        jobs = ["--jobs", str(args.jobs)]
        found: dict[str, list[bool]] = {"burn-in (--new)": [], "full hunt (--count 10)": []}
        contenders = {
            "burn-in (--new)": contender(
                root,
                ["--new", "--base", "trunk", *jobs],
                root / "reports/flaky-new.json",
                found["burn-in (--new)"],
            ),
            "full hunt (--count 10)": contender(
                root,
                ["--count", "10", "--reports", "full", *jobs],
                root / "full/flaky.json",
                found["full hunt (--count 10)"],
            ),
        }
        print(
            f"{STABLE_MODULES * PER_MODULE} stable tests ({args.work_ms:g} ms CPU each) + 3 new "
            f"(1 flaky, fails 50%), --jobs {args.jobs}"
        )
        compare(contenders, reference="full hunt (--count 10)", rounds=args.rounds)
        for name, hits in found.items():
            print(f"{name}: named {FLAKY_ID} flaky in {sum(hits)} of {len(hits)} rounds")


if __name__ == "__main__":
    main()
