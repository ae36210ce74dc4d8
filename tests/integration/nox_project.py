"""A second, small project on disk that uses testgate's sessions the way a user's would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def readme_block(language: str) -> list[str]:
    """The bodies of README.md's fenced blocks in `language`: what its quickstart shows."""
    text = (CHECKOUT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


# The whole noxfile a project needs, exactly as README.md shows it (so the README cannot drift
# from what the tests run): the sessions install testgate from wherever the nox running them
# got it (here: this checkout, editable).
(NOXFILE,) = readme_block("python")

PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "sample"
version = "0.1"
requires-python = ">=3.10"

[project.scripts]
sample = "sample:main"

[dependency-groups]
test = ["pytest>=8"]

[tool.pytest.ini_options]
addopts = ["--strict-markers"]
filterwarnings = ["error"]

[tool.coverage.run]
branch = true
parallel = true
relative_files = true
source = ["sample"]
patch = ["subprocess"]
"""

SAMPLE = """\
from __future__ import annotations

import sys


def parse(text: str) -> int:
    if text.startswith("-"):
        return -int(text[1:])
    return int(text)


def main() -> int:
    if len(sys.argv) > 1:
        print(parse(sys.argv[1]) * 2)
        return 0
    return 2
"""

UNIT_TESTS = """\
from sample import parse


def test_parse_positive():
    assert parse("4") == 4


def test_parse_negative():
    assert parse("-4") == -4


def test_other():
    assert parse("0") == 0
"""

# Only a subprocess reaches main(): its coverage counts only when subprocesses are measured.
INTEGRATION_TESTS = """\
import subprocess
import sys


def test_cli_doubles():
    out = subprocess.run([sys.executable, "-c", "import sys, sample; sys.argv[1:] = ['21'];"
                          " sys.exit(sample.main())"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "42"


def test_cli_needs_an_argument():
    done = subprocess.run([sys.executable, "-c", "import sys, sample; sys.exit(sample.main())"])
    assert done.returncode == 2
"""


def write_files(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def make_project(root: Path) -> Path:
    files = {
        "pyproject.toml": PYPROJECT,
        "noxfile.py": NOXFILE,
        "src/sample/__init__.py": SAMPLE,
        "tests/unit/test_sample.py": UNIT_TESTS,
        "tests/integration/test_cli.py": INTEGRATION_TESTS,
    }
    return write_files(root, files)


def nested_env(**extra: str) -> dict[str, str]:
    """The environment for a nox/tox run inside a test.

    The outer coverage configuration stays (so testgate.nox, imported by the nested nox
    process, is measured); the sessions themselves drop it for what they run.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOX_", "PYTEST_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    returncode: int
    output: str


def run(argv: list[str], cwd: Path, **env: str) -> Run:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=nested_env(**env),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    return Run(tuple(argv), done.returncode, done.stdout + done.stderr)


def nox(cwd: Path, *args: str, **env: str) -> Run:
    return run([sys.executable, "-m", "nox", *args], cwd, **env)
