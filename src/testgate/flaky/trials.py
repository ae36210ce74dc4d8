"""Controlled pytest runs for explanations: fresh processes, each with its own temp folder.

The chance bound every explanation is held to lives here too: a claim "condition A makes the
test fail, condition B makes it pass" is what chance gives least easily; the best rival is a
test failing at some fixed rate p whatever the condition, which shows a fails out of a and b
passes out of b with probability at most max over p of p^a (1-p)^b.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate.flaky.runner import PytestRun, run_pytest
from testgate.model import Outcome

FIXED_ORDER = ("-p", "no:randomly", "-p", "no:cacheprovider")
DEFAULT_ALPHA = 0.01


def deterministic_runs(alpha: float) -> int:
    """Runs a repro must fail, all of them, before a rate of 1/2 or less is ruled out."""
    return max(1, math.ceil(math.log(1 / alpha, 2) - 1e-9))


def failed(outcome: Outcome | None) -> bool:
    return outcome is None or outcome.is_failure


def passed(outcome: Outcome | None) -> bool:
    return outcome in (Outcome.PASSED, Outcome.XPASSED)


@dataclass(frozen=True)
class Evidence:
    """One row of an evidence table: a condition, how often it ran, how often the test failed."""

    condition: str
    runs: int
    failed: int

    def to_json(self) -> dict[str, object]:
        return {"condition": self.condition, "runs": self.runs, "failed": self.failed}


class Trials:
    """Runs and counts the explanation processes; every one gets a fresh TMPDIR so a file
    left in the temp folder is blamed on a test of that process only."""

    def __init__(
        self,
        root: Path,
        work: Path,
        *,
        timeout: float,
        options: Sequence[str] = (),
        stop: threading.Event | None = None,
        jobs: int = 1,
        alpha: float = DEFAULT_ALPHA,
    ) -> None:
        self.root, self.work, self.timeout = root, work, timeout
        self.options = tuple(options)
        self.stop = stop if stop is not None else threading.Event()
        self.jobs, self.alpha = max(1, jobs), alpha
        self.runs = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def next_name(self) -> str:
        with self._lock:
            self.runs += 1
            return f"explain-{next(self._ids)}"

    def run(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, fixed: bool = True
    ) -> PytestRun:
        name = self.next_name()
        self.work.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))
        extra = {"TMPDIR": str(tmp), **(env or {})}
        head = [*FIXED_ORDER, *self.options] if fixed else [*self.options]
        return run_pytest(
            [*head, *args],
            root=self.root,
            log=self.work / f"{name}.jsonl",
            timeout=self.timeout,
            output=self.work / f"{name}.log",
            stop=self.stop,
            env={**os.environ, **extra},
        )

    def log_path(self) -> Path:
        return self.work / f"state-{next(self._ids)}.jsonl"
