"""What a polluter (or state setter) leaked that its victim depends on, shown by restoring it.

One run of the pair under the state plugin names what the culprit changed. Restoring every
restorable item right after the culprit must flip the victim's outcome (a victim passes, a
brittle test fails again); then each item alone is tried, and an item is named only when
restoring it flipped the outcome often enough that chance explains it with probability at most
alpha (corrected for the number of items tried). What cannot be restored (a live thread) is
reported as changed, with dependence not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from testgate.flaky import state
from testgate.flaky.stats import chance
from testgate.flaky.trials import Evidence, Trials, failed, passed
from testgate.model import Outcome

MAX_RESTORE_RUNS = 12
_RANK = ("os.environ[", "cwd", "sys.path", "sys.modules[", "logging:", "file ", "umask", "locale")


@dataclass(frozen=True)
class Leak:
    leaked: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # changed by the culprit; dependence not shown
    p_chance: float | None = None
    evidence: tuple[Evidence, ...] = ()
    changes: tuple[state.Change, ...] = field(default=(), compare=False)


def _rank(key: str) -> tuple[int, str]:
    for i, start in enumerate(_RANK):
        if key.startswith(start):
            return i, key
    return len(_RANK), key  # module attributes and the rest


def pair_args(culprit: str, victim: str, *, twice: bool) -> list[str]:
    """The culprit then the victim; for a non-idempotent test, the test run twice in place."""
    if twice:
        return ["--count", "2", "--repeat-scope", "function", victim]
    return [culprit, victim]


def explain(
    trials: Trials,
    culprit: str,
    victim: str,
    *,
    polluter: bool,
    known: int,
    twice: bool = False,
) -> Leak:
    """`known`: runs of the plain pair that already gave the victim's polluted outcome."""
    wanted_pair: Callable[[Outcome | None], bool] = failed if polluter else passed
    flipped: Callable[[Outcome | None], bool] = passed if polluter else failed
    args = pair_args(culprit, victim, twice=twice)
    log = trials.log_path()
    run = trials.run(["-p", state.PLUGIN, f"--testgate-state-log={log}", *args])
    outcome = run.outcome_of(victim)
    changes = state.read_log(log).get(culprit, [])
    if not wanted_pair(outcome):  # the pair did not behave as before: nothing to explain
        return Leak(changes=tuple(changes))
    pair_k = known + 1
    rows = [Evidence("culprit then victim", pair_k, pair_k if polluter else 0)]
    restorable = sorted((c.key for c in changes if c.restorable), key=_rank)
    fixed = tuple(c.key for c in changes if not c.restorable)
    if not restorable:
        return Leak(changed=fixed, evidence=tuple(rows), changes=tuple(changes))

    def attempt(keys: Sequence[str]) -> bool:
        restore = [f"--testgate-restore={k}" for k in keys]
        got = trials.run(
            ["-p", state.PLUGIN, f"--testgate-restore-after={culprit}", *restore, *args]
        )
        return flipped(got.outcome_of(victim))

    if not attempt([state.ALL]):
        return Leak(
            changed=(*restorable, *fixed),
            evidence=(*rows, _row("every restorable item restored", 1, polluter, flips=0)),
            changes=tuple(changes),
        )
    if len(restorable) == 1:
        hypotheses = {restorable[0]: 1}
    else:
        with ThreadPoolExecutor(max_workers=trials.jobs) as pool:
            firsts = list(pool.map(lambda k: attempt([k]), restorable))
        hypotheses = {k: 1 for k, ok in zip(restorable, firsts, strict=True) if ok}
        if not hypotheses:  # only together: the items act as one
            hypotheses = {state.ALL: 1}
    tried = max(1, len(restorable))
    shown: dict[str, float] = {}
    for key in hypotheses:
        flips = 1
        while (
            tried * chance(passes=flips, failures=pair_k) > trials.alpha
            and flips < MAX_RESTORE_RUNS
        ):
            if not attempt([key]):
                break
            flips += 1
        else:
            bound = tried * chance(passes=flips, failures=pair_k)
            if bound <= trials.alpha:
                shown[key] = bound
        label = "every restorable item" if key == state.ALL else key
        rows.append(_row(f"{label} restored", flips + (key not in shown), polluter, flips))
    together = state.ALL in shown
    leaked = tuple(k for k in restorable if together or k in shown)
    rest = tuple(k for k in (*restorable, *fixed) if k not in leaked)
    return Leak(
        leaked=leaked,
        changed=rest if leaked else (*restorable, *fixed),
        p_chance=max(shown.values()) if shown else None,
        evidence=tuple(rows),
        changes=tuple(changes),
    )


def _row(condition: str, runs: int, polluter: bool, flips: int) -> Evidence:
    """A restore row: for a victim, a flip is a pass; for a brittle test, a failure."""
    return Evidence(condition, runs, runs - flips if polluter else flips)
