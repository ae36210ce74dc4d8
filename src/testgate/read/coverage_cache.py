"""What coverage.py learns from parsing a source file, kept by the file's content.

Every report parses every measured file again (tokenize, compile, an AST walk): 97% of a gate
over 2,000 files. None of that depends on the coverage data, only on the source text,
coverage.py's version, Python's version and the exclusion patterns, so the facts are kept in a
SQLite file under a hash of all of them. A changed file, version or pattern is a miss and is
parsed as before; coverage.py itself still turns the facts and the data into an `Analysis`.

The cache only ever speeds a read up: a cache that cannot be opened, read or written is ignored
(one warning), and `TESTGATE_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coverage
from coverage.plugin import FileReporter
from coverage.python import PythonFileReporter

from testgate._cpu import usable_cores

log = logging.getLogger(__name__)

FORMAT = 1
ENV_OFF = "TESTGATE_NO_CACHE"
Arc = tuple[int, int]


@dataclass(frozen=True)
class Facts:
    """One file's parse, as coverage.py's `PythonParser` left it."""

    statements: frozenset[int]
    excluded: frozenset[int]
    multiline: dict[int, int]  # a line of a multi-line statement -> its first line
    arcs: frozenset[Arc]
    exit_counts: dict[int, int]
    no_branch: frozenset[int]
    fixers: dict[Arc, Arc | None]  # arcs out of `with` blocks -> what they stand for

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Facts:
        return cls(
            statements=frozenset(raw["statements"]),
            excluded=frozenset(raw["excluded"]),
            multiline=dict(raw["multiline"]),
            arcs=frozenset((a, b) for a, b in raw["arcs"]),
            exit_counts=dict(raw["exit_counts"]),
            no_branch=frozenset(raw["no_branch"]),
            fixers={(a, b): (None if to is None else (to[0], to[1])) for a, b, to in raw["fixers"]},
        )

    @staticmethod
    def of(reporter: PythonFileReporter, analysis: Any) -> dict[str, Any] | None:
        """The JSON-ready facts of a file coverage.py has just analysed (the analysis holds what
        the reporter said); None when this coverage.py keeps them where we do not look."""
        return _facts_json(
            reporter,
            analysis.statements,
            analysis.excluded,
            analysis.arc_possibilities_set,
            analysis.exit_counts,
            analysis.no_branch,
        )

    @staticmethod
    def parse(reporter: PythonFileReporter, *, branches: bool) -> dict[str, Any] | None:
        """The same, asking the reporter what `analysis_from_file_reporter` asks it."""
        return _facts_json(
            reporter,
            reporter.lines(),
            reporter.excluded_lines(),
            reporter.arcs() if branches else set(),
            reporter.exit_counts() if branches else {},
            reporter.no_branch_lines() if branches else set(),
        )


def _facts_json(
    reporter: PythonFileReporter,
    statements: Iterable[int],
    excluded: Iterable[int],
    arcs: Iterable[Arc],
    exit_counts: dict[int, int],
    no_branch: Iterable[int],
) -> dict[str, Any] | None:
    parser = reporter.parser
    fixers = getattr(parser, "_with_jump_fixers", None)
    multiline = getattr(parser, "multiline_map", None)
    if not isinstance(fixers, dict) or not isinstance(multiline, dict):  # pragma: no cover
        return None  # a coverage.py that keeps its parse elsewhere: nothing is cached
    return {
        "statements": sorted(statements),
        "excluded": sorted(excluded),
        "multiline": sorted(multiline.items()),
        "arcs": sorted(arcs),
        "exit_counts": sorted(exit_counts.items()),
        "no_branch": sorted(no_branch),
        "fixers": [[a, b, to and list(to)] for (a, b), to in fixers.items()],
    }


class KnownFile(FileReporter):
    """A Python file whose parse is known: answers what coverage.py's analysis asks of it
    the way `PythonParser` does (first lines of multi-line statements, `with` jump fixes)."""

    def __init__(self, original: PythonFileReporter, facts: Facts) -> None:
        super().__init__(original.filename)
        self.original = original
        self.facts = facts

    def lines(self) -> set[int]:
        return set(self.facts.statements)

    def excluded_lines(self) -> set[int]:
        return set(self.facts.excluded)

    def first_line(self, line: int) -> int:
        multiline = self.facts.multiline
        return -multiline.get(-line, -line) if line < 0 else multiline.get(line, line)

    def translate_lines(self, lines: Iterable[int]) -> set[int]:
        return {self.first_line(line) for line in lines}

    def translate_arcs(self, arcs: Iterable[Arc]) -> set[Arc]:
        fixers = self.facts.fixers
        fixed = (fixers.get(arc, arc) for arc in arcs)
        return {(self.first_line(a), self.first_line(b)) for a, b in filter(None, fixed)}

    def arcs(self) -> set[Arc]:
        return set(self.facts.arcs)

    def exit_counts(self) -> dict[int, int]:
        return dict(self.facts.exit_counts)

    def no_branch_lines(self) -> set[int]:
        return set(self.facts.no_branch)


class AnalysisCache:
    """A SQLite file of `Facts` by key; new facts are written in one transaction at the end."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout
        self._db: sqlite3.Connection | None = None
        self.usable = True  # False once it could not be opened, read or written
        self.new: dict[str, str] = {}
        self.hits = self.misses = 0
        self.workers = 0  # worker processes that parsed the unknown files first
        self.parallel: set[str] = set()  # the keys they parsed
        self.parallel_hits = 0

    @property
    def db(self) -> sqlite3.Connection | None:
        """Opened at the first question: a read that fails before it leaves no file behind."""
        if self._db is None and self.usable:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._db = self._open()
                except sqlite3.DatabaseError:  # not a database (any more): ours to start again
                    self.path.unlink()
                    self._db = self._open()
            except (OSError, sqlite3.Error) as exc:
                self._give_up("cannot be opened", exc)
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, facts TEXT)")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _give_up(self, what: str, exc: BaseException) -> None:
        log.warning("%s: %s (%s); coverage is analysed without it", self.path, what, exc)
        self.usable = False
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    def get(self, key: str) -> Facts | None:
        db = self.db
        if db is None:
            return None
        text = self.new.get(key)  # parsed by the workers, written at close
        if text is None:
            try:
                row = db.execute("SELECT facts FROM facts WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._give_up("cannot be read", exc)
                return None
            if row is None:
                return None
            text = row[0]
        try:
            return Facts.from_json(json.loads(text))
        except (TypeError, ValueError, KeyError, IndexError):
            return None  # not what we write: parsed again, and overwritten

    def has(self, key: str) -> bool:
        """Stored, without reading the facts (the analysis reads them once, later)."""
        db = self.db
        if db is None:
            return False
        try:
            return db.execute("SELECT 1 FROM facts WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error as exc:
            self._give_up("cannot be read", exc)
            return False

    def put(self, key: str, facts: dict[str, Any]) -> None:
        self.new[key] = json.dumps(facts, separators=(",", ":"))

    def close(self) -> None:
        db, self._db = self._db, None
        self.usable = False
        if db is None:
            return
        parsed = self.misses + self.parallel_hits
        where = f" ({self.parallel_hits} by {self.workers} workers)" if self.workers else ""
        log.debug("%s: %d files known, %d parsed%s", self.path, self.hits, parsed, where)
        try:
            if self.new:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?)", self.new.items())
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("%s: cannot be written (%s); the next read parses again", self.path, exc)
        finally:
            db.close()


@contextlib.contextmanager
def cached_analysis(
    cov: coverage.Coverage, path: Path | None, *, branches: bool
) -> Iterator[AnalysisCache | None]:
    """While open, `cov` analyses Python files from the cache at `path` where it can.

    `branches`: the data has arcs (its facts include the file's arcs; without, they do not).
    """
    analyze: Callable[..., Any] | None = getattr(cov, "_analyze", None)
    if path is None or analyze is None or os.environ.get(ENV_OFF, "") not in ("", "0"):
        yield None
        return
    cache = AnalysisCache(path)
    salt = _salt(cov, branches)
    keys: dict[str, str | None] = {}

    def key_of(reporter: PythonFileReporter) -> str | None:
        """Each file's source is read and hashed once per read, however often it is asked."""
        if reporter.filename not in keys:
            keys[reporter.filename] = _key(salt, reporter)
        return keys[reporter.filename]

    _prefill(cov, cache, salt, branches, key_of)

    def cached(morf: Any, file_reporter: FileReporter | None = None) -> Any:
        if not isinstance(file_reporter, PythonFileReporter) or not cache.usable:
            return analyze(morf, file_reporter=file_reporter)
        key = key_of(file_reporter)
        if key is None:  # coverage.py raises its own error for it just below
            return analyze(morf, file_reporter=file_reporter)
        facts = cache.get(key)
        if facts is not None:
            if key in cache.parallel:
                cache.parallel_hits += 1
            else:
                cache.hits += 1
            return analyze(morf, file_reporter=KnownFile(file_reporter, facts))
        cache.misses += 1
        analysis = analyze(morf, file_reporter=file_reporter)
        found = Facts.of(file_reporter, analysis)
        if found is not None:  # pragma: no branch - see Facts.of
            cache.put(key, found)
        return analysis

    cov._analyze = cached  # type: ignore[method-assign]
    try:
        yield cache
    finally:
        cov._analyze = analyze  # type: ignore[method-assign]
        cache.close()


def _key(salt: bytes, reporter: PythonFileReporter) -> str | None:
    try:
        source = reporter.source()
    except Exception:  # whoever analyses the file says what is wrong with it
        return None
    return hashlib.sha256(salt + source.encode("utf-8", "surrogatepass")).hexdigest()


# -- parsing the unknown files on every core ------------------------------------------------

PARALLEL_MIN = 64
"""Fewer unknown files than this are parsed in process: workers would not pay for themselves."""
_PER_WORKER = 32


def _prefill(
    cov: coverage.Coverage,
    cache: AnalysisCache,
    salt: bytes,
    branches: bool,
    key_of: Callable[[PythonFileReporter], str | None],
) -> None:
    """Parse the Python files the cache does not know in worker processes, one per core, so
    that the analysis that follows finds them all; anything that goes wrong here only means
    the analysis parses those files itself, as without a cache."""
    cores = usable_cores()
    if cores < 2 or not _can_fork():
        return
    data = cov.get_data()
    unknown = []
    for name in sorted(data.measured_files()):
        if data.file_tracer(name):
            continue  # a plugin's file (templates, ...): not parsed as Python
        reporter = PythonFileReporter(name, cov)
        key = key_of(reporter)
        if key is not None and not cache.has(key):
            unknown.append(os.path.abspath(reporter.filename))
    if len(unknown) < PARALLEL_MIN:
        return
    workers = min(cores, len(unknown) // _PER_WORKER)
    chunks = [unknown[i :: workers * 4] for i in range(workers * 4)]
    import multiprocessing  # here: 12 ms of start-up that only this path needs
    from concurrent.futures import ProcessPoolExecutor

    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(os.getcwd(),)
        ) as pool:
            for found in pool.map(
                _parse_files, chunks, [salt] * len(chunks), [branches] * len(chunks)
            ):
                cache.new.update(found)
                cache.parallel.update(found)
        cache.workers = workers
    except (OSError, RuntimeError, ValueError) as exc:  # no semaphores, a worker killed, ...
        log.debug("parsing in worker processes failed (%s); parsing in process", exc)


def _can_fork() -> bool:
    """Workers are forked: they start at once with everything imported, and nothing re-runs the
    caller's main module (a fork server or spawn would). Forking is safe only in a process with
    no other thread, on Linux; anywhere else the files are parsed in process."""
    if sys.platform != "linux":  # pragma: no cover - the CI machines are Linux
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1  # threads C libraries started count too
    except OSError:  # pragma: no cover - no /proc
        return False


_WORKER: dict[str, coverage.Coverage] = {}


def _start_worker(root: str) -> None:
    """A worker reads the project's coverage configuration as the reading process did."""
    os.chdir(root)
    _WORKER["cov"] = coverage.Coverage(data_file=None, config_file=True)


def _parse_files(files: list[str], salt: bytes, branches: bool) -> dict[str, str]:
    """{key: facts JSON} of the files that parse; the others are left to the analysis."""
    found = {}
    for name in files:
        try:
            reporter = PythonFileReporter(name, _WORKER["cov"])
            key = _key(salt, reporter)
            facts = Facts.parse(reporter, branches=branches)
        except Exception:  # noqa: S112 - the analysis in process reports it properly
            continue
        if key is not None and facts is not None:
            found[key] = json.dumps(facts, separators=(",", ":"))
    return found


def _salt(cov: coverage.Coverage, branches: bool) -> bytes:
    """Everything but the source that a file's facts depend on."""
    config = cov.config
    parts = [
        f"testgate-facts-{FORMAT}",
        coverage.__version__,
        sys.version,
        repr(config.exclude_list),
        repr(config.exclude_also),
        repr(config.partial_list),
        repr(config.partial_also),
        repr(config.partial_always_list),
        f"branches={branches}",
    ]
    return "\0".join(parts).encode() + b"\0"
