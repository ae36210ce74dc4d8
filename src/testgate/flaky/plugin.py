"""The pytest plugin of a flake hunt, loaded with `-p testgate.flaky.plugin`.

It appends one JSON line per event to `--testgate-flaky-log` as the session goes: the
execution order (which bisection needs) and each finished test's outcome survive a test that
kills the process or hangs, when pytest's own JUnit file is never written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from testgate import _watchdog

REPEAT_FIXTURE = "__pytest_repeat_step_number"
MAX_MESSAGE = 2000


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("testgate").addoption(
        "--testgate-flaky-log",
        dest="testgate_flaky_log",
        default=None,
        metavar="PATH",
        help="append each test's start and outcome to PATH as JSON lines (testgate flaky)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("testgate_flaky_log")
    if path is None:
        return
    _watchdog.start()
    # One process, one order: with xdist the order a seed gives is not the order tests ran in.
    if hasattr(config.option, "numprocesses"):
        config.option.numprocesses = 0
        config.option.dist = "no"
        config.option.tx = []
    config.pluginmanager.register(Recorder(Path(path), config), "testgate-flaky-recorder")


def _message(report: pytest.TestReport | pytest.CollectReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or report.longreprtext or ""
    if isinstance(report.longrepr, tuple):  # a skip: (file, line, reason)
        text = str(report.longrepr[2])
    return text.strip()[:MAX_MESSAGE]


class Recorder:
    """Writes the log; every line is flushed, so os._exit() loses nothing already written."""

    def __init__(self, path: Path, config: pytest.Config) -> None:
        self._file: IO[str] = path.open("a", encoding="utf-8")
        self._base: dict[str, str] = {}
        self._phases: dict[str, list[pytest.TestReport]] = {}
        root = config.rootpath
        here = config.invocation_params.dir
        self._prefix = ""
        if root != here and root.is_relative_to(here):
            self._prefix = root.relative_to(here).as_posix() + "/"
        # pytest's own reading of which arguments name tests: the rest of the hunt's pytest
        # arguments are options that every classification run and repro command keeps.
        positional = getattr(config.option, "file_or_dir", None) or []
        self._write(event="configure", positional=[str(a) for a in positional])

    def _write(self, **record: Any) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def _id(self, nodeid: str) -> str:
        return self._prefix + nodeid if nodeid else nodeid

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and REPEAT_FIXTURE in callspec.params:
                self._base[item.nodeid] = "repeat"

    def pytest_collection_finish(self) -> None:
        self._write(event="collected")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._write(
                event="done",
                id=self._id(report.nodeid) or "<collection>",
                outcome="error",
                message=_message(report),
                duration=0.0,
                repeat=False,
            )

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._write(event="start", id=self._id(nodeid), repeat=nodeid in self._base)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        phases = self._phases.setdefault(report.nodeid, [])
        phases.append(report)
        if report.when != "teardown":
            return
        del self._phases[report.nodeid]
        outcome, message = _outcome(phases)
        self._write(
            event="done",
            id=self._id(report.nodeid),
            outcome=outcome,
            message=message,
            duration=round(sum(r.duration for r in phases), 6),
            repeat=report.nodeid in self._base,
        )

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        self._write(event="finish", exitstatus=int(exitstatus))

    def pytest_unconfigure(self) -> None:
        self._file.close()


def _outcome(phases: list[pytest.TestReport]) -> tuple[str, str]:
    """One outcome for setup + call + teardown, as pytest's JUnit writer decides it."""
    outcome, message = "passed", ""
    for report in _ordered(phases):
        xfail = hasattr(report, "wasxfail")
        if report.failed:
            if report.when == "call":
                return "failed", _message(report)
            return "error", _message(report)
        if report.skipped:
            outcome = "xfailed" if xfail else "skipped"
            message = str(getattr(report, "wasxfail", "")) if xfail else _message(report)
        elif report.when == "call" and xfail:
            outcome = "xpassed"
    return outcome, message


def _ordered(phases: list[pytest.TestReport]) -> Iterator[pytest.TestReport]:
    rank = {"setup": 0, "call": 1, "teardown": 2}
    yield from sorted(phases, key=lambda r: rank.get(r.when, 3))
