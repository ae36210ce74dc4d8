"""The flake-hunt report (`reports/flaky.json`) as typed values.

`FlakyReport.from_json` is the one place a parsed flaky.json is validated: every reader (the
gate, the hunt's own exit code, the HTML page, the badges, the history) gets a `FlakyReport` or
a one-line `InputError` naming the file and the key. `to_json` writes the same shape back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from testgate.errors import InputError

# Formats of flaky.json this version reads; the newest one is what it writes. Format 2 adds
# meta.alpha and, per test, the chance bound of its causal claims and how its repro did.
FORMATS = (1, 2)
FORMAT = FORMATS[-1]
ALPHA = 0.01  # the default bound on every causal claim (`--alpha`)

# A test's verdict over the whole hunt.
PASSED, FAILED, FLAKY, SKIPPED = "passed", "failed", "flaky", "skipped"
VERDICTS = (PASSED, FAILED, FLAKY, SKIPPED)

# Why a flaky test is flaky (`kind`).
NON_DETERMINISTIC, ORDER_DEPENDENT, BRITTLE = "non-deterministic", "order-dependent", "brittle"

# How a hunt iteration ended (`runs[].status`).
COMPLETED, CRASHED, TIMED_OUT = "completed", "crashed", "timed_out"

_FIX = "re-run testgate flaky"


def bound_line(alpha: float) -> str:
    """The one line the console, flaky.md and the HTML report carry about every causal claim."""
    return f"Each causal claim here could be chance with probability <= {100 * alpha:g}%."


class _Reader:
    """Typed access to one JSON object, with the key path for messages."""

    def __init__(self, source: str, where: str, data: object) -> None:
        self.source, self.where = source, where
        if not isinstance(data, Mapping):
            self.fail(f"expected a JSON object, got {_kind(data)}")
        self.data: Mapping[str, Any] = data

    def fail(self, what: str, key: str | None = None) -> NoReturn:
        at = ".".join(p for p in (self.where, key) if p)
        raise InputError(f"{self.source}: {at + ': ' if at else ''}{what}; {_FIX}")

    def get(self, key: str, types: tuple[type, ...], default: Any, what: str) -> Any:
        value = self.data.get(key, default)
        if value is None or value is default:
            return value
        if isinstance(value, bool) and bool not in types:
            self.fail(f"expected {what}, got {value!r}", key)
        if not isinstance(value, types):
            self.fail(f"expected {what}, got {_kind(value)}", key)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"expected {what}, got {value!r}", key)
        return value

    def required(self, key: str, types: tuple[type, ...], what: str) -> Any:
        if key not in self.data or self.data[key] is None:
            self.fail(f"missing {what}", key)
        return self.get(key, types, None, what)

    def integer(self, key: str, default: int | None = None) -> Any:
        return self.get(key, (int,), default, "a whole number")

    def number(self, key: str, default: float | None = None) -> Any:
        value = self.get(key, (int, float), default, "a number")
        return float(value) if isinstance(value, int) else value

    def text(self, key: str) -> str | None:
        value: str | None = self.get(key, (str,), None, "a string")
        return value

    def boolean(self, key: str) -> bool | None:
        value: bool | None = self.get(key, (bool,), None, "true or false")
        return value

    def items(self, key: str) -> list[Any]:
        value: list[Any] = self.required(key, (list,), "a list")
        return value

    def child_at(self, key: str, n: int, value: object) -> _Reader:
        return _Reader(self.source, f"{key}[{n}]", value)

    def child(self, key: str) -> _Reader:
        return _Reader(self.source, ".".join(p for p in (self.where, key) if p), self.data[key])


def _kind(value: object) -> str:
    names: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
    return names.get(type(value), repr(value))


@dataclass(frozen=True)
class UntilMeta:
    """How a `--until RATE CONFIDENCE` hunt ended: early (all settled) or at its --count."""

    rate: float
    confidence: float
    max_count: int
    stopped: str  # "early" or "count"
    settled: bool
    unsettled: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "confidence": self.confidence,
            "max_count": self.max_count,
            "stopped": self.stopped,
            "settled": self.settled,
            "unsettled": list(self.unsettled),
        }

    @classmethod
    def from_json(cls, r: _Reader) -> UntilMeta:
        stopped = r.required("stopped", (str,), "'early' or 'count'")
        if stopped not in ("early", "count"):
            r.fail(f"{stopped!r} is not 'early' or 'count'", "stopped")
        return cls(
            rate=float(r.required("rate", (int, float), "a number")),
            confidence=float(r.required("confidence", (int, float), "a number")),
            max_count=r.required("max_count", (int,), "a whole number"),
            stopped=stopped,
            settled=r.required("settled", (bool,), "true or false"),
            unsettled=_strings(r, "unsettled"),
        )


@dataclass(frozen=True)
class BurnInMeta:
    """What `testgate flaky --new` burned in: the new tests against which base, found how."""

    base: str
    new: tuple[str, ...]
    selection: str  # "history" (absent from the base's runs) or "changed-files"
    base_commit: str | None = None
    commit: str | None = None  # the checkout that was burned in
    planned_runs: Mapping[str, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "base_commit": self.base_commit,
            "commit": self.commit,
            "selection": self.selection,
            "new": list(self.new),
            "planned_runs": None if self.planned_runs is None else dict(self.planned_runs),
        }

    @classmethod
    def from_json(cls, r: _Reader) -> BurnInMeta:
        planned = r.get("planned_runs", (dict,), None, "an object of run counts")
        if planned is not None and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in planned.values()
        ):
            r.fail("expected an object of run counts", "planned_runs")
        return cls(
            base=r.required("base", (str,), "the base ref"),
            new=_strings(r, "new", required=True),
            selection=r.required("selection", (str,), "how new tests were selected"),
            base_commit=r.text("base_commit"),
            commit=r.text("commit"),
            planned_runs=None if planned is None else dict(planned),
        )


def _strings(r: _Reader, key: str, *, required: bool = False) -> tuple[str, ...]:
    value = r.required(key, (list,), "a list") if required else r.get(key, (list,), None, "a list")
    if value is None:
        return ()
    if not all(isinstance(x, str) for x in value):
        r.fail("expected a list of strings", key)
    return tuple(value)


@dataclass(frozen=True)
class FlakyMeta:
    format: int = FORMAT
    tool: str | None = "testgate"
    version: str | None = None
    count: int | None = None
    seed: int | None = None
    complete: bool | None = None
    pytest_args: tuple[str, ...] | None = None
    confidence: float | None = None
    slices: int | None = None  # combined from this many `--slice K/M` runs
    until: UntilMeta | None = None
    burn_in: BurnInMeta | None = None  # flaky-new.json: the burn-in of new tests
    alpha: float | None = None  # format 2: the bound on every causal claim; None in format 1
    max_classify_runs: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": self.format,
            "tool": self.tool,
            "version": self.version,
            "count": self.count,
            "seed": self.seed,
            "complete": self.complete,
            "pytest_args": None if self.pytest_args is None else list(self.pytest_args),
            "confidence": self.confidence,
        }
        if self.slices is not None:
            out["slices"] = self.slices
        if self.until is not None:
            out["until"] = self.until.to_json()
        if self.burn_in is not None:
            out["burn_in"] = self.burn_in.to_json()
        if self.format >= 2:
            out |= {"alpha": self.alpha, "max_classify_runs": self.max_classify_runs}
        return out

    @classmethod
    def from_json(cls, r: _Reader) -> FlakyMeta:
        fmt = r.data.get("format")
        if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
            raise InputError(
                f"{r.source}: meta.format: {fmt} is newer than this testgate reads "
                f"(up to {FORMAT}); upgrade testgate"
            )
        if isinstance(fmt, bool) or fmt not in FORMATS:
            known = " or ".join(str(f) for f in FORMATS)
            r.fail(f"{fmt!r} is not testgate's format {known}", "format")
        args = r.get("pytest_args", (list,), None, "a list of strings")
        if args is not None and not all(isinstance(a, str) for a in args):
            r.fail("expected a list of strings", "pytest_args")
        return cls(
            format=int(fmt),
            tool=r.text("tool"),
            version=r.text("version"),
            count=r.integer("count"),
            seed=r.integer("seed"),
            complete=r.boolean("complete"),
            pytest_args=None if args is None else tuple(args),
            confidence=r.number("confidence"),
            slices=r.integer("slices"),
            until=UntilMeta.from_json(r.child("until")) if r.data.get("until") else None,
            burn_in=BurnInMeta.from_json(r.child("burn_in")) if r.data.get("burn_in") else None,
            alpha=r.number("alpha"),
            max_classify_runs=r.integer("max_classify_runs"),
        )


@dataclass(frozen=True)
class FlakySummary:
    tests: int = 0
    passed: int = 0
    failed: int = 0
    flaky: int = 0
    skipped: int = 0
    runs: int = 0
    completed: int = 0
    xfailed: int = 0  # xfailed in every run: counted apart from skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "flaky": self.flaky,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "runs": self.runs,
            "completed": self.completed,
        }

    @classmethod
    def from_json(cls, r: _Reader) -> FlakySummary:
        return cls(**{k: r.integer(k, 0) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class FlakyRun:
    """One hunt iteration as `runs[]` lists it; optional keys are None in partial reports."""

    iteration: int
    seed: int | None = None
    status: str | None = None
    exit_code: int | None = None
    junit: str | None = None
    seconds: float | None = None
    tests: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "seed": self.seed,
            "status": self.status,
            "exit_code": self.exit_code,
            "junit": self.junit,
            "seconds": self.seconds,
            "tests": self.tests,
        }

    @classmethod
    def from_json(cls, r: _Reader, n: int) -> FlakyRun:
        return cls(
            iteration=r.integer("iteration", n),
            seed=r.integer("seed"),
            status=r.text("status"),
            exit_code=r.integer("exit_code"),
            junit=r.text("junit"),
            seconds=r.number("seconds"),
            tests=r.integer("tests"),
        )


@dataclass(frozen=True)
class Quarantined:
    """The quarantine entry a test was under when the hunt ran."""

    until: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"until": self.until, "reason": self.reason}


@dataclass(frozen=True)
class EvidenceRow:
    """One row of an explanation's evidence table: a condition, its runs, the failures."""

    condition: str
    runs: int
    failed: int

    def to_json(self) -> dict[str, Any]:
        return {"condition": self.condition, "runs": self.runs, "failed": self.failed}


