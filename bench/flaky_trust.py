"""Are the hunt's causal claims bets you can make? Planted ground truth, many seeds.

A planted suite: coin-flip tests failing at rates 1/2, 1/4, 1/12 and 1/30 (randomness from
`secrets`, which pytest-randomly does not reseed) and one at 1/2 from `random` (which it
does), a true order-dependent pair (a victim and its polluter), a true brittle pair (a test
and its state setter) and stable tests. For each
seed the hunt's iterations run once (`testgate flaky --count N --no-classify`); then the same
iterations are classified at each alpha (`--resume` finds every iteration done and goes
straight to classification), and with `--before SRC` by an older testgate too.

A wrong causal claim: a coin flip called order-dependent or brittle or given a culprit, or a
true pair given the wrong kind or the wrong culprit. The hunt promises each causal claim is
chance with probability <= alpha, so over the coin flips it classified at most alpha times
their number are expected to be wrong.

Usage: nice -n 10 python bench/flaky_trust.py [--hunts 20] [--count 6] [--jobs 2]
       [--alpha 0.001 --alpha 0.01] [--before /tmp/tg-before/src ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

COINS = {
    "tests/test_coins.py::test_coin_2": 2,
    "tests/test_coins.py::test_coin_4": 4,
    "tests/test_coins.py::test_coin_12": 12,
    "tests/test_coins.py::test_coin_30": 30,
}
# a coin flip driven by `random`: pytest-randomly reseeds it from the run's seed, so a replay of
# a failing iteration fails it again for certain; only unseeded runs are independent trials
RANDOM_COIN = "tests/test_random.py::test_random_coin_2"
WRONG_IF_CAUSAL = (*COINS, RANDOM_COIN)
VICTIM = "tests/test_pairs.py::test_victim"
BRITTLE = "tests/test_pairs.py::test_brittle"
POLLUTER = "tests/test_setters.py::test_polluter"
SETTER = "tests/test_setters.py::test_setter"


PYPROJECT = '[tool.pytest.ini_options]\naddopts = ["-q", "-p", "no:hypothesispytest"]\n'


def planted_suite(root: Path, modules: int = 4, per_module: int = 6) -> Path:
    files = {
        "pyproject.toml": PYPROJECT,
        "tests/__init__.py": "",
        "tests/state.py": 'STATE = {"polluted": False, "ready": False}\n',
        "tests/test_coins.py": "import secrets\n\n"
        + "".join(
            f"def test_coin_{n}():\n    assert secrets.randbelow({n})\n\n" for n in COINS.values()
        ),
        "tests/test_random.py": "import random\n\n"
        "def test_random_coin_2():\n    assert random.random() < 0.5\n",
        "tests/test_pairs.py": textwrap.dedent(
            """
            from tests.state import STATE

            def test_victim():
                assert not STATE["polluted"]

            def test_brittle():
                assert STATE["ready"]
            """
        ),
        "tests/test_setters.py": textwrap.dedent(
            """
            from tests.state import STATE

            def test_polluter():
                STATE["polluted"] = True

            def test_setter():
                STATE["ready"] = True
            """
        ),
    }
    for m in range(modules):
        files[f"tests/test_m{m}.py"] = "".join(
            f"def test_{t}():\n    assert sum(range(1000)) > 0\n\n" for t in range(per_module)
        )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@dataclass
class Tally:
    label: str
    alpha: float | None
    hunts: int = 0
    coins_classified: int = 0
    wrong: list[str] = field(default_factory=list)
    pairs_flaky: int = 0
    pairs_named: int = 0
    classified: int = 0
    classify_runs: int = 0
    seconds: float = 0.0

    def add(self, report: dict[str, object], seed: int, seconds: float) -> None:
        self.hunts += 1
        self.seconds += seconds
        tests = {t["id"]: t for t in report["tests"]}  # type: ignore[attr-defined]
        for test_id, t in tests.items():
            if t["verdict"] != "flaky":
                continue
            self.classified += 1
            self.classify_runs += int(t.get("classify_runs") or 0)
            kind, culprit = t["kind"], t.get("polluter") or t.get("state_setter")
            if test_id in WRONG_IF_CAUSAL:
                self.coins_classified += 1
                if kind not in ("non-deterministic", None) or culprit:
                    self.wrong.append(f"seed {seed}: {test_id} {kind} {culprit or ''}".strip())
            elif test_id in (VICTIM, BRITTLE):
                self.pairs_flaky += 1
                want = ("order-dependent", POLLUTER) if test_id == VICTIM else ("brittle", SETTER)
                if (kind, culprit) == want:
                    self.pairs_named += 1
                elif kind in ("order-dependent", "brittle") or culprit:
                    self.wrong.append(f"seed {seed}: {test_id} {kind} {culprit or ''}".strip())

    def line(self) -> str:
        allowed = (
            f"{self.alpha * self.coins_classified:.2f} expected at most (alpha x "
            f"{self.coins_classified} coin flips classified)"
            if self.alpha is not None
            else "no stated bound"
        )
        per = self.classify_runs / self.classified if self.classified else 0.0
        return (
            f"{self.label:<16} wrong causal claims {len(self.wrong):2d} in {self.hunts} hunts "
            f"[{allowed}]; true pairs named {self.pairs_named}/{self.pairs_flaky}; "
            f"{per:.1f} pytest runs per classified test; classification {self.seconds:.0f} s"
        )


def testgate(root: Path, args: list[str], src: str | None) -> tuple[dict[str, object], float]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "testgate", "flaky", *args],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"testgate flaky {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return json.loads((root / "reports" / "flaky.json").read_text()), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hunts", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1, help="seeds first..first+hunts-1")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--alpha", type=float, action="append")
    parser.add_argument(
        "--before",
        action="append",
        default=[],
        help="the src folder of an older testgate to compare (repeatable)",
    )
    args = parser.parse_args()
    alphas = args.alpha or [0.001, 0.01]
    tallies = [Tally(f"alpha {a:g}", a) for a in alphas]
    befores = [(Tally(f"before {Path(src).parent.name}", None), src) for src in args.before]
    hunting = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        root = planted_suite(Path(tmp) / "planted")
        for seed in range(args.first_seed, args.first_seed + args.hunts):
            common = ["--count", str(args.count), "--jobs", str(args.jobs)]
            _, seconds = testgate(root, [*common, "--seed", str(seed), "--no-classify"], None)
            hunting += seconds
            for tally in tallies:
                report, seconds = testgate(
                    root, [*common, "--resume", "--alpha", str(tally.alpha)], None
                )
                tally.add(report, seed, seconds)
            for tally, src in befores:
                report, seconds = testgate(root, [*common, "--resume"], src)
                tally.add(report, seed, seconds)
            for tally in [*tallies, *(t for t, _ in befores)]:
                print(f"seed {seed} (so far) {tally.line()}", flush=True)
    print(
        f"\n== {args.hunts} hunts (--count {args.count}, seeds {args.first_seed}.."
        f"{args.first_seed + args.hunts - 1}), "
        f"coin flips at 1/2 1/4 1/12 1/30 (secrets) and 1/2 (random), one order-dependent "
        f"and one brittle pair; "
        f"iterations {hunting:.0f} s =="
    )
    for tally in [*tallies, *(t for t, _ in befores)]:
        print(tally.line())
        for wrong in tally.wrong:
            print(f"    wrong: {wrong}")


if __name__ == "__main__":
    main()
