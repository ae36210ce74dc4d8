"""`nox -s lint` runs the import contracts of pyproject.toml: a planted cycle fails them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        CHECKOUT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(CHECKOUT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"{LINT_IMPORTS} missing: install the test group (import-linter)")
    return _copy(tmp_path)


def test_the_tree_keeps_its_contracts(tree: Path) -> None:
    done = _lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "planted", "importer", "imported"),
    [
        # the model imports the gate, which imports the model: a cycle across layers
        ("model/__init__.py", "from testgate import gate", "testgate.model", "testgate.gate"),
        # the renderer reads the history again (the cycle this layering removed)
        ("render/html.py", "from testgate.history import queries", "testgate.render",
         "testgate.history"),
        # a check runs git itself
        ("checks/coverage.py", "import subprocess", "testgate.checks", "subprocess"),
    ],
)  # fmt: skip
def test_a_planted_import_breaks_the_contracts(
    tree: Path, module: str, planted: str, importer: str, imported: str
) -> None:
    path = tree / "src" / "testgate" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{planted}  # noqa\n", encoding="utf-8")
    done = _lint(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{importer} is not allowed to import {imported}" in done.stdout
    assert "BROKEN" in done.stdout
