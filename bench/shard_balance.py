"""How even are the shards? max/mean group time on a generated 2,000-test suite.

Durations are skewed as real suites are: modules differ (log-normal factor per module) and
tests within a module differ (log-normal, or Pareto with a heavy tail). Each split is judged
by the time its groups really take (max group / mean group; 1.000 is perfect):
- equal counts: what `testgate shard` does without any recorded durations,
- pytest-split: its `least_duration` algorithm, called directly on the same data,
- testgate: `testgate.shard.split` (LPT + move/swap refinement).
"Recorded" is either exact, or last run's (every time off by up to +-25 %, 5 % new tests
unknown), which is what CI really has. Run: `.venv/bin/python bench/shard_balance.py`
(pytest-split comes with `uv pip install --group bench`).
"""

from __future__ import annotations

import importlib
import math
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import compare

from testgate.shard import split

try:  # imported by name: pytest-split is a bench prerequisite, not a typed dependency
    Algorithms: Any = importlib.import_module("pytest_split.algorithms").Algorithms
except ImportError:  # pragma: no cover - named in the docstring
    raise SystemExit("needs pytest-split: uv pip install --group bench") from None

TESTS = 2000
MODULES = 100
SPLITS = (2, 4, 8)


class Item(NamedTuple):
    """What pytest-split's algorithms read from a pytest item."""

    nodeid: str


def suite(kind: str, seed: int, tests: int = TESTS) -> dict[str, float]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible suite, not a secret
    per_module = max(tests // MODULES, 1)
    out: dict[str, float] = {}
    for m in range(min(MODULES, tests)):
        factor = rng.lognormvariate(0, 1.0)
        for t in range(per_module):
            if kind == "lognormal":
                base = rng.lognormvariate(math.log(0.05), 1.5)
            else:  # pareto: most tests fast, a few very slow
                base = 0.01 * rng.paretovariate(1.16)
            out[f"tests/test_mod{m:03d}.py::test_{t:02d}"] = base * factor
    return out


def last_run(true: Mapping[str, float], seed: int) -> dict[str, float]:
    rng = random.Random(seed)  # noqa: S311 - reproducible noise, not a secret
    ids = sorted(true)
    new = set(rng.sample(ids, len(ids) // 20))
    return {n: true[n] * rng.uniform(0.75, 1.25) for n in ids if n not in new}


def imbalance(groups: Sequence[Sequence[str]], true: Mapping[str, float]) -> float:
    times = [math.fsum(true[n] for n in g) for g in groups]
    return max(times) / (math.fsum(times) / len(times))


def equal_counts(ids: list[str], n: int, _recorded: Mapping[str, float]) -> list[list[str]]:
    return [list(g.node_ids) for g in split(ids, n, {}).groups]


def pytest_split(ids: list[str], n: int, recorded: Mapping[str, float]) -> list[list[str]]:
    algorithm = Algorithms["least_duration"].value
    groups = algorithm(n, [Item(i) for i in ids], dict(recorded))
    return [[item.nodeid for item in g.selected] for g in groups]


def testgate(ids: list[str], n: int, recorded: Mapping[str, float]) -> list[list[str]]:
    return [list(g.node_ids) for g in split(ids, n, recorded).groups]


SPLITTERS: dict[str, Callable[[list[str], int, Mapping[str, float]], list[list[str]]]] = {
    "equal counts": equal_counts,
    "pytest-split": pytest_split,
    "testgate": testgate,
}


def main() -> None:
    print(f"max/mean group time, {TESTS} tests in {MODULES} modules (1.000 = perfect)\n")
    header = f"{'tests':>5} {'durations':<10} {'recorded':<9} {'N':>2}  {'bound':>7}" + "".join(
        f"  {name:>12}" for name in SPLITTERS
    )
    print(header)
    print("-" * len(header))
    for tests, kind in ((TESTS, "lognormal"), (TESTS, "pareto"), (60, "pareto")):
        true = suite(kind, seed=7, tests=tests)
        ids = sorted(true)
        for label, recorded in (("exact", true), ("last run", last_run(true, seed=11))):
            for n in SPLITS:
                # no split beats its slowest test, nor the mean
                bound = max(max(true.values()) * n / math.fsum(true.values()), 1.0)
                cells = []
                for name, splitter in SPLITTERS.items():
                    groups = splitter(ids, n, recorded)
                    assert sorted(x for g in groups for x in g) == ids, name  # a partition
                    cells.append(f"  {imbalance(groups, true):12.4f}")
                print(f"{tests:>5} {kind:<10} {label:<9} {n:>2}  {bound:7.4f}" + "".join(cells))
    print()
    true = suite("lognormal", seed=7)
    ids = sorted(true)
    print("time to split 2,000 tests into 8 groups (medians of interleaved rounds):")
    compare(
        {
            "pytest-split": lambda: pytest_split(ids, 8, true),
            "testgate": lambda: testgate(ids, 8, true),
        },
        reference="pytest-split",
        rounds=7,
    )


if __name__ == "__main__":
    main()
