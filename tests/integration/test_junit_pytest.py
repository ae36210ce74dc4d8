"""JUnit files written by real pytest runs (in-process, via pytester), read back by testgate.

Each run's totals are checked against pytest's own summary line: that is the contract users see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testgate.model import Outcome
from testgate.read.junit import read_junit

pytest_plugins = ("pytester",)

PROJECT = {
    "tests/a/test_util.py": """
import pytest

def test_parse():
    pass

@pytest.mark.xfail(reason="known")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="lenient")
def test_xpass():
    pass

@pytest.mark.xfail(reason="strict", strict=True)
def test_xpass_strict():
    pass

@pytest.mark.skip(reason="not today")
def test_skip():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup")

def test_setup_error(broken):
    pass

@pytest.fixture
def dirty():
    yield
    raise RuntimeError("teardown")

def test_fails_then_teardown_error(dirty):
    assert 0

class TestGroup:
    class TestInner:
        def test_deep(self):
            pass

    @pytest.mark.parametrize(("a", "b"), [(1, 2), (2, 3)])
    def test_pairs(self, a, b):
        assert a < b
""",
    "tests/b/test_util.py": """
def test_parse():
    pass
""",
    "tests/c/test_broken.py": "import no_such_module_anywhere\n",
}


@pytest.fixture(autouse=True)
def _bare_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the plugins a run names: importing every installed one costs seconds per run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    for name, source in PROJECT.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return pytester.path


def _run(pytester: pytest.Pytester, family: str, *args: str) -> tuple[Path, dict[str, int]]:
    xml = pytester.path / f"{family}.xml"
    result = pytester.runpytest(
        "--import-mode=importlib",
        "--continue-on-collection-errors",
        f"--junitxml={xml}",
        "-o",
        f"junit_family={family}",
        *args,
    )
    return xml, result.parseoutcomes()


def _against_summary(report_totals: dict[str, int], summary: dict[str, int]) -> None:
    """pytest counts xfailed apart from skipped, as we do; xpassed counts as passed."""
    assert report_totals == {
        "tests": sum(summary.values()),
        "passed": summary.get("passed", 0) + summary.get("xpassed", 0),
        "failed": summary.get("failed", 0),
        "errors": summary.get("errors", 0),
        "skipped": summary.get("skipped", 0),
        "xfailed": summary.get("xfailed", 0),
    }


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_totals_and_node_ids_match_pytest(
    pytester: pytest.Pytester, project: Path, family: str
) -> None:
    xml, summary = _run(pytester, family)
    report = read_junit(xml, root=project)
    _against_summary(report.totals.as_dict(), summary)
    assert report.producer == "pytest"
    assert report.timestamp is not None
    assert report.time is not None
    ids = {c.node_id: c.outcome for c in report.cases}
    assert ids["tests/a/test_util.py::test_parse"] is Outcome.PASSED
    assert ids["tests/b/test_util.py::test_parse"] is Outcome.PASSED
    assert ids["tests/a/test_util.py::TestGroup::TestInner::test_deep"] is Outcome.PASSED
    assert ids["tests/a/test_util.py::TestGroup::test_pairs[1-2]"] is Outcome.PASSED
    assert ids["tests/a/test_util.py::TestGroup::test_pairs[2-3]"] is Outcome.PASSED
    assert ids["tests/a/test_util.py::test_xfail"] is Outcome.XFAILED
    assert ids["tests/a/test_util.py::test_xpass"] is Outcome.PASSED
    assert ids["tests/a/test_util.py::test_xpass_strict"] is Outcome.FAILED
    assert ids["tests/a/test_util.py::test_skip"] is Outcome.SKIPPED
    assert ids["tests/a/test_util.py::test_setup_error"] is Outcome.ERROR
    assert ids["tests/c/test_broken.py"] is Outcome.ERROR  # a collection error: the module
    teardown = [c for c in report.cases if c.name == "test_fails_then_teardown_error"]
    assert [c.outcome for c in teardown] == [Outcome.FAILED, Outcome.ERROR]
    assert all(c.repetition is None for c in report.cases)
    # Without a root, pytest's test-file naming (test_*.py) finds the same ids.
    assert {c.node_id for c in read_junit(xml).cases} == set(ids)


def test_pytest_repeat_suffixes_become_repetitions(
    pytester: pytest.Pytester, project: Path
) -> None:
    xml, summary = _run(pytester, "xunit1", "-p", "pytest_repeat", "--count", "3")
    report = read_junit(xml, root=project)
    _against_summary(report.totals.as_dict(), summary)
    pairs = [c for c in report.cases if c.name == "test_pairs[1-2]"]
    assert sorted(c.repetition for c in pairs if c.repetition) == [1, 2, 3]
    assert {c.node_id for c in pairs} == {"tests/a/test_util.py::TestGroup::test_pairs[1-2]"}
    parse = [c for c in report.cases if c.node_id == "tests/b/test_util.py::test_parse"]
    assert sorted(c.repetition for c in parse if c.repetition) == [1, 2, 3]
    teardown = [c for c in report.cases if c.name == "test_fails_then_teardown_error"]
    assert len(teardown) == 6
    assert {c.repetition for c in teardown} == {1, 2, 3}
