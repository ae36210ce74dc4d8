"""Every command README.md, CONTRIBUTING.md and docs/*.md show is run by a test.

The convention (CONTRIBUTING.md, "Every documented command is run by a test"): a command is a
line of a ```sh block or a `$ ` line of a ```console block; `$ echo $?` and a number state the
previous command's exit status. `testgate` and `python -m pytest` lines run for real, block by
block, in a planted project (docs_project.py); install and set-up lines run for real in fresh
venvs in a fresh clone; `nox`, `tox`, `bash ci/setup.sh` and `python bench/...` lines are checked
against the parser that reads them (running them here would run this suite inside itself, or
take minutes); the sessions and stages run for real in test_nox_sessions.py and
test_tox_stages.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from docs_project import environment, make_docs_project
from nox._options import options as nox_options
from nox_project import CHECKOUT, make_project, nox
from test_tox_stages import TOX_COMMAND

from testgate import __version__
from testgate.cli import build_parser
from testgate.config import load
from testgate.model.checkids import REGISTRY
from testgate.nox import parse_shard

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.slow

DOCUMENTS = (
    CHECKOUT / "README.md",
    CHECKOUT / "CONTRIBUTING.md",
    *sorted((CHECKOUT / "docs").glob("*.md")),
)
SETUP = ["bash", "ci/setup.sh"]
CLI_SESSIONS = {"coverage", "durations", "gate", "flaky"}
ENV_VARIABLES = {"TESTGATE"}  # the ones a test sets (test_tox_stages.py)


@dataclass(frozen=True)
class Command:
    line: str
    expect: int | None = None  # the exit status the document states with `echo $?`

    @property
    def parts(self) -> list[list[str]]:
        return [shlex.split(part) for part in self.line.split(" && ")]


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    body: str
    runner: str | None = None  # `<!-- commands run by PATH -->` just above the block

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(CHECKOUT)}:{self.line}"

    @property
    def commands(self) -> list[Command]:
        """The commands this test runs or checks (none when a test of its own runs them)."""
        if self.runner is not None:
            return []
        return self.shown

    @property
    def shown(self) -> list[Command]:
        if self.language == "sh":
            lines = [ln.split("  #", 1)[0].strip() for ln in self.body.splitlines()]
            return [Command(ln) for ln in lines if ln and not ln.startswith("#")]
        if self.language != "console":
            return []
        found: list[Command] = []
        lines = self.body.splitlines()
        for i, text in enumerate(lines):
            if not text.startswith("$ "):
                continue
            line = text[2:].split("  #", 1)[0].strip()
            if line == "echo $?":
                found[-1] = Command(found[-1].line, int(lines[i + 1]))
            else:
                found.append(Command(line))
        return found


FENCE = re.compile(
    r"(?:^<!-- commands run by (?P<runner>\S+) -->\n)?^```(?P<language>\w*)\n(?P<body>.*?)^```",
    re.M | re.S,
)


def blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    return [
        Block(
            document,
            text.count("\n", 0, m.start("language")) + 1,
            m["language"],
            m["body"],
            m["runner"],
        )
        for m in FENCE.finditer(text)
    ]


ALL_BLOCKS = [block for document in DOCUMENTS for block in blocks(document)]
ALL_COMMANDS = [(block, command) for block in ALL_BLOCKS for command in block.commands]


def without_env(argv: list[str]) -> list[str]:
    argv = list(argv)
    while argv and "=" in argv[0]:
        assert argv.pop(0).partition("=")[0] in ENV_VARIABLES, f"{argv}: no test sets it"
    return argv


def kind(argv: list[str]) -> str:
    argv = without_env(argv)
    if argv[0] == "testgate" or argv[:3] == ["python", "-m", "pytest"]:
        return "project"
    if argv[:4] == ["python", "-m", "pip", "install"] or argv[:3] == ["python", "-m", "build"]:
        return "install"
    if argv[0] == "uv" or argv[0].startswith(".venv/bin/"):
        return "develop"
    if argv[0] in ("nox", "tox"):
        return argv[0]
    if argv[:2] == SETUP:
        return "setup"
    if argv[0] == "python" and argv[1].startswith("bench/"):
        return "bench"
    return "unknown"


def kinds(command: Command) -> set[str]:
    return {kind(argv) for argv in command.parts}


# -- every command has a runner -------------------------------------------------------------


def test_documents_show_commands() -> None:
    assert len(ALL_COMMANDS) >= 60
    assert {d.name for d in DOCUMENTS} >= {"README.md", "CONTRIBUTING.md", "index.md", "gate.md"}


def test_every_documented_command_is_run_or_checked() -> None:
    unknown = [f"{b.name}: {c.line}" for b, c in ALL_COMMANDS if "unknown" in kinds(c)]
    assert not unknown, "neither run nor checked by a test (see CONTRIBUTING.md):\n" + "\n".join(
        unknown
    )


def test_blocks_run_by_a_test_of_their_own_name_it(tmp_path: Path) -> None:
    """`<!-- commands run by tests/…/test_x.py -->` above a block: that test reads this
    document (its commands need a project of their own), so this one leaves them alone."""
    sample = tmp_path / "sample.md"
    sample.write_text(
        "<!-- commands run by tests/x.py -->\n```console\n$ testgate gate\n```\n"
        "```console\n$ testgate gate\n```\n",
        encoding="utf-8",
    )
    marked, plain = blocks(sample)
    assert (marked.runner, marked.commands, marked.shown) == ("tests/x.py", [], plain.commands)
    for block in ALL_BLOCKS:
        if block.runner is None:
            continue
        runner = CHECKOUT / block.runner
        document = str(block.document.relative_to(CHECKOUT))
        assert runner.is_file(), f"{block.name}: no {block.runner}"
        assert block.shown, f"{block.name}: no command to run"
        assert document in runner.read_text(encoding="utf-8"), f"{runner} reads no {document}"


# -- nox, tox, ci/setup.sh, bench: checked by the parser that reads them ----------------------


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


def check_bench(argv: list[str]) -> None:
    """Benchmarks run for minutes, by hand: their options must parse."""
    done = subprocess.run(
        [sys.executable, argv[1], "--help"], cwd=CHECKOUT, capture_output=True, text=True,
        check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for option in (arg.split("=")[0] for arg in argv[2:] if arg.startswith("--")):
        assert option in done.stdout, f"{argv[1]} has no option {option}"


CHECKERS = {"nox": check_nox, "tox": check_tox, "bench": check_bench}
CHECKED = [
    pytest.param(argv, id=f"{block.name}:{shlex.join(argv)}")
    for block, command in ALL_COMMANDS
    for argv in command.parts
    if kind(argv) in (*CHECKERS, "setup")
]


@pytest.mark.parametrize("argv", CHECKED)
def test_documented_command_parses(argv: list[str]) -> None:
    argv = without_env(argv)
    if kind(argv) == "setup":
        assert argv == SETUP, "the set-up step .ci/run performs"
    else:
        CHECKERS[kind(argv)](argv)


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    readme = DOCUMENTS[0]
    first = blocks(readme)[0]
    lines = [c.line for c in first.commands]
    assert lines == [
        "bash ci/setup.sh && nox -s gate",
        "bash ci/setup.sh && nox -s unit integration",
    ]
    assert readme.read_text(encoding="utf-8").index("```") < 200  # before anything else
    ci_lines = (CHECKOUT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert lines[1] in ci_lines
    assert "set -euo pipefail" in ci_lines
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 200


# -- testgate and pytest: run for real in the planted project --------------------------------


@pytest.fixture(scope="module")
def docs_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_docs_project(tmp_path_factory.mktemp("docs") / "project")


PROJECT_BLOCKS = [b for b in ALL_BLOCKS if any("project" in kinds(c) for c in b.commands)]


def in_project(argv: list[str]) -> list[str]:
    if argv[0] == "testgate":
        return [sys.executable, "-m", "testgate", *argv[1:]]
    return [sys.executable, *argv[1:]]


@pytest.mark.parametrize("block", PROJECT_BLOCKS, ids=[b.name for b in PROJECT_BLOCKS])
def test_documented_commands_run(block: Block, docs_project: Path, tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(docs_project, root)
    for command in block.commands:
        (argv,) = command.parts
        if kind(argv) != "project":
            continue  # checked above
        done = subprocess.run(
            in_project(argv), cwd=root, env=environment(), capture_output=True, text=True,
            check=False, timeout=600,
        )  # fmt: skip
        said = f"{command.line}\n{done.stdout}{done.stderr}"
        assert "Traceback" not in said
        if command.expect is not None:
            assert done.returncode == command.expect, said
        else:
            assert done.returncode in (0, 1), said
        if argv[:1] == ["testgate"] and "--json" in argv:
            json.loads(done.stdout)


# -- install and set-up lines: run for real in a fresh clone ---------------------------------


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a user gets: the committed tree, nothing of this checkout's build or venvs."""
    dest = tmp_path_factory.mktemp("clone") / "testgate"
    done = subprocess.run(
        ["git", "clone", "--quiet", str(CHECKOUT), str(dest)], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dest


def user_env(venv: Path | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in environment().items()
        if not k.startswith(("COVERAGE_", "VIRTUAL_ENV", "PYTHONPATH", "NOX_"))
    }
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
    return env


def shell(line: str, cwd: Path, venv: Path | None) -> str:
    done = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=user_env(venv), capture_output=True, text=True,
        check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
    return done.stdout


def fresh_venv(path: Path) -> Path:
    """A venv with pip in it, as `python -m venv` makes one (uv's is just faster)."""
    done = subprocess.run(
        ["uv", "venv", "--quiet", "--seed", "-p", sys.executable, str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def installs_testgate(venv: Path) -> None:
    assert shell("testgate --version", venv, venv).strip() == f"testgate {__version__}"


def git_file_url(line: str, clone: Path) -> str:
    """The README's git URL names the repository; tests reach no code host, only the clone."""
    url, n = re.subn(r"git\+https://[^\"\s]+", f"git+file://{clone}", line)
    assert n == 1, line
    return url


def test_readme_install_lines_work(clone: Path, tmp_path: Path) -> None:
    """Each line as shown, in the clone, with `python` a fresh venv's (the build line: ours,
    where the test group put `build`); each venv then runs `testgate --version`."""
    (install,) = (b for b in blocks(DOCUMENTS[0]) if any("install" in kinds(c) for c in b.commands))
    lines = [c.line for c in install.commands]
    assert all(kinds(Command(line)) == {"install"} for line in lines), lines
    venvs: list[Path] = []
    for n, line in enumerate(lines):
        if line.startswith("python -m build"):
            shell(line.replace("python", shlex.quote(sys.executable), 1), clone, None)
            assert list((clone / "dist").glob("testgate-*.whl"))
            continue
        same_source = "[hunt]" in line  # the checkout again, now with the extra
        venv = venvs[-1] if same_source else fresh_venv(tmp_path / f"venv{n}")
        if "git+" in line:
            line = git_file_url(line, clone)
        shell(line, clone, venv)
        installs_testgate(venv)
        if same_source:
            shell("python -c 'import pytest_randomly, pytest_repeat, xdist'", clone, venv)
        venvs.append(venv)
    assert len(set(venvs)) == 3  # a checkout, a wheel, a git URL


def test_contributing_set_up_works(clone: Path) -> None:
    """CONTRIBUTING's development set-up, as shown, in a fresh clone."""
    (setup,) = (b for b in blocks(DOCUMENTS[1]) if any("develop" in kinds(c) for c in b.commands))
    for command in setup.commands:
        assert kinds(command) == {"develop"}, command
        shell(command.line, clone, None)
    installs_testgate(clone / ".venv")


# -- the quickstart noxfile ------------------------------------------------------------------


def test_readme_noxfile_registers_the_sessions(tmp_path: Path) -> None:
    (noxfile,) = (b.body for b in blocks(DOCUMENTS[0]) if b.language == "python")
    assert noxfile == "from testgate.nox import register\n\nregister()\n"
    project = make_project(tmp_path)
    (project / "noxfile.py").write_text(noxfile, encoding="utf-8")
    sessions = listed_sessions(project)
    assert sessions >= {"unit", "integration", "coverage", "durations", "gate", "flaky"}


# -- configuration, JSON shapes, links --------------------------------------------------------

TOML_BLOCKS = [b for b in ALL_BLOCKS if b.language == "toml" and "[tool.testgate" in b.body]


@pytest.mark.parametrize("block", TOML_BLOCKS, ids=[b.name for b in TOML_BLOCKS])
def test_documented_configuration_is_valid(block: Block, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(block.body, encoding="utf-8")
    config = load(tmp_path)
    assert config.source is not None
    assert config.source.resolve() == (tmp_path / "pyproject.toml").resolve()


def test_documented_budgets_are_the_ones_this_repository_keeps() -> None:
    text = (CHECKOUT / "docs" / "configuration.md").read_text(encoding="utf-8")
    own = text.split("## testgate's own budgets\n", 1)[1]
    (shown,) = re.findall(r"^```toml\n(.*?)^```", own, flags=re.MULTILINE | re.DOTALL)
    pyproject = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))
    assert tomllib.loads(shown)["tool"]["testgate"] == pyproject["tool"]["testgate"]


def test_every_check_id_is_documented() -> None:
    reference = (CHECKOUT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for spec in REGISTRY.values():
        shown = f"`{spec.id}:<" if spec.parameter else f"`{spec.id}`"
        assert shown in reference, spec.id


def test_documented_json_parses() -> None:
    shown = [b for b in ALL_BLOCKS if b.language == "json"]
    assert len(shown) >= 4
    for block in shown:
        doc = json.loads(block.body)
        assert doc["meta"]["tool"] == "testgate", block.name


def test_links_point_to_files_and_index_lists_every_page() -> None:
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (document.parent / target).exists(), f"{document.name}: {target}"
    index = (CHECKOUT / "docs" / "index.md").read_text(encoding="utf-8")
    for page in (CHECKOUT / "docs").glob("*.md"):
        assert page.name == "index.md" or f"]({page.name})" in index, page.name
