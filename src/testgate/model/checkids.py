"""Every check id testgate reports, with its family and the unit of its actual and limit.

A check id is `family.name`, optionally `:parameter` (`coverage.modules:src/pkg/*`). The config's
list of ids a user may mark informational, the units the renderers print and the rule that
inputs never downgrade all come from `REGISTRY`, so a new check is added here once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Unit(str, enum.Enum):
    COUNT = "count"
    PERCENT = "%"
    SECONDS = "s"
    RATIO = "x"  # a slowdown factor
    TEXT = "text"  # a date or a name, shown as it is


class Family(str, enum.Enum):
    INPUTS = "inputs"  # an input is missing or broken: always fails closed (exit 2)
    TESTS = "tests"
    COVERAGE = "coverage"
    DURATIONS = "durations"
    FLAKY = "flaky"
    HISTORY = "history"  # `testgate history ... --fail-on-*`, not the gate


@dataclass(frozen=True)
class CheckSpec:
    id: str  # without any `:parameter`
    family: Family
    unit: Unit
    parameter: str | None = None  # what follows `:` in the reported id, if anything
    can_be_informational: bool = True


def _spec(
    check_id: str, unit: Unit, parameter: str | None = None, *, informational: bool = True
) -> CheckSpec:
    family = Family(check_id.partition(".")[0])
    return CheckSpec(
        check_id, family, unit, parameter, informational and family is not Family.INPUTS
    )


REGISTRY: dict[str, CheckSpec] = {
    s.id: s
    for s in (
        _spec("inputs.junit", Unit.COUNT),
        _spec("inputs.shards", Unit.COUNT),
        _spec("inputs.coverage", Unit.TEXT),
        _spec("inputs.baseline", Unit.TEXT),
        _spec("inputs.flaky", Unit.TEXT),
        # a run history that cannot be read: duration budgets judge this run alone (a warning)
        _spec("inputs.history", Unit.TEXT),
        _spec("tests.count", Unit.COUNT),
        _spec("tests.skipped", Unit.COUNT),
        _spec("tests.xfailed", Unit.COUNT),
        # the gate never passes over failing tests
        _spec("tests.failures", Unit.COUNT, informational=False),
        # an imported run without gate.json: whether every test passed
        _spec("tests.failed", Unit.COUNT, informational=False),
        # quarantined known flakes that failed: listed, never counted (a warning)
        _spec("tests.quarantined", Unit.COUNT, informational=False),
        _spec("coverage.total", Unit.PERCENT),
        _spec("coverage.branches", Unit.PERCENT),
        _spec("coverage.modules", Unit.PERCENT, "glob"),
        _spec("coverage.zero", Unit.COUNT),
        _spec("coverage.max_drop", Unit.PERCENT),
        _spec("coverage.diff", Unit.PERCENT),
        _spec("durations.max_test", Unit.SECONDS),
        _spec("durations.paths", Unit.SECONDS, "glob"),
        _spec("durations.max_session", Unit.SECONDS, "session"),
        _spec("durations.regression", Unit.RATIO),
        _spec("flaky.report", Unit.TEXT),
        _spec("flaky.tests", Unit.COUNT),
        _spec("flaky.quarantine", Unit.TEXT, "test id"),
        _spec("flaky.new", Unit.COUNT),  # the burn-in of new tests (flaky-new.json)
        # a drop in points, printed as the plain number it is
        _spec("history.coverage_drop", Unit.COUNT, "module", informational=False),
    )
}

# Families a user can name in `informational` (the part before any ":"): each family with an
# informational check, then those checks, in registry order.
INFORMATIONAL_IDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        name for s in REGISTRY.values() if s.can_be_informational for name in (s.family.value, s.id)
    )
)


def spec(check_id: str) -> CheckSpec | None:
    """The registry entry of a reported id (`coverage.modules:src/*` -> coverage.modules)."""
    return REGISTRY.get(check_id.partition(":")[0])


def unit(check_id: str) -> Unit:
    found = spec(check_id)
    return found.unit if found is not None else Unit.COUNT


def never_informational(check_id: str) -> bool:
    """Inputs fail closed and failing tests fail, whatever `informational` says."""
    found = spec(check_id)
    if found is None:
        return check_id.startswith(Family.INPUTS.value + ".")
    return not found.can_be_informational
