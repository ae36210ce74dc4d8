from __future__ import annotations

import os
import time
from pathlib import Path

from testgate.checks import Status
from testgate.checks.inputs import check_coverage, check_input, check_junit
from testgate.model import CoverageData, FileCoverage
from testgate.read.inputs import changed_since


def test_junit_inputs() -> None:
    none = check_junit("reports/junit", 0, [])
    assert none.status is Status.FAIL
    assert none.message.startswith("no JUnit files in reports/junit: run the tests first")
    broken = check_junit("reports/junit", 2, ["a.xml: empty file", "b.xml: not JUnit XML"])
    assert broken.status is Status.FAIL
    assert broken.message == "2 JUnit files unreadable: a.xml: empty file (and 1 more)"
    assert broken.details == ("a.xml: empty file", "b.xml: not JUnit XML")
    one = check_junit("reports/junit", 1, ["a.xml: empty file"])
    assert one.message == "1 JUnit file unreadable: a.xml: empty file"
    assert check_junit("reports/junit", 3, []).status is Status.PASS


def test_coverage_inputs_fresh_stale_missing() -> None:
    assert check_coverage("no data").status is Status.FAIL
    fresh = check_coverage(None, source="reports/coverage.json", written=100.0, run_started=101.0)
    assert fresh.status is Status.PASS
    stale = check_coverage(None, source="reports/coverage.json", written=100.0, run_started=3700.0)
    assert stale.status is Status.FAIL
    assert stale.message.startswith(
        "reports/coverage.json: stale, written 1:00:00 before the latest test run started"
    )
    assert check_coverage(None, source="x", written=1.0, run_started=None).passed


def test_other_inputs() -> None:
    assert check_input("inputs.flaky", "bad json", "").status is Status.FAIL
    assert check_input("inputs.flaky", None, "read").status is Status.PASS


def test_sources_changed_since_measuring_are_counted() -> None:
    check = check_coverage(
        None, source="reports/coverage/.coverage.unit", changed=["src/a.py", "src/b.py"]
    )
    assert check.status is Status.FAIL
    assert check.message.startswith(
        "src/a.py changed after its coverage was measured (reports/coverage/.coverage.unit), "
        "and 1 more file; "
    )


def test_changed_since_compares_mtimes_and_passes_over_vanished_files(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "new.py").write_text("x = 2\n", encoding="utf-8")
    written = time.time()
    os.utime(tmp_path / "old.py", (written - 100, written - 100))
    os.utime(tmp_path / "new.py", (written + 100, written + 100))
    data = CoverageData(
        files={name: FileCoverage(name, 1) for name in ("gone.py", "new.py", "old.py")}
    )
    assert changed_since(data, tmp_path, written) == ["new.py"]
