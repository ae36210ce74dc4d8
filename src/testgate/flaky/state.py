"""What a test leaves behind, and whether the next test depends on it.

Loaded with `-p testgate.flaky.state` only in the few runs that explain a flaky pair (never in
the hunt's iterations): around each test it snapshots cheap process state (environment, cwd,
sys.path, sys.modules, module attributes of the project's own modules, logging, warnings
filters, signal handlers, live threads, umask, locale, files under the project and the temp
folder) and writes what changed, one JSON line per test. With `--testgate-restore-after=ID` it
puts named items back right after that test, which is how dependence is shown rather than
guessed: the victim passes once the leaked item is restored.
"""

from __future__ import annotations

import contextlib
import json
import locale
import logging
import os
import re
import signal
import sys
import sysconfig
import tempfile
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PLUGIN = "testgate.flaky.state"
ALL = "*"
MAX_REPR = 120
MAX_FILES = 20000
SKIP_DIRS = frozenset(
    (".git", ".hg", ".venv", "venv", ".nox", ".tox", "__pycache__", ".pytest_cache",
     ".mypy_cache", ".ruff_cache", "node_modules", "reports", ".hypothesis", "htmlcov")
)  # fmt: skip
_CONTAINERS = (list, dict, set, bytearray)
Restore = Callable[[], object]
_MISSING = object()
_REPEAT_SUFFIX = re.compile(r"-?\d+-\d+\]$")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ is the test's business, not ours
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


@dataclass
class Item:
    """One piece of state: a value to compare, and how to put it back (None: it cannot be)."""

    token: Any
    shown: str
    restore: Restore | None


