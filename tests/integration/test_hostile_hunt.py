"""One hunt per reports folder, and a killed hunt takes its pytest processes with it (issue 15).

Before: a second hunt on the same reports/ ran and mixed its iterations into the first one's
(wrong flake rates), and `kill -9` of a hunt left its pytest running, overlapping `--resume`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from hostile_project import clean_env

WAITING_TEST = """\
import os
import pathlib
import time


def test_waits():
    pathlib.Path("pytest.pid").write_text(str(os.getpid()))
    while pathlib.Path("block").exists():
        time.sleep(0.05)
"""


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaps yet has finished: it counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def flaky(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "testgate",
        "flaky",
        "--count",
        "1",
        "--jobs",
        "1",
        "--no-classify",
        *args,
    ]


def test_one_hunt_per_reports_folder_and_killed_hunts_leave_no_pytest(tmp_path: Path) -> None:
    root = tmp_path
    (root / "tests").mkdir()
    (root / "tests" / "test_wait.py").write_text(WAITING_TEST, encoding="utf-8")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    (root / "block").touch()
    first = subprocess.Popen(
        flaky(), cwd=root, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not (root / "pytest.pid").exists():
            assert time.monotonic() < deadline, "the first hunt's pytest never started"
            assert first.poll() is None, "the first hunt ended early"
            time.sleep(0.05)
        child = int((root / "pytest.pid").read_text())

        second = subprocess.run(
            flaky(),
            cwd=root,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1
        assert second.stderr.startswith(
            f"testgate: {root}/reports: another flake hunt is running here "
            f"(pid {first.pid} on {socket.gethostname()}, started "
        )
        assert alive(child)

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        deadline = time.monotonic() + 30
        while alive(child):
            assert time.monotonic() < deadline, "the killed hunt's pytest kept running"
            time.sleep(0.05)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()

    (root / "block").unlink()
    resumed = subprocess.run(
        flaky("--resume"),
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"testgate flaky: took over the stale lock of a killed hunt (pid {first.pid} on "
        f"{socket.gethostname()}, started "
    ) in resumed.stderr
    assert "no longer running)" in resumed.stderr
    assert not (root / "reports" / ".testgate-hunt.lock").exists()
