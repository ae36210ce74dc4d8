"""`testgate junit` as users run it: a separate process, no traceback, the exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_console_script_reports_missing_files_without_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "testgate", "junit", str(tmp_path / "nope.xml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot be read (No such file or directory)" in done.stdout
    assert done.stderr == "testgate: 1 of 1 file(s) could not be read\n"
