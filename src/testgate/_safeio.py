"""Opening what testgate reads, and writing where it was told to: the one place that decides.

Artifacts come from other CI jobs, forks included, so every read goes through `open_input`:

- regular files only: a FIFO, device or socket is refused without blocking (the file is opened
  with O_NONBLOCK and judged by `fstat` of what was opened, so a symlink is held to the same
  rule as its target);
- size-capped from `fstat` before a byte is read, and again while reading (a growing file);
- inside the project root (or another folder the user named) unless the user named the file
  itself: a path in an artifact never reaches ``/dev/zero`` or ``../../etc/passwd``.

JSON from artifacts goes through `load_json`: NaN, Infinity, numbers beyond `MAX_NUMBER` and
nesting past Python's recursion limit are one-line refusals, never a traceback or an
``Infinity`` written back out.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from collections.abc import Iterable
from typing import IO, Any

from testgate.errors import InputError, TestgateError

MAX_BYTES = 256 * 1024 * 1024
"""Any artifact (JUnit, coverage, flaky.json, a baseline): larger files are refused unread."""
MAX_CONFIG_BYTES = 4 * 1024 * 1024
"""A configuration file (pyproject.toml, --config)."""
MAX_SOURCE_BYTES = 8 * 1024 * 1024
"""A project source file opened to find a test's `def` line or count a new file's lines."""
MAX_NUMBER = 1e15
"""The largest magnitude a number in an artifact's JSON may have (counts, seconds, percents)."""
MAX_INT_DIGITS = 16
MAX_SPLITS = 1000
"""Shards of one session (`testgate shard --splits`, a manifest's `splits`)."""
MANIFEST_BYTES = 1024 * 1024
"""A shard manifest (`junit/S-K.json`)."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class OutputError(TestgateError):
    """testgate could not write one of its own outputs (disk full, permissions, read-only)."""

    slug = "output"


def kind_of(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def inside(path: str | os.PathLike[str], roots: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether `path`, every symlink resolved, lies in one of `roots` (also resolved)."""
    real = os.path.realpath(path)
    for root in roots:
        top = os.path.realpath(root)
        if real == top or real.startswith(top.rstrip(os.sep) + os.sep):
            return True
    return False


def _size(n: float) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{int(n)} bytes"


def too_big(shown: str, size: float, limit: int) -> InputError:
    return InputError(f"{shown}: {_size(size)} is over the {_size(limit)} limit; refused unread")


def open_input(
    path: str | os.PathLike[str],
    *,
    within: Iterable[str | os.PathLike[str]] | None = None,
    limit: int = MAX_BYTES,
    shown: str | None = None,
) -> IO[bytes]:
    """A regular file opened for reading, or `InputError` (one line, naming `path`).

    `within`: folders the file must resolve into (None: the user named the file, any place).
    """
    name = shown if shown is not None else os.fspath(path)
    if within is not None and not inside(path, within):
        raise InputError(
            f"{name}: outside the project; refused (name the file on the command line or in "
            "the configuration to read it)"
        )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{name}: cannot be read (Is a directory)")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name}: {kind_of(info.st_mode)}, not a regular file; refused")
        if info.st_size > limit:
            raise too_big(name, info.st_size, limit)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(
    path: str | os.PathLike[str],
    *,
    within: Iterable[str | os.PathLike[str]] | None = None,
    limit: int = MAX_BYTES,
    shown: str | None = None,
) -> bytes:
    name = shown if shown is not None else os.fspath(path)
    with open_input(path, within=within, limit=limit, shown=name) as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise too_big(name, len(data), limit)
    return data


def read_text(
    path: str | os.PathLike[str],
    *,
    within: Iterable[str | os.PathLike[str]] | None = None,
    limit: int = MAX_BYTES,
    shown: str | None = None,
    errors: str = "strict",
) -> str:
    name = shown if shown is not None else os.fspath(path)
    data = read_bytes(path, within=within, limit=limit, shown=name)
    try:
        return data.decode("utf-8-sig", errors)
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None


class _Refused(ValueError):
    pass


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise _Refused(f"the number {text[:40]} is beyond the {MAX_NUMBER:g} limit")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"the number {text[:40]}... has more than {MAX_INT_DIGITS} digits")
    value = int(text)
    if abs(value) > MAX_NUMBER:
        raise _Refused(f"the number {text} is beyond the {MAX_NUMBER:g} limit")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a number JSON allows")


def load_json(data: bytes | str, shown: str) -> Any:
    """Parse an artifact's JSON with every number finite and bounded, or `InputError`."""
    try:
        return json.loads(data, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except _Refused as exc:
        raise InputError(f"{shown}: {exc}; refused") from None
    except RecursionError:
        raise InputError(
            f"{shown}: JSON nested too deeply (over {_depth_limit()} levels); refused"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{shown}: not UTF-8 text, not JSON") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{shown}: not valid JSON at line {exc.lineno}, column {exc.colno} (truncated file?)"
        ) from None


def _depth_limit() -> int:
    import sys

    return sys.getrecursionlimit()


def read_json(
    path: str | os.PathLike[str],
    *,
    within: Iterable[str | os.PathLike[str]] | None = None,
    limit: int = MAX_BYTES,
    shown: str | None = None,
) -> Any:
    name = shown if shown is not None else os.fspath(path)
    return load_json(read_bytes(path, within=within, limit=limit, shown=name), name)


# --- writing ---------------------------------------------------------------------------------

_OPERATIONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file size limit is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


def output_error(
    exc: OSError, operation: str, path: str | os.PathLike[str] | None = None
) -> OutputError:
    """One line for an OS error while writing: the path, what was being done, why."""
    where = os.fspath(path) if path is not None else (exc.filename or "?")
    why = _OPERATIONS.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(f"{where}: cannot {operation}: {why}")


def append_text(path: str | os.PathLike[str], text: str) -> None:
    """Append to a file the environment named (GITHUB_STEP_SUMMARY): a regular file or a new
    one, never a FIFO or device (opened non-blocking, judged by fstat)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise output_error(exc, "open it for appending", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(
                f"{os.fspath(path)}: {kind_of(info.st_mode)}, not a regular file; not written"
            )
        os.set_blocking(fd, True)
        data = text.encode("utf-8", "backslashreplace")
        while data:
            done = os.write(fd, data)
            data = data[done:]
    except OSError as exc:
        raise output_error(exc, "append to it", path) from None
    finally:
        os.close(fd)
