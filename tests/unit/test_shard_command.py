"""`testgate shard` usage errors: one line, exit 2, before anything is collected."""

from __future__ import annotations

import pytest

from testgate.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--splits", "0", "--group", "1"], "--splits must be between 1 and 1000, not 0"),
        (["--splits", "3", "--group", "4"], "--group 4 is out of range for --splits 3 (use 1..3)"),
        (["--splits", "3", "--group", "0"], "--group 0 is out of range"),
        (["--splits", "3"], "--group K is required (or --plan to see every group)"),
        (["--splits", "3", "--plan", "--manifest", "m.json"], "--manifest needs --group K"),
        (["--group", "1"], "the following arguments are required: --splits"),
        (["--splits", "two", "--group", "1"], "invalid int value: 'two'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shard", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("testgate: ")
    assert message in err
    assert err.count("\n") == 1
