"""Shared by the bench scripts: medians of interleaved runs, printed as ratios.

These machines are noisy, so no script trusts one absolute time: the contenders run in turn,
round after round, and each is reported as its median and its ratio to a named reference.
Each round starts one contender later, and garbage is collected before each timing: the run
right after one that freed a big heap pays to fault fresh pages in (measured: +50% on the
contender that always followed `lxml.etree.parse`), and that cost must not always land on the
same one.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence


def timed(fn: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    fn()
    return clock() - start


def run_command(argv: Sequence[str], **kwargs: object) -> Callable[[], object]:
    """A contender that runs a command and must not fail silently."""

    def go() -> object:
        done = subprocess.run(list(argv), capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
        if done.returncode not in (0, 1):
            raise SystemExit(f"{argv[0]} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
        return done

    return go


def compare(
    contenders: Mapping[str, Callable[[], object]],
    *,
    reference: str,
    rounds: int = 5,
    clock: Callable[[], float] = time.perf_counter,
    self_timed: bool = False,
    label: str = "contender",
) -> dict[str, float]:
    """Run every contender `rounds` times, interleaved; return the median seconds of each.

    `clock=time.process_time` measures CPU time: on a loaded machine wall time mostly measures
    the neighbours. `self_timed`: each contender returns the seconds it measured itself (in a
    child process, say), which are taken as they are.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            fn = contenders[name]
            samples[name].append(float(fn()) if self_timed else timed(fn, clock))  # type: ignore[arg-type]
    medians = {name: statistics.median(s) for name, s in samples.items()}
    ref = medians[reference]
    width = max(len(n) for n in (*medians, label))
    kind = "CPU s" if clock is time.process_time else "median s"
    print(f"{label:<{width}}  {kind:>8}  ratio to {reference}  (rounds={rounds})")
    for name, med in medians.items():
        print(f"{name:<{width}}  {med:8.3f}  {med / ref:6.2f}x")
    return medians
