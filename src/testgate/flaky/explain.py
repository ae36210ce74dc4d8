"""After classification: why each flaky test flakes, a deterministic repro where the cause allows
one, and a verified fix. Every claim here comes from controlled runs held to the chance bound."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from testgate.flaky import causes, fixes, leaks, twice
from testgate.flaky.aggregate import TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.trials import Evidence, Trials, deterministic_runs, failed
from testgate.model.flaky import BRITTLE, FLAKY, NON_DETERMINISTIC, ORDER_DEPENDENT, PASSED

NON_IDEMPOTENT = "non-idempotent"


@dataclass(frozen=True)
class Explanation:
    kind: str | None = None
    cause: str | None = None
    leaked: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # changed by the culprit, dependence not shown
    p_chance: float | None = None
    evidence: tuple[Evidence, ...] = ()
    repro: str | None = None
    repro_deterministic: bool | None = None
    fix: dict[str, Any] | None = None
    fix_note: str | None = None
    repro_failed: int = 0  # runs in which the repro, unfixed, failed
    repro_args: tuple[str, ...] = field(default=(), compare=False)
    repro_env: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    fixed: Any = field(default=None, compare=False)  # what a fix needs (culprit, seed, epoch)

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "leaked": list(self.leaked),
            "changed_not_shown": list(self.changed),
            "p_chance": None if self.p_chance is None else float(f"{self.p_chance:.3g}"),
            "repro_deterministic": self.repro_deterministic,
            "evidence": [e.to_json() for e in self.evidence],
            "fix": self.fix,
        }


def _pair_repro(trials: Trials, args: Sequence[str], victim: str, known: int) -> tuple[int, bool]:
    """Runs the pair as printed until it failed `deterministic_runs` times in all (the
    classifier's verification runs count); stops at the first pass."""
    need = deterministic_runs(trials.alpha)
    seen = known
    while seen < need:
        if not failed(trials.run(args).outcome_of(victim)):
            return seen, False
        seen += 1
    return seen, True


class Contradicted(Exception):
    """A fresh run of the pair did not do what the claim says: the claim does not stand."""


def _leak(trials: Trials, finding: Finding, victim: str, known: int) -> Explanation:
    polluter = finding.polluter is not None
    culprit = finding.polluter or finding.state_setter
    if culprit is None or not finding.verified:
        return Explanation()
    # The repro (the pair for a victim, the test alone for a brittle one) runs first, in fresh
    # processes, until it failed every one of enough runs; a pass contradicts the claim.
    args = leaks.pair_args(culprit, victim, twice=False) if polluter else [victim]
    seen, deterministic = _pair_repro(trials, args, victim, 0)
    if not deterministic:
        raise Contradicted(f"the repro passed after failing {seen} times")
    found = leaks.explain(
        trials, culprit, victim, polluter=polluter, known=seen if polluter else known
    )
    if not found.evidence:
        raise Contradicted(f"{culprit} then {victim} did not behave as claimed")
    return Explanation(
        leaked=found.leaked,
        changed=found.changed,
        p_chance=found.p_chance,
        evidence=found.evidence,
        repro_deterministic=deterministic,
        repro_failed=seen,
        repro_args=tuple(args),
        fixed=culprit if polluter else None,
    )


def _twice(trials: Trials, test_id: str) -> Explanation | None:
    confirmed = twice.confirm(trials, test_id)
    if confirmed is None:
        return None
    found = leaks.explain(trials, test_id, test_id, polluter=True, known=confirmed.runs, twice=True)
    rows = (Evidence("run twice in one process (pass, then fail)", confirmed.runs, confirmed.runs),)
    return Explanation(
        kind=NON_IDEMPOTENT,
        leaked=found.leaked,
        changed=found.changed,
        p_chance=max(confirmed.p_chance, found.p_chance or 0.0),
        evidence=rows + found.evidence[1:],
        repro=confirmed.repro,
        repro_deterministic=confirmed.repro_deterministic,
        repro_failed=confirmed.runs,
        repro_args=tuple(leaks.pair_args(test_id, test_id, twice=True)),
        fixed=test_id,
    )


def _cause(trials: Trials, test_id: str) -> Explanation:
    found = causes.find_cause(trials, test_id)
    return Explanation(
        cause=found.cause,
        p_chance=found.p_chance,
        evidence=found.evidence,
        repro=found.repro,
        repro_deterministic=found.repro_deterministic if found.repro else None,
        repro_failed=found.repro_failed,
        repro_args=found.fail.args if found.fail else (),
        repro_env=found.fail.env if found.fail else (),
        fixed=found.ok.args if found.ok else (),
    )


def _patch(root: Path, test_id: str, e: Explanation) -> fixes.Patch | None:
    if e.leaked and isinstance(e.fixed, str):
        return fixes.leak_fix(root, e.fixed, e.leaked)
    passes = tuple(e.fixed or ()) if e.cause else ()  # the args of a passing condition
    if e.cause == causes.RANDOM:
        seed = next((a.split("=", 1)[1] for a in passes if a.startswith("--testgate-seed=")), None)
        return None if seed is None else fixes.seed_fix(root, test_id, int(seed))
    if e.cause == causes.TIME:
        clock = next(
            (a.split("=", 1)[1] for a in passes if a.startswith("--testgate-clock=")), None
        )
        return None if clock is None else fixes.clock_fix(root, test_id, float(clock))
    if e.cause == causes.HASH_SEED:
        return fixes.sorted_set_fix(root, test_id)
    return None


def _fix(
    trials: Trials, reports_dir: Path, test_id: str, e: Explanation, flaky: Sequence[str], n: int
) -> Explanation:
    try:
        patch = _patch(trials.root, test_id, e)
    except (OSError, SyntaxError, ValueError):
        patch = None
    if patch is None or patch.before == patch.after:
        return e
    path = fixes.write(reports_dir, test_id.split("::")[-1], patch)
    checked = fixes.verify(
        trials,
        patch,
        path,
        [*e.repro_args, test_id] if e.cause else list(e.repro_args),
        dict(e.repro_env),
        test_id,
        repro_failed=max(1, e.repro_failed),
        deselect=[t for t in flaky if t != test_id and t != e.fixed],
        scratch=trials.work / f"fix-{n}",
    )
    fix = {"patch": _relative(path, trials.root), "verified": checked.verified}
    return replace(e, fix=fix, fix_note=checked.note)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def explain_all(
    trials: Trials,
    tests: Sequence[TestSummary],
    findings: Mapping[str, Finding],
    suspects: Sequence[str],
    *,
    reports_dir: Path,
    known: int,
    fix: bool = True,
    jobs: int = 1,
) -> dict[str, Explanation]:
    """Each test's chain of runs is sequential; the chains run side by side."""
    verdicts = {t.id: t.verdict for t in tests}
    flaky = [t.id for t in tests if t.verdict == FLAKY]
    lock = threading.Lock()
    counter = iter(range(1, 10**6))

    def one(test_id: str) -> tuple[str, Explanation | None]:
        finding = findings.get(test_id)
        if finding is None:
            found = _twice(trials, test_id) if verdicts.get(test_id) == PASSED else None
        elif finding.kind in (ORDER_DEPENDENT, BRITTLE):
            try:
                found = _leak(trials, finding, test_id, known)
            except Contradicted:  # chance made the claim: it is merely non-deterministic
                found = replace(_cause(trials, test_id), kind=NON_DETERMINISTIC)
        elif finding.kind == NON_DETERMINISTIC:
            found = _cause(trials, test_id)
        else:  # pragma: no cover - every kind the classifier gives is handled above
            found = None
        if found is not None and fix:
            with lock:
                n = next(counter)
            found = _fix(trials, reports_dir, test_id, found, [*flaky, *suspects], n)
        return test_id, found

    todo = [*findings, *(s for s in suspects if s not in findings)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = list(pool.map(one, todo))
    return {test_id: e for test_id, e in done if e is not None}
