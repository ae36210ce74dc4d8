"""testgate's own sessions: the same `testgate.nox` sessions any project registers, plus ours.

nox imports this file with its own interpreter, where testgate is not installed: `src/` goes on
sys.path so the sessions are the checkout's own code (dogfooding, no install step, no second
venv). testgate.nox imports nox, the standard library and testgate's config reader: nothing
to install. A PEP 723 block would make nox build and re-enter a venv just to read this file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

from testgate.nox import Project, register  # noqa: E402 - needs the sys.path entry above

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["unit", "integration", "coverage", "durations", "gate"]

# testgate is the project under test here: the tool sessions install this checkout.
# It reads coverage data with coverage.py's API, in xdist workers and `testgate` subprocesses.
register(Project(testgate=("-e", "."), uses_coverage_api=True), venv_backend=None)

CORPUS = ROOT.parent / "shared" / "junit-corpus"


@nox.session(reuse_venv=True)
def corpus(session: nox.Session) -> None:
    """Read every file of ../shared/junit-corpus: read, refused as expected, refused wrongly."""
    if not CORPUS.is_dir():
        session.skip(f"no JUnit corpus at {CORPUS}: nothing to read")
    session.install("-e", ".")
    session.run("python", "tests/corpus/run_corpus.py", str(CORPUS), *session.posargs)


@nox.session(reuse_venv=True)
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy strict and the import contracts ([tool.importlinter])."""
    session.install("-e", ".", "--group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")
