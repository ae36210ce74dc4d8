"""A tiny project with a reports/ folder, and `testgate` run on it as a separate process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

CASE = '<testcase classname="tests.test_a" name="{name}" time="{time}"{extra}/>'
TEST_MODULE = (
    "import pytest\n\n\ndef test_fast():\n    pass\n\n\n"
    '@pytest.mark.parametrize("p", ["a::b"])\ndef test_param(p):\n    pass\n'
)


def case(name: str = "test_fast", time: str = "0.01", extra: str = "") -> str:
    return CASE.format(name=name, time=time, extra=extra)


def junit(reports: Path, *cases: str, name: str = "unit.xml") -> Path:
    path = reports / "junit" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<testsuite name="pytest">{"".join(cases)}</testsuite>', encoding="utf-8")
    return path


def make_project(root: Path, toml: str = "") -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_a.py").write_text(TEST_MODULE, encoding="utf-8")
    (root / "pyproject.toml").write_text(toml, encoding="utf-8")
    return root


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.pop("NO_COLOR", None)
    return {**env, **(extra or {})}


def run_testgate(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    preexec: Callable[[], None] | None = None,
    prefix: tuple[str, ...] = (),
    measured: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`testgate ARGS` in `cwd`; a hang fails the test through TimeoutExpired.

    `measured=False` keeps coverage.py (started in every subprocess under the nox sessions) out
    of the child: under a tiny file-size limit its own data file cannot be written, and its
    traceback at exit would be blamed on testgate.
    """
    environ = clean_env(env)
    if not measured:
        environ = {k: v for k, v in environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "testgate", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=timeout,
        preexec_fn=preexec,
        check=False,
    )


def one_line(stderr: str) -> bool:
    return "Traceback" not in stderr and stderr.count("\n") == 1
