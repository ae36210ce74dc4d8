"""Unit tests keep their files in RAM where the system offers a RAM-backed tmpfs.

The unit session has a wall-time budget, and its tests write real SQLite histories and reports.
On a disk every SQLite checkpoint and every atomic report write waits for fsync, which on a
machine shared with other builds took longer than the tests' own work (the whole unit suite,
one process: 3.6-4.0 s with tmp_path on disk, 2.5 s in /dev/shm). Files in RAM are still real
files: SQLite, locking and os.replace behave the same. The integration tests keep the disk.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

RAM = Path("/dev/shm")  # noqa: S108 - only the parent of tempfile.TemporaryDirectory (0700)


def _ram() -> Path | None:
    return RAM if RAM.is_dir() and os.access(RAM, os.W_OK | os.X_OK) else None


@pytest.fixture
def tmp_path(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A fresh empty directory per test, removed afterwards; on disk where there is no tmpfs."""
    root = _ram()
    if root is None:
        yield tmp_path_factory.mktemp(re.sub(r"\W", "_", request.node.name)[:30])
        return
    with tempfile.TemporaryDirectory(prefix="testgate-unit-", dir=root) as path:
        yield Path(path)
