"""ci/tox.toml run by real tox in a second project: the same stages as the nox sessions."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from nox_project import CHECKOUT, make_project, run

pytestmark = pytest.mark.slow

# The command the README shows (with the stages this test can check on a tiny project).
TOX_COMMAND = ("tox", "-c", "ci/tox.toml", "--root", ".", "-e", "unit,integration,coverage")


def test_tox_stages_write_the_same_reports(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    (project / "ci").mkdir()
    shutil.copy(CHECKOUT / "ci" / "tox.toml", project / "ci" / "tox.toml")
    argv = [sys.executable, "-m", *TOX_COMMAND]
    done = run(argv, project, TESTGATE=f"-e {CHECKOUT}")
    assert done.returncode == 0, done.output
    reports = project / "reports"
    cases = [c.attrib["name"] for c in ET.parse(reports / "junit" / "unit.xml").iter("testcase")]  # noqa: S314 - our own pytest output
    assert sorted(cases) == ["test_other", "test_parse_negative", "test_parse_positive"]
    assert (reports / "junit" / "integration.xml").is_file()
    totals = json.loads((reports / "coverage.json").read_text())["totals"]
    # unit covers parse(), the integration subprocesses main(): both measured, combined
    assert totals["percent_covered"] == 100