def _evidence(r: _Reader) -> tuple[EvidenceRow, ...]:
    rows = []
    for n, row in enumerate(r.get("evidence", (list,), None, "a list") or []):
        e = r.child_at("evidence", n, row)
        rows.append(
            EvidenceRow(
                e.required("condition", (str,), "a condition"),
                e.integer("runs", 0),
                e.integer("failed", 0),
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class TwiceRun:
    """The pass that ran every test twice in one process (not one of the N iterations)."""

    seed: int | None = None
    status: str | None = None
    junit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "status": self.status, "junit": self.junit}


@dataclass(frozen=True)
class FlakyTest:
    """One test id over the whole hunt."""

    __test__ = False  # not a pytest test class, despite the name
    id: str
    verdict: str
    runs: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    kind: str | None = None
    flake_rate: float | None = None
    interval: tuple[float, float] | None = None
    upper_bound: float | None = None
    polluter: str | None = None
    state_setter: str | None = None
    repro: str | None = None
    passes_with: str | None = None
    verified: bool | None = None
    classify_runs: int | None = None
    message: str | None = None
    quarantine: Quarantined | None = None
    new: bool | None = None  # flaky-new.json: new against the burn-in's base
    # format 2: the chance bound of the test's causal claims (None: it has none), how its repro
    # did when it was run, and what the later stages of a hunt add (cause, leaked state, fix)
    cause: str | None = None
    leaked: tuple[str, ...] = ()
    p_chance: float | None = None
    repro_deterministic: bool | None = None
    repro_runs: int = 0
    repro_failed: int = 0
    repro_chance: float | None = None
    note: str | None = None
    fix: Mapping[str, Any] | None = None
    changed_not_shown: tuple[str, ...] = ()  # changed by the culprit, dependence not shown
    evidence: tuple[EvidenceRow, ...] = ()  # the controlled runs an explanation rests on

    @property
    def executed(self) -> int:
        """Runs in which the test ran to a pass or a failure (not skipped)."""
        return self.passed + self.failed

    @property
    def culprit(self) -> str | None:
        return self.polluter or self.state_setter

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "runs": self.runs,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "verdict": self.verdict,
            "kind": self.kind,
            "flake_rate": self.flake_rate,
            "interval": None if self.interval is None else list(self.interval),
            "upper_bound": self.upper_bound,
            "polluter": self.polluter,
            "state_setter": self.state_setter,
            "repro": self.repro,
            "passes_with": self.passes_with,
            "verified": self.verified,
            "classify_runs": self.classify_runs,
            "message": self.message,
            "quarantine": None if self.quarantine is None else self.quarantine.to_json(),
            **({} if self.new is None else {"new": self.new}),
        }

    def to_json_v2(self) -> dict[str, Any]:
        """Format 2: format 1's keys, then the claim's bound and the repro's record."""
        return self.to_json() | {
            "cause": self.cause,
            "leaked": list(self.leaked),
            "p_chance": self.p_chance,
            "repro_deterministic": self.repro_deterministic,
            "repro_runs": self.repro_runs,
            "repro_failed": self.repro_failed,
            "repro_chance": self.repro_chance,
            "note": self.note,
            "fix": None if self.fix is None else dict(self.fix),
            "changed_not_shown": list(self.changed_not_shown),
            "evidence": [e.to_json() for e in self.evidence],
        }

    @classmethod
    def from_json(cls, r: _Reader) -> FlakyTest:
        test_id = r.required("id", (str,), "the test id")
        verdict = r.required("verdict", (str,), "the verdict")
        if verdict not in VERDICTS:
            r.fail(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}", "verdict")
        interval = r.get("interval", (list,), None, "a list of two numbers")
        if interval is not None and (
            len(interval) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in interval)
        ):
            r.fail("expected a list of two numbers", "interval")
        quarantine = None
        if r.data.get("quarantine") is not None:
            q = r.child("quarantine")
            quarantine = Quarantined(q.required("until", (str,), "a date"), q.text("reason"))
        return cls(
            id=test_id,
            verdict=verdict,
            runs=r.integer("runs", 0),
            passed=r.integer("passed", 0),
            failed=r.integer("failed", 0),
            skipped=r.integer("skipped", 0),
            kind=r.text("kind"),
            flake_rate=r.number("flake_rate"),
            interval=None if interval is None else (float(interval[0]), float(interval[1])),
            upper_bound=r.number("upper_bound"),
            polluter=r.text("polluter"),
            state_setter=r.text("state_setter"),
            repro=r.text("repro"),
            passes_with=r.text("passes_with"),
            verified=r.boolean("verified"),
            classify_runs=r.integer("classify_runs"),
            message=r.text("message"),
            quarantine=quarantine,
            new=r.boolean("new"),
            cause=r.text("cause"),
            leaked=_strings(r, "leaked"),
            p_chance=r.number("p_chance"),
            repro_deterministic=r.boolean("repro_deterministic"),
            repro_runs=r.integer("repro_runs", 0),
            repro_failed=r.integer("repro_failed", 0),
            repro_chance=r.number("repro_chance"),
            note=r.text("note"),
            changed_not_shown=_strings(r, "changed_not_shown"),
            evidence=_evidence(r),
            fix=r.get("fix", (dict,), None, "an object"),
        )


