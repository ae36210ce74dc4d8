"""reports/index.html in a real browser: headless Chromium renders the verdict and the charts
with no console error (script errors and blocked network requests both log one), and leaves
a screenshot next to the report. Chromium missing is a failure, not a skip: CI installs it
with ci/install-browser.sh."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from history_project import make_project
from lxml import etree

from testgate.checks import CheckResult, GateResult, Status
from testgate.history import view
from testgate.model.flaky import FlakyReport
from testgate.render.badges import write_badges
from testgate.render.html import write_html_report

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught|Refused to|violates the following|net::ERR_")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: run ci/install-browser.sh (apt-get install chromium)")


def browse(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def test_console_capture_sees_errors(tmp_path: Path) -> None:
    """The control: the capture used below does catch a script error and a blocked fetch."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><head>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "script-src 'unsafe-inline'\"></head><body><p>x</p>"
        "<img src='https://example.invalid/x.png'>"
        "<script>console.error('planted'); notDefined();</script></body></html>"
    )
    done = browse(page, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    errors = "\n".join(console_errors(done.stderr))
    assert "planted" in errors
    assert "notDefined" in errors
    assert "example.invalid" in errors  # blocked by the Content-Security-Policy


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_report_renders_in_chromium(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj")
    env = {"SHARED_LOCK": str(tmp_path / "lock")}
    project.gate_run(env=env)
    project.write("src/calc.py", (project.root / "src/calc.py").read_text()
                  + "\n\ndef mul(a, b):\n    return a * b\n")  # fmt: skip
    project.commit("mul")
    project.gate_run(env=env)
    (tmp_path / "lock").touch()  # the shared resource is busy: one test fails
    project.gate_run(env=env)
    report, coverage = project.test_run(env)
    pc = coverage.totals.percent
    result = GateResult(
        (
            CheckResult("coverage.total", Status.FAIL, f"total coverage {pc:.2f}% is below the "
                        "minimum 95%", round(pc, 2), 95.0),
            CheckResult("coverage.modules:src/*", Status.PASS, "src/* ok", round(pc, 2), 50.0),
            CheckResult("tests.failed", Status.FAIL, "1 test failed", 1, 0),
        )
    )  # fmt: skip
    flaky = FlakyReport.from_json({
        "meta": {"format": 1, "count": 10},
        "runs": [],
        "tests": [
            {"id": "tests/test_calc.py::test_shared_state", "runs": 10, "passed": 7,
             "failed": 3, "verdict": "flaky", "kind": "non-deterministic", "flake_rate": 0.3,
             "interval": [0.11, 0.6], "polluter": None, "state_setter": None,
             "repro": "python -m pytest -p randomly --randomly-seed=7 "
                      "tests/test_calc.py::test_shared_state"},
        ],
    })  # fmt: skip
    index = write_html_report(
        project.reports / "index.html",
        result=result,
        reports=[report],
        coverage=coverage,
        flaky=flaky,
        history=view(project.db),
    )
    badges = write_badges(
        project.reports / "badges", result=result, reports=[report], coverage=coverage, flaky=flaky
    )

    done = browse(index, tmp_path / "profile-dom", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    dom: Any = etree.HTML(done.stdout.encode())
    assert dom.get("data-js") == "ready"  # the sorting script ran to its end
    verdict = "".join(dom.xpath("//section[@id='verdict']")[0].itertext())
    assert "FAILED" in verdict
    assert [t.text for t in dom.xpath("//svg[contains(@class, 'trend')]/title")] == [
        "Coverage", "Suite time", "Flaky tests",
    ]  # fmt: skip
    assert dom.xpath("//svg[contains(@class, 'histogram')]")
    assert len(dom.xpath("//svg[@class='meter']")) >= 2
    assert "tests/test_calc.py::test_shared_state" in done.stdout

    shot = project.reports / "index.png"
    done = browse(
        index, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2200"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    assert _png_size(shot) == (1280, 2200)
    assert shot.stat().st_size > 50_000  # a rendered page, not a blank one

    for badge in badges:
        done = browse(badge, tmp_path / f"profile-{badge.stem}", "--dump-dom")
        assert done.returncode == 0, done.stderr[-2000:]
        assert console_errors(done.stderr) == []
        assert "<svg" in done.stdout
