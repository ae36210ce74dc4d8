"""`[tool.testgate]` in pyproject.toml: loaded once, validated strictly, then frozen.

An unknown key, a wrong type or an impossible value is a `ConfigError` naming the key (and the
closest valid key), never a silently ignored budget.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testgate._safeio import MAX_CONFIG_BYTES, read_text
from testgate.errors import ConfigError, InputError
from testgate.model.checkids import INFORMATIONAL_IDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


@dataclass(frozen=True)
class TestsBudget:
    __test__ = False
    min_count: int | None = None
    max_skipped: int | None = None
    max_xfailed: int | None = None
    allow_salvaged: bool = False  # cases salvaged from a truncated (crashed) JUnit file count


@dataclass(frozen=True)
class CoverageBudget:
    fail_under: float | None = None
    fail_under_branches: float | None = None
    modules: Mapping[str, float] = field(default_factory=dict)
    max_drop: float | None = None
    diff_fail_under: float | None = None
    diff_base: str | None = None  # git ref; None: the merge base with origin/HEAD, main or master


@dataclass(frozen=True)
class DurationsBudget:
    max_test: float | None = None
    max_session: Mapping[str, float] = field(default_factory=dict)
    paths: Mapping[str, float] = field(default_factory=dict)
    max_regression: float | None = None
    regression_floor: float = 0.1
    slowest: int = 10
    workers: int | None = None  # for the projected wall time; None: this machine's cores
    window: int = (
        5  # judge the median of the last N runs on this kind of machine (docs/durations.md)
    )


@dataclass(frozen=True)
class QuarantineEntry:
    id: str
    until: dt.date
    reason: str = ""


@dataclass(frozen=True)
class FlakyBudget:
    count: int = 10
    max_flaky: int = 0
    timeout: float = 300.0
    quarantine: tuple[QuarantineEntry, ...] = ()


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None = None  # the file the settings came from; None: defaults only
    reports: Path = Path("reports")
    history: Path | None = None
    history_keep: int | None = None  # retention: the newest N runs stay in the history
    baseline: str | None = None
    informational: frozenset[str] = frozenset()
    tests: TestsBudget = field(default_factory=TestsBudget)
    coverage: CoverageBudget = field(default_factory=CoverageBudget)
    durations: DurationsBudget = field(default_factory=DurationsBudget)
    flaky: FlakyBudget = field(default_factory=FlakyBudget)

    @property
    def reports_dir(self) -> Path:
        return self.reports if self.reports.is_absolute() else self.root / self.reports

    @property
    def history_path(self) -> Path:
        if self.history is None:
            return self.reports_dir / "history.sqlite"
        return self.history if self.history.is_absolute() else self.root / self.history

    def is_informational(self, check_id: str) -> bool:
        """`coverage.modules` covers `coverage.modules:src/x/*` too."""
        return any(
            check_id == i or check_id.startswith((i + ":", i + ".")) for i in self.informational
        )


Validator = Callable[[str, Any], Any]


def _number(
    lo: float | None = None, hi: float | None = None, *, integer: bool = False
) -> Validator:
    def check(key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            kind = "a whole number" if integer else "a number"
            raise ConfigError(f"{key}: expected {kind}, got {value!r}")
        if not math.isfinite(value):  # NaN passes every comparison check: a budget switched off
            raise ConfigError(f"{key}: {value!r} is not a finite number; give a limit like 80")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"between {lo:g} and {hi:g}" if hi is not None else f"at least {lo:g}"
            raise ConfigError(f"{key}: {value!r} is impossible, it must be {span}")
        return value if integer else float(value)

    return check


def _percent() -> Validator:
    return _number(0, 100)


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
    if "\x00" in value:  # no path or git ref can hold one; the OS would raise on it
        raise ConfigError(f"{key}: {value!r} contains a NUL character")
    return value


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _strings(key: str, value: Any) -> frozenset[str]:
    """Check ids; one that names no check would be a budget silently left failing."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of check ids, got {value!r}")
    section = key.rpartition(".")[0].rpartition(".")[2]
    ids = set()
    for item in value:
        check_id = item
        if section in ("tests", "coverage", "durations", "flaky") and not item.startswith(section):
            check_id = f"{section}.{item}"
        family = check_id.partition(":")[0]
        if family == "tests.failures":
            raise ConfigError(
                f"{key}: tests.failures cannot be informational: the gate never passes over "
                "failing tests (deselect or fix them)"
            )
        if family not in INFORMATIONAL_IDS:
            close = difflib.get_close_matches(family, INFORMATIONAL_IDS, n=1, cutoff=0.6)
            known = ", ".join(INFORMATIONAL_IDS)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {known}"
            raise ConfigError(f"{key}: {item!r} is not a check id{hint}")
        ids.add(check_id)
    return frozenset(ids)


