"""A hunt's pytest processes die with the hunt, even when the hunt is killed with SIGKILL.

The runner starts each pytest in a session of its own (so a timeout kills the test's children
too), which also means the kernel does not take it down with the hunt. The hunt names itself
in `ENV`; the recorder plugin calls `start()`, and a daemon thread kills the pytest process
group as soon as the process's parent is no longer the hunt (it was re-parented). Otherwise an
orphaned iteration would keep writing into reports/flaky/ while `--resume` runs it again.
"""

from __future__ import annotations

import os
import signal
import threading
import time

ENV = "TESTGATE_HUNT_PID"
INTERVAL = 0.2


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _die() -> None:  # pragma: no cover - runs in an orphaned pytest process, which it kills
    if os.getpgrp() == os.getpid():  # our own session (the runner made it): take it all
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(137)


def _watch(parent: int) -> None:  # pragma: no cover - a daemon thread of a pytest child
    while not _orphaned(parent):
        time.sleep(INTERVAL)
    _die()


def start() -> bool:
    """Watch the hunt named in the environment (taken out of it: the tests' own subprocesses
    are not the hunt's); False when this pytest was not started by a hunt."""
    value = os.environ.pop(ENV, None)
    if not value or not value.isdigit():
        return False
    parent = int(value)
    if _orphaned(parent):  # pragma: no cover - the hunt died while this pytest started
        _die()
    threading.Thread(target=_watch, args=(parent,), name="testgate-watchdog", daemon=True).start()
    return True
