"""Every command line the README shows is run by a test or accepted by the parser that reads it.

Run for real elsewhere: the nox sessions (test_nox_sessions.py, in a project of their own), the
tox stages (test_tox_stages.py), the test command (.ci/run, checked here to be the same line).
Checked here: each `nox` line against nox's own option parser and this repository's session
list, session arguments against the parser that receives them (testgate's CLI, the unit
session's `--shard`), each `testgate` line against testgate's parser, each `tox` line against
ci/tox.toml.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest
from nox._options import options as nox_options
from nox_project import CHECKOUT, make_project, nox
from test_tox_stages import TOX_COMMAND

from testgate.cli import build_parser
from testgate.nox import parse_shard

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.slow

README = (CHECKOUT / "README.md").read_text(encoding="utf-8")
SETUP = ["bash", "ci/setup.sh"]
CLI_SESSIONS = {"coverage", "durations", "gate", "flaky"}


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.MULTILINE | re.DOTALL)


def command_lines() -> list[str]:
    """Each line of each sh block and each `$ ` line of each console block, without comments."""
    lines = [line for block in blocks("sh") for line in block.splitlines()]
    lines += [
        line[2:] for block in blocks("console") for line in block.splitlines() if line[:2] == "$ "
    ]
    commands = (line.split("  #", 1)[0].strip() for line in lines)
    return [command for command in commands if command]


def commands() -> list[list[str]]:
    return [shlex.split(part) for line in command_lines() for part in line.split(" && ")]


@cache
def repo_sessions() -> frozenset[str]:
    return listed_sessions(CHECKOUT)


def listed_sessions(root: Path) -> frozenset[str]:
    """The sessions `nox -l` prints, selected (*) or not (-)."""
    done = nox(root, "-l")
    assert done.returncode == 0, done.output
    return frozenset(re.findall(r"^[*-] (\S+) -> ", done.output, flags=re.MULTILINE))


def check_nox(argv: list[str]) -> None:
    args = nox_options.parser().parse_args(argv[1:])
    posargs = args.posargs[1:] if args.posargs[:1] == ["--"] else args.posargs
    sessions = getattr(args, "sessions", None) or []
    assert set(sessions) <= repo_sessions(), argv
    for session in sessions:
        if session in CLI_SESSIONS:
            build_parser().parse_args([session, *posargs])
        elif session == "unit":
            parse_shard(posargs)
        else:
            assert not posargs, f"{argv}: no parser checks the arguments of {session}"


def check_tox(argv: list[str]) -> None:
    assert argv[:5] == ["tox", "-c", "ci/tox.toml", "--root", "."], argv
    config = tomllib.loads((CHECKOUT / "ci" / "tox.toml").read_text(encoding="utf-8"))
    rest = argv[5:]
    if rest:
        assert tuple(argv) == TOX_COMMAND, f"{argv}: not the command test_tox_stages runs"
        assert set(rest[1].split(",")) <= set(config["env_list"])


def check(argv: list[str]) -> None:
    argv = list(argv)
    while "=" in argv[0]:
        name = argv.pop(0).partition("=")[0]
        assert name == "TESTGATE", f"{name}: no test sets this variable"
    if argv[0] == "echo":
        return  # shows an exit status or a value: nothing to run
    if argv[:1] == SETUP[:1]:
        assert argv == SETUP, "the set-up step .ci/run performs"
    elif argv[0] == "nox":
        check_nox(argv)
    elif argv[0] == "tox":
        check_tox(argv)
    elif argv[0] == "testgate":
        build_parser().parse_args(argv[1:])
    elif argv[:3] == ["python", "-m", "pytest"]:
        run_pytest_command(argv)
    elif argv[0] == "python" and argv[1].startswith("bench/"):
        # measurements are run by hand; their argument parsing is checked
        done = subprocess.run(
            [sys.executable, *argv[1:], "--help"], cwd=CHECKOUT, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr
    else:
        pytest.fail(f"README command {shlex.join(argv)!r} is neither run nor checked by a test")


def run_pytest_command(argv: list[str]) -> None:
    """Run it for real in a throwaway project, its @FILE holding that project's one test."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tests").mkdir()
        (root / "tests" / "test_a.py").write_text("def test_a():\n    pass\n", encoding="utf-8")
        for arg in argv[3:]:
            if arg.startswith("@"):
                (root / arg[1:]).write_text("tests/test_a.py::test_a\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, *argv[1:], "-p", "no:randomly", "-p", "no:cacheprovider"],
            cwd=root, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 passed" in done.stdout


@pytest.mark.parametrize("argv", commands(), ids=shlex.join)
def test_readme_command_is_checked(argv: list[str]) -> None:
    check(argv)


def test_readme_shows_commands() -> None:
    assert len(commands()) >= 10


def test_ci_runs_the_readme_test_command_exactly() -> None:
    test_command = next(line for line in command_lines() if line.endswith("unit integration"))
    ci_lines = (CHECKOUT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines
    assert "set -euo pipefail" in ci_lines


def test_readme_noxfile_registers_the_sessions(tmp_path: Path) -> None:
    (noxfile,) = (b for b in blocks("python") if "register" in b)
    project = make_project(tmp_path)
    (project / "noxfile.py").write_text(noxfile, encoding="utf-8")
    sessions = listed_sessions(project)
    assert sessions == {"unit", "integration", "coverage", "durations", "gate", "flaky"}


def test_readme_budgets_are_the_ones_this_repository_keeps() -> None:
    own = README.split("## testgate's own budgets\n", 1)[1].split("\n## ", 1)[0]
    (shown,) = re.findall(r"^```toml\n(.*?)^```", own, flags=re.MULTILINE | re.DOTALL)
    pyproject = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(shown)["tool"]["testgate"] == pyproject["tool"]["testgate"]
