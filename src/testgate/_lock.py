"""One flake hunt per reports folder: a lock file naming its holder.

Two hunts writing `reports/flaky/` at once would mix their iterations, and every flake rate
with them. The lock is an `flock` held for the hunt's life (released by the kernel however the
hunt ends) on a file that names the holder (pid, host, start); a lock left by a hunt that was
killed is recognised (its pid is gone, or no process holds the flock) and taken over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from testgate._safeio import output_error
from testgate.errors import UsageError

NAME = ".testgate-hunt.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _holder(text: str) -> dict[str, Any]:
    try:
        info = json.loads(text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _describe(info: dict[str, Any]) -> str:
    return (
        f"pid {info.get('pid', '?')} on {info.get('host', '?')}, started {info.get('started', '?')}"
    )


def _open_locked(path: Path, reports_dir: Path) -> tuple[int, dict[str, Any]]:
    """The lock file's descriptor with our flock on it, and what its previous holder wrote."""
    while True:
        try:
            reports_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise output_error(exc, "create the hunt lock", path) from None
        try:
            before = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(
                    f"{reports_dir}: another flake hunt is running here ({_describe(before)};"
                    f" lock {path}); wait for it, or give this one its own --reports folder"
                ) from None
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                return fd, before
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the file as we opened it: try the new one


@contextlib.contextmanager
def hunt_lock(reports_dir: Path, *, notes: list[str] | None = None) -> Iterator[Path]:
    """Hold the hunt lock of `reports_dir` for the block; `UsageError` when a live hunt has it.

    `notes` receives a line when a stale lock (from a killed hunt) was taken over."""
    path = reports_dir / NAME
    fd, before = _open_locked(path, reports_dir)
    try:
        if before and notes is not None:
            pid = before.get("pid")
            gone = (
                before.get("host") == socket.gethostname()
                and isinstance(pid, int)
                and not _alive(pid)
            )
            why = "no longer running" if gone else "it holds no lock"
            notes.append(f"took over the stale lock of a killed hunt ({_describe(before)}: {why})")
        mine = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(mine).encode(), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.unlink()  # still holding the flock: a hunt that opened this file retries
    finally:
        os.close(fd)