def _table_of(inner: Validator) -> Validator:
    def check(key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ConfigError(f'{key}: expected a table like {{ "glob" = 80 }}, got {value!r}')
        return {k: inner(f"{key}.{k}", v) for k, v in value.items()}

    return check


def _quarantine(key: str, value: Any) -> tuple[QuarantineEntry, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of {{ id, until, reason }} tables")
    entries = []
    for n, item in enumerate(value):
        where = f"{key}[{n}]"
        if not isinstance(item, dict):
            raise ConfigError(
                f"{where}: expected a table {{ id = ..., until = ..., reason = ... }}"
            )
        _reject_unknown(where, item, ("id", "until", "reason"))
        if "id" not in item or "until" not in item:
            raise ConfigError(f"{where}: needs both id and until (a date like 2027-01-31)")
        until = item["until"]
        if isinstance(until, str):
            try:
                until = dt.date.fromisoformat(until)
            except ValueError:
                raise ConfigError(
                    f"{where}.until: {until!r} is not a date like 2027-01-31"
                ) from None
        if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
            raise ConfigError(f"{where}.until: expected a date like 2027-01-31, got {until!r}")
        reason = item.get("reason", "")
        if not isinstance(reason, str):
            raise ConfigError(f"{where}.reason: expected a string")
        entries.append(QuarantineEntry(_string(f"{where}.id", item["id"]), until, reason))
    return tuple(entries)


SCHEMA: dict[str, dict[str, Validator]] = {
    "": {
        "reports": _string,
        "history": _string,
        "history_keep": _number(1, integer=True),
        "baseline": _string,
        "informational": _strings,
    },
    "tests": {
        "min_count": _number(0, integer=True),
        "max_skipped": _number(0, integer=True),
        "max_xfailed": _number(0, integer=True),
        "allow_salvaged": _boolean,
        "informational": _strings,
    },
    "coverage": {
        "fail_under": _percent(),
        "fail_under_branches": _percent(),
        "modules": _table_of(_percent()),
        "max_drop": _number(0, 100),
        "diff_fail_under": _percent(),
        "diff_base": _string,
        "informational": _strings,
    },
    "durations": {
        "max_test": _number(0),
        "max_session": _table_of(_number(0)),
        "paths": _table_of(_number(0)),
        "max_regression": _number(1),
        "regression_floor": _number(0),
        "slowest": _number(1, integer=True),
        "workers": _number(1, integer=True),
        "window": _number(1, 100, integer=True),
        "informational": _strings,
    },
    "flaky": {
        "count": _number(1, integer=True),
        "max_flaky": _number(0, integer=True),
        "timeout": _number(0.001),
        "quarantine": _quarantine,
        "informational": _strings,
    },
}


def _reject_unknown(where: str, table: Mapping[str, Any], valid: Any) -> None:
    for key in table:
        if key not in valid:
            close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.5)
            home = [s for s, keys in SCHEMA.items() if s and key in keys and key != "informational"]
            if home:
                hint = f"; did you mean {key!r} under [tool.testgate.{home[0]}]?"
            elif close:
                hint = f"; did you mean {close[0]!r}?"
            else:
                hint = f"; valid keys: {', '.join(valid)}"
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _parse_table(source: str, raw: Mapping[str, Any], root: Path, origin: Path | None) -> Config:
    sections = [s for s in SCHEMA if s]
    top_keys = list(SCHEMA[""]) + sections
    _reject_unknown(f"{source} [tool.testgate]", raw, top_keys)
    values: dict[str, dict[str, Any]] = {}
    informational: set[str] = set()
    for section, schema in SCHEMA.items():
        table = raw if section == "" else raw.get(section, {})
        prefix = "tool.testgate" + (f".{section}" if section else "")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{prefix}] must be a table")
        if section:
            _reject_unknown(f"{source} [{prefix}]", table, schema)
        parsed = {}
        for key, value in table.items():
            if section == "" and key in sections:
                continue
            parsed[key] = schema[key](f"{source}: {prefix}.{key}", value)
        informational |= parsed.pop("informational", frozenset())
        values[section] = parsed
    top = values[""]
    return Config(
        root=root,
        source=origin,
        reports=Path(top.get("reports", "reports")),
        history=Path(top["history"]) if "history" in top else None,
        history_keep=top.get("history_keep"),
        baseline=top.get("baseline"),
        informational=frozenset(informational),
        tests=TestsBudget(**values["tests"]),
        coverage=CoverageBudget(**values["coverage"]),
        durations=DurationsBudget(**values["durations"]),
        flaky=FlakyBudget(**values["flaky"]),
    )