def _shallow(value: Any) -> Any:
    """`==` one level deep: a copy of a container's or an instance's first level."""
    if isinstance(value, _CONTAINERS):
        return value.copy()
    if isinstance(value, (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    attrs = getattr(value, "__dict__", None)
    return dict(attrs) if isinstance(attrs, dict) else None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _refill(obj: Any, copy: Any) -> None:
    if isinstance(obj, list | bytearray):
        obj[:] = copy
    elif isinstance(obj, dict | set):
        obj.clear()
        obj.update(copy)
    else:
        vars(obj).clear()
        vars(obj).update(copy)


class Snapshotter:
    """Takes snapshots of one process; knows which modules are the project's own."""

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root, self.tmp = root.resolve(), Path(tmp).resolve()
        outside = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        self._outside = tuple(str(Path(p).resolve()) for p in outside)
        self._own_cache: dict[str, bool] = {}

    def own(self, name: str, module: Any) -> bool:
        if name in self._own_cache:
            return self._own_cache[name]
        file = getattr(module, "__file__", None)
        mine = False
        if isinstance(file, str) and not name.startswith("testgate."):
            path = str(Path(file).resolve())
            mine = path.startswith(str(self.root) + os.sep) and not any(
                path.startswith(o) for o in self._outside
            )
            mine = mine and not any(part in SKIP_DIRS for part in Path(path).parts)
        self._own_cache[name] = mine
        return mine

    def take(self) -> dict[str, Item]:
        items: dict[str, Item] = {}
        self._environ(items)
        cwd = os.getcwd()
        items["cwd"] = Item(cwd, _short(cwd), lambda: os.chdir(cwd))
        path = list(sys.path)
        items["sys.path"] = Item(
            tuple(path), _short(path), lambda: sys.path.__setitem__(slice(None), path)
        )
        self._modules(items)
        self._logging(items)
        filters = list(warnings_filters())
        items["warnings filters"] = Item(
            tuple(map(repr, filters)), f"{len(filters)} filters", lambda: _set_filters(filters)
        )
        self._signals(items)
        for thread in threading.enumerate():
            items[f"thread {thread.name!r}"] = Item(thread.ident, "running", None)
        mask = os.umask(0)
        os.umask(mask)
        items["umask"] = Item(mask, oct(mask), lambda: os.umask(mask))
        with contextlib.suppress(locale.Error):
            where = locale.setlocale(locale.LC_ALL)
            items["locale"] = Item(
                where, _short(where), lambda: locale.setlocale(locale.LC_ALL, where)
            )
        self._files(items)
        return items

    def _environ(self, items: dict[str, Item]) -> None:
        for key, value in os.environ.items():
            if key != "PYTEST_CURRENT_TEST":
                items[f"os.environ[{key!r}]"] = Item(
                    value, _short(value), _env_restorer(key, value)
                )

    def _modules(self, items: dict[str, Item]) -> None:
        entries: list[tuple[str, object]] = list(sys.modules.items())
        for name, module in entries:
            if module is None:
                continue
            own = isinstance(module, types.ModuleType) and self.own(name, module)
            if own or (getattr(module, "__spec__", _MISSING) is None and not _runtime(name)):
                # A module nobody imported (no spec) is a fake a test planted: watch its entry.
                items[f"sys.modules[{name!r}]"] = Item(
                    id(module), _short(module), _module_restorer(name, module)
                )
            if not own:
                continue
            for attr, value in list(vars(module).items()):
                if attr.startswith("__") or isinstance(value, types.ModuleType):
                    continue
                items[f"{name}.{attr}"] = Item(
                    (id(value), _shallow(value)), _short(value), _attr_restorer(module, attr, value)
                )

    def _logging(self, items: dict[str, Item]) -> None:
        loggers: list[tuple[str, logging.Logger]] = [("root", logging.getLogger())]
        for name, logger in list(logging.Logger.manager.loggerDict.items()):
            if isinstance(logger, logging.Logger):
                loggers.append((repr(name), logger))
        for label, logger in loggers:
            handlers = list(logger.handlers)
            level = logger.level
            items[f"logging: handler on {label}"] = Item(
                tuple(map(id, handlers)),
                _short([type(h).__name__ for h in handlers]),
                _handlers_restorer(logger, handlers),
            )
            items[f"logging: level of {label}"] = Item(
                level, logging.getLevelName(level), _level_restorer(logger, level)
            )
        disabled = logging.root.manager.disable
        items["logging: disable"] = Item(disabled, str(disabled), lambda: logging.disable(disabled))

    def _signals(self, items: dict[str, Item]) -> None:
        for sig in signal.valid_signals():
            try:
                handler = signal.getsignal(sig)
            except (ValueError, OSError):  # pragma: no cover - platform specific
                continue
            if handler is None:
                continue
            name = sig.name if isinstance(sig, signal.Signals) else str(sig)
            items[f"signal {name}"] = Item(
                id(handler), _short(handler), _signal_restorer(sig, handler)
            )

    def _files(self, items: dict[str, Item]) -> None:
        seen = 0
        for base, label in ((self.root, ""), (self.tmp, "$TMPDIR/")):
            for path in _walk(base, skip=self.root):
                seen += 1
                if seen > MAX_FILES:
                    return
                try:
                    st = path.stat()
                except OSError:
                    continue
                rel = label + path.relative_to(base).as_posix()
                items[f"file {rel}"] = Item(
                    (st.st_size, st.st_mtime_ns),
                    f"{st.st_size} bytes",
                    None,  # old content not kept
                )


def _runtime(name: str) -> bool:
    """Modules extension runtimes make for themselves, without a spec."""
    return name == "cython_runtime" or name.startswith("_cython_")


def _walk(base: Path, skip: Path) -> Iterator[Path]:
    """Files under `base`, but not under `skip` when walking from outside it (no twice)."""
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name in SKIP_DIRS or entry.name.startswith("pytest-of-"):
                continue
            if entry.name.endswith(".egg-info") or (base != skip and Path(entry.path) == skip):
                continue
            yield from _walk(Path(entry.path), skip)
        else:
            yield Path(entry.path)


def warnings_filters() -> list[Any]:
    import warnings

    return list(warnings.filters)


def _set_filters(filters: list[Any]) -> None:
    import warnings

    warnings.filters[:] = filters  # type: ignore[index]  # a list at run time
    warnings._filters_mutated()  # type: ignore[attr-defined]  # the caches see the change


def _handlers_restorer(logger: logging.Logger, handlers: list[logging.Handler]) -> Restore:
    return lambda: logger.handlers.__setitem__(slice(None), handlers)


def _level_restorer(logger: logging.Logger, level: int) -> Restore:
    return lambda: logger.setLevel(level)


def _signal_restorer(sig: int, handler: Any) -> Restore:
    return lambda: signal.signal(sig, handler)


def _env_restorer(key: str, value: str) -> Restore:
    return lambda: os.environ.__setitem__(key, value)


def _module_restorer(name: str, module: Any) -> Restore:
    return lambda: sys.modules.__setitem__(name, module)


def _attr_restorer(module: Any, attr: str, value: Any) -> Restore:
    copy = _shallow(value)

    def restore() -> None:
        setattr(module, attr, value)
        if copy is not None:
            _refill(value, copy)

    return restore


@dataclass(frozen=True)
class Change:
    key: str
    before: str
    after: str
    restorable: bool


def diff(
    before: dict[str, Item], after: dict[str, Item], root: Path, tmp: Path
) -> tuple[list[Change], dict[str, Restore]]:
    """What changed from `before` to `after`, and how to undo each restorable change."""
    changes: list[Change] = []
    undo: dict[str, Restore] = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None:
            # module attributes hold (identity, first level): compared in that order
            if _same(old.token, new.token):
                continue
            restore = old.restore
        elif old is not None:  # gone
            restore = old.restore
        elif new is not None:
            restore = _remover(key, root, tmp)
        else:  # pragma: no cover - the key came from one of the two
            continue
        changes.append(
            Change(
                key,
                old.shown if old else "<absent>",
                new.shown if new else "<absent>",
                restore is not None,
            )
        )
        if restore is not None:
            undo[key] = restore
    return changes, undo


def _remover(key: str, root: Path, tmp: Path) -> Restore | None:
    """How to undo an item that did not exist before: remove it (a thread cannot be)."""
    if key.startswith("os.environ["):
        name = key[len("os.environ[") + 1 : -2]
        return lambda: os.environ.pop(name, None)
    if key.startswith("sys.modules["):
        name = key[len("sys.modules[") + 1 : -2]
        return lambda: sys.modules.pop(name, None)
    if key.startswith("file "):
        rel = key[len("file ") :]
        path = tmp / rel[len("$TMPDIR/") :] if rel.startswith("$TMPDIR/") else root / rel
        return lambda: path.unlink(missing_ok=True)
    if key.startswith("logging: "):
        what, _, label = key[len("logging: ") :].partition(" on ")
        if not label:
            what, _, label = key[len("logging: ") :].partition(" of ")
        logger = logging.getLogger(None if label == "root" else label[1:-1])
        if what == "handler":
            return lambda: logger.handlers.clear()
        return lambda: logger.setLevel(logging.NOTSET)
    if key.startswith(("thread ", "signal ")):
        return None
    module, _, attr = key.rpartition(".")
    if module in sys.modules:
        mod = sys.modules[module]
        return lambda: vars(mod).pop(attr, None)
    return None  # pragma: no cover - a module attribute of a module that is gone


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testgate")
    group.addoption(
        "--testgate-state-log",
        dest="testgate_state_log",
        default=None,
        metavar="PATH",
        help="append what each test changed to PATH (testgate)",
    )
    group.addoption(
        "--testgate-restore-after",
        dest="testgate_restore_after",
        default=None,
        metavar="ID",
        help="restore state right after the first run of test ID",
    )
    group.addoption(
        "--testgate-restore",
        dest="testgate_restore",
        action="append",
        default=[],
        metavar="KEY",
        help="a state item to restore ('*': every restorable one)",
    )


def pytest_configure(config: pytest.Config) -> None:
    log = config.getoption("testgate_state_log")
    after = config.getoption("testgate_restore_after")
    if log is None and after is None:
        return
    config.pluginmanager.register(StateWatch(config, log, after), "testgate-state-watch")


class StateWatch:
    def __init__(self, config: pytest.Config, log: str | None, after: str | None) -> None:
        self.root = config.rootpath
        self.tmp = Path(tempfile.gettempdir())
        self.snap = Snapshotter(self.root, self.tmp)
        self.log = None if log is None else open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed at unconfigure
        self.after = after
        self.restore = set(config.getoption("testgate_restore"))
        here = config.invocation_params.dir
        self.prefix = ""
        if self.root != here and self.root.is_relative_to(here):
            self.prefix = self.root.relative_to(here).as_posix() + "/"

    def _id(self, item: pytest.Item) -> str:
        callspec = getattr(item, "callspec", None)
        nodeid = item.nodeid
        if callspec is not None and "__pytest_repeat_step_number" in callspec.params:
            nodeid = _REPEAT_SUFFIX.sub("]", nodeid).replace("[]", "")  # `t[a-1-2]` -> `t[a]`
        return self.prefix + nodeid

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        before = self.snap.take()
        yield
        test_id = self._id(item)
        changes, undo = diff(before, self.snap.take(), self.root, self.tmp)
        restored: list[str] = []
        if self.after is not None and test_id == self.after:
            self.after = None  # the first run only: a repeated test's second run is the victim
            for key in sorted(undo):
                if ALL in self.restore or key in self.restore:
                    with contextlib.suppress(Exception):
                        undo[key]()
                        restored.append(key)
        if self.log is not None:
            record = {
                "id": test_id,
                "changed": [[c.key, c.before, c.after, c.restorable] for c in changes],
                "restored": restored,
            }
            self.log.write(json.dumps(record) + "\n")
            self.log.flush()

    def pytest_unconfigure(self) -> None:
        if self.log is not None:
            self.log.close()


def read_log(path: Path) -> dict[str, list[Change]]:
    """Each test's changes from a state log (the first record of each id)."""
    found: dict[str, list[Change]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
            changes = [Change(str(k), str(b), str(a), bool(r)) for k, b, a, r in record["changed"]]
        except (ValueError, KeyError, TypeError):
            continue
        found.setdefault(str(record["id"]), changes)
    return found
