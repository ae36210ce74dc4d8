"""One pytest process under watch: its event log read back, hangs killed, crashes named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate import _watchdog
from testgate.errors import Stopped
from testgate.model import Outcome
from testgate.model.flaky import COMPLETED, CRASHED, TIMED_OUT
from testgate.read.junit import split_repetition

PLUGIN = "testgate.flaky.plugin"
STARTUP_GRACE = 120.0  # seconds before the plugin's first line: imports on a loaded machine


@dataclass(frozen=True)
class Record:
    """One test's outcome in one pytest process (setup, call and teardown together)."""

    id: str
    outcome: Outcome
    message: str = ""
    duration: float = 0.0


@dataclass(frozen=True)
class PytestRun:
    status: str
    exit_code: int | None
    records: tuple[Record, ...]
    order: tuple[str, ...]  # ids in the order they started
    seconds: float

    def outcome_of(self, test_id: str) -> Outcome | None:
        found = self.outcomes_of(test_id)
        return found[-1] if found else None

    def outcomes_of(self, test_id: str) -> tuple[Outcome, ...]:
        return tuple(r.outcome for r in self.records if r.id == test_id)


def base_id(node_id: str, *, repeated: bool = True) -> str:
    """`a.py::t[x-2-5]` -> `a.py::t[x]`: the id without pytest-repeat's suffix."""
    if not repeated:
        return node_id
    head, sep, name = node_id.rpartition("::")
    return head + sep + split_repetition(name)[0]


def pytest_command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def run_pytest(
    args: Sequence[str],
    *,
    root: Path,
    log: Path,
    timeout: float,
    output: Path | None = None,
    stop: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> PytestRun:
    """Run pytest with our recorder; kill it when a test gives no sign of life for `timeout` s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    argv = pytest_command(["-p", PLUGIN, f"--testgate-flaky-log={log}", *args])
    start = time.monotonic()
    timed_out = False
    with open(output if output is not None else os.devnull, "wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # it dies with the hunt
            env={**(os.environ if env is None else env), _watchdog.ENV: str(os.getpid())},
            start_new_session=True,  # one process group: a hanging test's children die with it
        )
        try:
            timed_out = _watch(proc, log, timeout, stop)
        finally:
            if proc.poll() is None:
                _kill(proc)
    seconds = time.monotonic() - start
    return parse_log(
        log, exit_code=proc.returncode, timed_out=timed_out, timeout=timeout, seconds=seconds
    )


def _watch(
    proc: subprocess.Popen[bytes], log: Path, timeout: float, stop: threading.Event | None
) -> bool:
    started = time.time()
    while True:
        try:
            proc.wait(timeout=0.1)
            return False
        except subprocess.TimeoutExpired:
            pass
        if stop is not None and stop.is_set():
            _kill(proc)
            raise Stopped
        try:
            last, limit = log.stat().st_mtime, timeout
        except FileNotFoundError:
            last, limit = started, max(timeout, STARTUP_GRACE)
        if time.time() - last > limit:
            _kill(proc)
            return True


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except ProcessLookupError:  # pragma: no cover - it ended between poll and kill
        pass
    proc.wait()


def _events(log: Path) -> tuple[list[dict[str, object]], bool]:
    events: list[dict[str, object]] = []
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return events, False
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:  # the last line of a killed process may be cut
            continue
        if isinstance(event, dict):
            events.append(event)
    return events, any(e.get("event") == "finish" for e in events)


def positional_args(log: Path) -> list[str] | None:
    """The arguments pytest took as test paths in the run that wrote `log` (None: no record)."""
    for event in _events(log)[0]:
        positional = event.get("positional")
        if event.get("event") == "configure" and isinstance(positional, list):
            return [str(a) for a in positional]
    return None


def parse_log(
    log: Path, *, exit_code: int | None, timed_out: bool, timeout: float, seconds: float
) -> PytestRun:
    events, finished = _events(log)
    records: list[Record] = []
    order: list[str] = []
    running: str | None = None
    for event in events:
        kind = event.get("event")
        raw = str(event.get("id", ""))
        if kind == "start":
            running = base_id(raw, repeated=bool(event.get("repeat")))
            order.append(running)
        elif kind == "done":
            test_id = base_id(raw, repeated=bool(event.get("repeat")))
            try:
                outcome = Outcome(str(event.get("outcome")))
            except ValueError:
                outcome = Outcome.ERROR
            duration = event.get("duration", 0.0)
            records.append(
                Record(
                    test_id,
                    outcome,
                    str(event.get("message") or ""),
                    float(duration) if isinstance(duration, (int, float)) else 0.0,
                )
            )
            running = None
    if finished:
        status = COMPLETED
    elif timed_out:
        status = TIMED_OUT
    else:
        status = CRASHED
    if running is not None and status != COMPLETED:
        if status == TIMED_OUT:
            why = f"timed out: no progress for {timeout:g} s, so testgate killed the process"
        else:
            why = f"crashed: the pytest process died during this test (exit code {exit_code})"
        records.append(Record(running, Outcome.ERROR, why))
    return PytestRun(status, exit_code, tuple(records), tuple(order), seconds)