@dataclass(frozen=True)
class FlakyReport:
    """A whole flake hunt: `meta`, `summary`, one `FlakyRun` per iteration, one `FlakyTest` per id.

    `summary` is None only in a report read from a file that had none.
    """

    meta: FlakyMeta
    runs: tuple[FlakyRun, ...]
    tests: tuple[FlakyTest, ...]
    summary: FlakySummary | None = None
    twice: TwiceRun | None = None

    def with_verdict(self, verdict: str) -> tuple[FlakyTest, ...]:
        return tuple(t for t in self.tests if t.verdict == verdict)

    @property
    def flaky(self) -> tuple[FlakyTest, ...]:
        return self.with_verdict(FLAKY)

    @property
    def complete(self) -> bool:
        """Every planned iteration ran and the hunt was not interrupted."""
        count = self.meta.count
        return self.meta.complete is not False and (count is None or len(self.runs) >= count)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"meta": self.meta.to_json()}
        if self.summary is not None:
            out["summary"] = self.summary.to_json()
        out["runs"] = [r.to_json() for r in self.runs]
        if self.meta.format >= 2:
            out["twice"] = None if self.twice is None else self.twice.to_json()
        v2 = self.meta.format >= 2
        out["tests"] = [t.to_json_v2() if v2 else t.to_json() for t in self.tests]
        return out

    @classmethod
    def from_json(cls, data: object, source: str = "flaky.json") -> FlakyReport:
        """Validate a parsed flaky.json; `source` (its path) starts every error message."""
        r = _Reader(source, "", data)
        if "meta" not in r.data:
            r.fail("no meta object: not a testgate flaky report")
        meta = FlakyMeta.from_json(r.child("meta"))
        summary = FlakySummary.from_json(r.child("summary")) if "summary" in r.data else None
        runs = r.items("runs")
        twice = None
        if r.data.get("twice") is not None:
            t = r.child("twice")
            twice = TwiceRun(t.integer("seed"), t.text("status"), t.text("junit"))
        tests = r.items("tests")
        return cls(
            meta=meta,
            summary=summary,
            twice=twice,
            runs=tuple(
                FlakyRun.from_json(r.child_at("runs", n, x), n + 1) for n, x in enumerate(runs)
            ),
            tests=tuple(
                FlakyTest.from_json(r.child_at("tests", n, x)) for n, x in enumerate(tests)
            ),
        )
