"""The one exception family testgate raises, and the exit codes every command shares.

Only `testgate.cli.main` catches `TestgateError`: it prints `testgate: <message>` on one line
and exits with the error's code, so no user ever sees a traceback for a bad input.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    BUDGET_VIOLATED = 1
    ERROR = 2  # usage, configuration or input


class TestgateError(Exception):
    """Base of every expected failure; the message is one line naming the file/key and the fix."""

    __test__ = False  # not a pytest test class, despite the name
    slug = "error"
    exit_code = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()) if "\n" in message else message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(TestgateError):
    slug = "usage"


class ConfigError(TestgateError):
    slug = "config"


class InputError(TestgateError):
    """An input file is missing, empty, unreadable, hostile or not what it claims to be."""

    slug = "input"


class GitError(InputError):
    """Git could not answer (no checkout, no such ref); the message says what to do."""

    slug = "git"


class GitMissing(GitError):
    """No git executable at all."""


class Interrupted(TestgateError):
    slug = "interrupted"
    exit_code = ExitCode.BUDGET_VIOLATED


class Stopped(Interrupted):
    """The hunt was interrupted while a pytest process ran; it was killed, its result is void."""

    slug = "stopped"

    def __init__(self, message: str = "stopped by an interrupt") -> None:
        super().__init__(message)
