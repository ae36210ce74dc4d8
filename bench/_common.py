"""Shared by the bench scripts: medians of interleaved runs, printed as ratios.

These machines are noisy, so no script trusts one absolute time: the contenders run in turn,
round after round, and each is reported as its median and its ratio to a named reference.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_command(argv: Sequence[str], **kwargs: object) -> Callable[[], object]:
    """A contender that runs a command and must not fail silently."""

    def go() -> object:
        done = subprocess.run(list(argv), capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
        if done.returncode not in (0, 1):
            raise SystemExit(f"{argv[0]} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
        return done

    return go


def compare(
    contenders: Mapping[str, Callable[[], object]], *, reference: str, rounds: int = 5
) -> dict[str, float]:
    """Run every contender `rounds` times, interleaved; return the median seconds of each."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            samples[name].append(timed(fn))
    medians = {name: statistics.median(s) for name, s in samples.items()}
    ref = medians[reference]
    width = max(len(n) for n in medians)
    print(f"{'contender':<{width}}  median s  ratio to {reference}  (rounds={rounds})")
    for name, med in medians.items():
        print(f"{name:<{width}}  {med:8.3f}  {med / ref:6.2f}x")
    return medians
