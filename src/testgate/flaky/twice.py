"""The pass that runs each test twice in place, in one process: non-idempotent tests.

A test that passes once and fails when run again in the same process (a registry, a cache, a
one-shot global) never shows in the hunt's iterations, where each test runs once per process.
This pass is not one of the N iterations: it runs once per hunt, its own seed and JUnit file,
and every test it suspects is confirmed in fresh processes (pass then fail, every time, until
chance, at most 1/4 a trial, is below alpha) before it is called `non-idempotent`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testgate import _atomic
from testgate.flaky.classify import command
from testgate.flaky.runner import Record, base_id, run_pytest
from testgate.flaky.trials import FIXED_ORDER, Trials, deterministic_runs, failed, passed
from testgate.model.flaky import COMPLETED

NAME = "twice"
REPEAT = ("--count", "2", "--repeat-scope", "function")


@dataclass(frozen=True)
class TwicePass:
    seed: int
    status: str
    junit: str
    suspects: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "status": self.status, "junit": self.junit}

    def state(self) -> dict[str, Any]:
        return {**self.to_json(), "suspects": list(self.suspects)}


@dataclass(frozen=True)
class NonIdempotent:
    repro: str
    p_chance: float
    runs: int
    repro_deterministic: bool


def suspects(records: Sequence[Record], order: Sequence[str]) -> tuple[str, ...]:
    """Tests whose first run in the process passed and second failed."""
    seen: dict[str, list[bool]] = {}
    for r in records:
        seen.setdefault(r.id, []).append(r.outcome.is_failure)
    del order
    return tuple(t for t, outs in seen.items() if outs[:2] == [False, True])


def run_twice(
    root: Path,
    work: Path,
    *,
    seed: int,
    seed_args: Sequence[str],
    pytest_args: Sequence[str],
    timeout: float,
    relative: str,
) -> TwicePass:
    """One pytest process, every test twice in place, in the seeded random order."""
    xml = work / f"{NAME}.xml"
    xml.unlink(missing_ok=True)
    run = run_pytest(
        [*seed_args, *REPEAT, f"--junitxml={xml}", *pytest_args],
        root=root,
        log=work / f"{NAME}.jsonl",
        timeout=timeout,
        output=work / f"{NAME}.log",
    )
    found = TwicePass(seed, run.status, relative, suspects(run.records, run.order))
    _atomic.write_json(work / f"{NAME}.json", found.state())
    return found


def confirm(trials: Trials, test_id: str) -> NonIdempotent | None:
    """Pass-then-fail in fresh processes, each a trial; chance gives that at most 1/4 a time."""
    need = deterministic_runs(trials.alpha)  # 2^-need <= alpha, so 4^-need is too
    args = [*REPEAT, test_id]

    def trial(_: int) -> bool:
        run = trials.run(args)
        got = [r.outcome for r in run.records if base_id(r.id) == test_id]
        return run.status == COMPLETED and len(got) == 2 and passed(got[0]) and failed(got[1])

    with ThreadPoolExecutor(max_workers=trials.jobs) as pool:
        results = list(pool.map(trial, range(need)))
    if not all(results):
        return None
    return NonIdempotent(
        command([*FIXED_ORDER, *trials.options, *args]),
        p_chance=0.25**need,
        runs=need,
        repro_deterministic=True,
    )
