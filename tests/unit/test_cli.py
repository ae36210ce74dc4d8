from __future__ import annotations

import argparse
import json

import pytest

from testgate import __version__
from testgate.cli import COMMANDS, build_parser, main


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"testgate {__version__}"


def test_unknown_command_is_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("testgate: ")
    assert "Traceback" not in err


def test_each_command_is_declared_with_its_own_help() -> None:
    full = build_parser()
    [sub] = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {c.dest: c.help for c in sub._choices_actions}
    assert helps == COMMANDS


def test_an_error_of_a_json_run_is_json_with_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["junit", "--json"]) == 2
    out, err = capsys.readouterr()
    error = json.loads(out)["error"]
    assert (error["kind"], error["exit_code"]) == ("usage", 2)
    assert error["message"] == err.removeprefix("testgate: ").rstrip("\n")


def test_importing_the_main_module_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """Tools that import every module (import-linter, pydoc, test collectors) import
    testgate.__main__ too: only `python -m testgate` may run the command line."""
    import importlib

    import testgate.__main__ as entry

    importlib.reload(entry)  # executes the module body again, as a plain import would
    assert vars(entry)["main"] is main
    assert capsys.readouterr() == ("", "")
