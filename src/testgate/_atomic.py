"""Atomic report writes: a reader sees the old file or the new one, never half of one.

An OS error (disk full, permission denied, read-only, a file where a folder should be) is one
`OutputError` line naming the path and the operation; the old file stays as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testgate._safeio import OutputError, output_error


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a plain file where the folder should be
        raise OutputError(
            f"{folder}: cannot create the folder: a file of that name is in the way"
        ) from exc
    except OSError as exc:
        raise output_error(exc, "create the folder", folder) from None


def _stage(target: Path, data: bytes) -> str:
    """`data` in a temporary file beside `target`, synced: its name."""
    _mkdir(target.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise output_error(exc, "create a file in the folder", target.parent) from None
    try:
        # mkstemp creates 0600; a report is read by people and CI uploads like any written file.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(exc, "write", target) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _commit(tmp: str, target: Path) -> None:
    try:
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(exc, "replace", target) from None


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    target = Path(path)
    _commit(_stage(target, data), target)
    return target


def write_many(files: Mapping[Path, bytes]) -> list[Path]:
    """Several reports that belong together: every one is staged before any replaces its old
    version, so a full disk leaves the previous set whole rather than half old, half new."""
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            staged.append((_stage(target, data), target))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        _commit(tmp, target)
    return [target for _, target in staged]


def encode(text: str) -> bytes:
    """UTF-8; a lone surrogate (an undecodable byte of a file name) is written as its escape."""
    return text.encode("utf-8", "backslashreplace")


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(path, encode(text))


def json_bytes(path: str | os.PathLike[str], obj: Any) -> bytes:
    """JSON as every parser reads it: a NaN or infinity is refused, never written."""
    try:
        text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:
        raise OutputError(
            f"{os.fspath(path)}: not written: a number is not finite ({exc})"
        ) from None
    return encode(text + "\n")


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_bytes(path, json_bytes(path, obj))