def _has_table(path: Path, *keys: str) -> bool:
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def _ini_section(path: Path, section: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.strip() == f"[{section}]" for line in text.splitlines())


def find_root(start: Path | None = None) -> tuple[Path, str]:
    """The project root for `start` (default: the current directory), and why, as pytest and
    nox find theirs: the nearest folder whose pyproject.toml has [tool.testgate]; else pytest's
    rootdir rules (the nearest pytest.ini, .pytest.ini, pyproject.toml with [tool.pytest],
    tox.ini with [pytest], setup.cfg with [tool:pytest]; then setup.py; then pyproject.toml);
    else `start` itself."""
    start = (start or Path.cwd()).resolve()
    folders = [start, *start.parents]
    for folder in folders:
        if _has_table(folder / "pyproject.toml", "tool", "testgate"):
            return folder, "pyproject.toml [tool.testgate]"
    for folder in folders:
        for name in ("pytest.ini", ".pytest.ini"):
            if (folder / name).is_file():
                return folder, name
        if _has_table(folder / "pyproject.toml", "tool", "pytest"):
            return folder, "pyproject.toml [tool.pytest]"
        if _ini_section(folder / "tox.ini", "pytest"):
            return folder, "tox.ini [pytest]"
        if _ini_section(folder / "setup.cfg", "tool:pytest"):
            return folder, "setup.cfg [tool:pytest]"
    for name in ("setup.py", "pyproject.toml"):
        for folder in folders:
            if (folder / name).is_file():
                return folder, name
    return start, "the current directory"


def given_reports(value: str | Path | None) -> Path | None:
    """An explicit --reports folder (relative to where the user typed it) that must exist: a
    mistyped name is an error, never a new empty folder read as 'no tests ran'."""
    if value is None or value == "":
        return None
    path = Path(value).absolute()
    if not path.is_dir():
        raise ConfigError(
            f"--reports {value}: no such folder; run the tests first or check the name"
        )
    return path


def find_project(config_file: Path | None = None) -> Config:
    """The configuration of the project the current directory belongs to; one line on stderr
    names the root when it is not the current directory (run from a subfolder)."""
    root, why = find_root()
    if root != Path.cwd().resolve():
        print(f"testgate: project root {root} ({why})", file=sys.stderr)
    return load(root, config_file)


def load(root: Path | None = None, config_file: Path | None = None) -> Config:
    """Read `[tool.testgate]` from `config_file` or `<root>/pyproject.toml`; defaults if absent.

    A `config_file` that is not a pyproject.toml may hold the keys at its top level
    (a `testgate.toml`) or under `[tool.testgate]`.
    """
    root = (root or Path.cwd()).resolve()
    path = config_file if config_file is not None else root / "pyproject.toml"
    if not path.exists():
        if config_file is not None:
            raise ConfigError(f"{path}: no such config file; check --config")
        return Config(root=root)
    try:
        data = tomllib.loads(read_text(path, limit=MAX_CONFIG_BYTES))
    except InputError as exc:
        raise ConfigError(f"{exc.message}; check --config and the file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the syntax") from None
    tool = data.get("tool", {})
    if isinstance(tool, dict) and "testgate" in tool:
        raw = tool["testgate"]
    elif config_file is not None and path.name != "pyproject.toml":
        raw = data
    elif config_file is not None:
        raise ConfigError(f"{path}: no [tool.testgate] table; check --config")
    else:
        return Config(root=root, source=None)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [tool.testgate] must be a table")
    return _parse_table(str(path), raw, root, path)
