"""The CLI imports only the module of the command that runs (what keeps it starting fast).

Whether testgate's coverage reader (and with it coverage.py's reporting) was imported is asked
of testgate's own module: under `nox -s integration` every child process runs coverage.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from testgate.cli import main
main(sys.argv[1:])
commands = sorted(m for m in sys.modules if m.startswith("testgate.commands."))
print(commands, "testgate.read.coverage" in sys.modules)
"""


@pytest.mark.parametrize(
    ("argv", "imported", "coverage"),
    [
        (["--version"], [], False),
        (["junit", "--help"], ["testgate.commands.junit"], False),
        (["shard", "--help"], ["testgate.commands.shard"], False),
        (["gate", "--help"], ["testgate.commands._budget", "testgate.commands.gate"], True),
    ],
)
def test_only_the_running_command_is_imported(
    argv: list[str], imported: list[str], coverage: bool
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CODE, *argv], capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines()[-1] == f"{imported!r} {coverage}"
