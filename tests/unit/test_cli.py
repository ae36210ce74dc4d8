from __future__ import annotations

import pytest

from testgate import __version__
from testgate.cli import main


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"testgate {__version__}"


def test_unknown_command_is_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("testgate: ")
    assert "Traceback" not in err
