from __future__ import annotations

import pytest

from testgate.checks import Status
from testgate.checks._common import glob_match, plural, specificity
from testgate.checks.coverage import (
    check_branches,
    check_coverage,
    check_drop,
    check_modules,
    check_total,
    check_zero,
)
from testgate.config import CoverageBudget
from testgate.model import CoverageData, FileCoverage
from testgate.model.gate import CoverageBaseline


def fc(path: str, statements: int, missing: int, branches: int = 0, mb: int = 0) -> FileCoverage:
    return FileCoverage(
        path,
        statements,
        missing_lines=tuple(range(1, missing + 1)),
        branches=branches,
        missing_branches=tuple((n, n + 1) for n in range(1, mb + 1)),
    )


def data(*files: FileCoverage, precision: int = 2, branches: bool = False) -> CoverageData:
    return CoverageData({f.path: f for f in files}, precision=precision, has_branches=branches)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("src/pkg/core/*", "src/pkg/core/a.py", True),
        ("src/pkg/core/*", "src/pkg/core/sub/a.py", False),
        ("src/pkg/**", "src/pkg/core/sub/a.py", True),
        ("src/**/a.py", "src/a.py", True),
        ("src/**/a.py", "src/x/y/a.py", True),
        ("src/?.py", "src/a.py", True),
        ("src/?.py", "src/ab.py", False),
        ("src/a+b.py", "src/a+b.py", True),
    ],
)
def test_globs(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches


def test_specificity_prefers_literal_then_fewer_wildcards() -> None:
    assert specificity("tests/unit/slow/*") > specificity("tests/unit/**")
    assert specificity("tests/unit/*.py") > specificity("tests/unit/**.py")


def test_plural() -> None:
    assert plural(1, "branch") == "1 branch"
    assert plural(2, "branch") == "2 branches"
    assert plural(0, "file") == "0 files"


def test_total_passes_and_fails_like_coverage_py() -> None:
    cov = data(fc("a.py", 10000, 2157))  # 78.43%
    failed = check_total(cov, 80)
    assert failed.status is Status.FAIL
    assert (failed.actual, failed.limit) == (78.43, 80)
    assert failed.message.startswith("total coverage 78.43% is below the minimum 80%")
    assert failed.details == ("a.py: 78.43% (2157 lines missing)",)
    assert check_total(cov, 78.43).status is Status.PASS
    assert "total coverage 78.43% (minimum 78%)" in check_total(cov, 78).message


def test_total_rounds_with_precision_as_coverage_py() -> None:
    cov = data(fc("a.py", 1000, 201), precision=0)  # 79.9% shows as 80
    assert check_total(cov, 80).status is Status.PASS
    assert check_total(cov, 80).actual == 80.0
    assert check_total(data(fc("a.py", 1000, 201), precision=1), 80).status is Status.FAIL


def test_fail_under_100_needs_really_100() -> None:
    cov = data(fc("a.py", 100000, 1), precision=2)  # 99.999% displays as 99.99
    result = check_total(cov, 100)
    assert result.status is Status.FAIL
    assert result.actual == 99.99
    assert check_total(data(fc("a.py", 10, 0)), 100).status is Status.PASS


def test_branches() -> None:
    cov = data(fc("a.py", 10, 0, branches=10, mb=4), fc("b.py", 10, 0, 10, 1), branches=True)
    result = check_branches(cov, 80)
    assert result.status is Status.FAIL
    assert result.actual == 75.0
    assert "(5 of 20 branches never taken)" in result.message
    assert result.details == ("a.py: 4 branches never taken", "b.py: 1 branch never taken")
    assert check_branches(cov, 75).status is Status.PASS


def test_branches_without_branch_data_fail() -> None:
    result = check_branches(data(fc("a.py", 10, 0)), 50)
    assert result.status is Status.FAIL
    assert "branch = true" in result.message


def test_modules_aggregate_files_not_average() -> None:
    cov = data(
        fc("src/pkg/core/router.py", 50, 28),  # 44%
        fc("src/pkg/core/app.py", 200, 2),  # 99%
        fc("src/pkg/other.py", 10, 10),
    )
    [result] = check_modules(cov, {"src/pkg/core/*": 95})
    assert result.id == "coverage.modules:src/pkg/core/*"
    assert result.status is Status.FAIL
    assert result.actual == 88.0  # 220/250, not the mean of 44 and 99
    assert result.message == (
        "src/pkg/core/*: 88.00% is below the module minimum 95% "
        "(2 files; worst: src/pkg/core/router.py 44.0%)"
    )
    assert result.details == ("src/pkg/core/app.py: 99.00%", "src/pkg/core/router.py: 44.00%")
    [wide] = check_modules(cov, {"src/pkg/**": 85})
    assert wide.status is Status.FAIL
    assert wide.actual == 84.62
    assert len(wide.details) == 3
    [ok] = check_modules(cov, {"src/pkg/core/*": 88})
    assert ok.status is Status.PASS
    assert ok.details


def test_module_glob_matching_nothing_fails() -> None:
    [result] = check_modules(data(fc("a.py", 1, 0)), {"src/nope/*": 50})
    assert result.status is Status.FAIL
    assert "matches no measured file" in result.message


def test_zero_files_warn() -> None:
    cov = data(fc("a.py", 10, 10), fc("b.py", 10, 0), fc("empty.py", 0, 0))
    result = check_zero(cov)
    assert result.status is Status.WARN
    assert result.details == ("a.py",)
    assert "1 file at 0%: no test imports it; test it, delete it, or omit it" in result.message
    two = check_zero(data(fc("a.py", 1, 1), fc("c.py", 1, 1)))
    assert "2 files at 0%: no test imports them; test them" in two.message
    assert check_zero(data(fc("b.py", 10, 0))).status is Status.PASS


def baseline(pc: float, files: dict[str, tuple[int, int]] | None) -> CoverageBaseline:
    return CoverageBaseline(pc, files, "old/coverage.json")


def test_drop_within_limit_passes() -> None:
    cov = data(fc("a.py", 100, 10))
    result = check_drop(cov, baseline(90.3, {"a.py": (100, 7)}), 0.5)
    assert result.status is Status.PASS
    assert result.actual == pytest.approx(0.3)


def test_drop_with_more_uncovered_lines_fails() -> None:
    cov = data(fc("a.py", 100, 20))
    result = check_drop(cov, baseline(90.0, {"a.py": (100, 10)}), 0.5)
    assert result.status is Status.FAIL
    assert result.actual == 10.0
    assert "coverage dropped 10 points, from 90% in old/coverage.json to 80%" in result.message
    assert "10 more uncovered lines" in result.message
    assert result.details == ("a.py: 10 -> 20 uncovered lines",)


def test_deleting_covered_code_is_not_punished() -> None:
    # Before: 100 statements, 10 missing (90%). 50 covered lines deleted: 50, 10 missing (80%).
    cov = data(fc("a.py", 50, 10))
    result = check_drop(cov, baseline(90.0, {"a.py": (100, 10)}), 0.5)
    assert result.status is Status.PASS
    assert "no line lost its coverage" in result.message


def test_moving_uncovered_code_between_files_is_not_punished() -> None:
    cov = data(fc("a.py", 45, 5), fc("b.py", 5, 5))
    result = check_drop(cov, baseline(90.0, {"a.py": (100, 10)}), 0.5)
    assert result.status is Status.PASS
    assert result.details == ("b.py: 0 -> 5 uncovered lines",)


def test_removed_files_count_in_the_uncovered_total() -> None:
    cov = data(fc("a.py", 100, 12))
    old = baseline(95.0, {"a.py": (100, 10), "gone.py": (20, 5)})
    assert check_drop(cov, old, 0.5).status is Status.PASS


def test_drop_without_per_file_baseline_judges_the_percentage() -> None:
    cov = data(fc("a.py", 100, 10))
    assert check_drop(cov, baseline(91.0, None), 0.5).status is Status.FAIL
    assert check_drop(cov, baseline(90.5, None), 0.5).status is Status.PASS


def test_drop_without_baseline_warns() -> None:
    result = check_drop(data(fc("a.py", 1, 0)), None, 0.5)
    assert result.status is Status.WARN
    assert "--baseline PATH" in result.message


def test_check_coverage_runs_what_is_configured() -> None:
    cov = data(fc("src/a.py", 10, 1, 4, 1), branches=True)
    budget = CoverageBudget(
        fail_under=80, fail_under_branches=70, modules={"src/*": 50}, max_drop=1.0
    )
    ids = [r.id for r in check_coverage(cov, budget, None)]
    assert ids == [
        "coverage.total",
        "coverage.branches",
        "coverage.modules:src/*",
        "coverage.zero",
        "coverage.max_drop",
    ]
    # without budgets the gate still shows the coverage it read, as rows that cannot fail
    unbudgeted = check_coverage(cov, CoverageBudget())
    assert [(r.id, r.status, r.actual, r.limit) for r in unbudgeted] == [
        ("coverage.total", Status.PASS, 85.71, None),
        ("coverage.branches", Status.PASS, 75.0, None),
        ("coverage.zero", Status.PASS, 0, 0),
    ]
    assert unbudgeted[0].message == "total coverage 85.71% (no minimum set)"
    lines_only = check_coverage(data(fc("src/a.py", 10, 1)), CoverageBudget())
    assert [r.id for r in lines_only] == ["coverage.total", "coverage.zero"]


def test_drop_with_a_baseline_lacking_coverage_fails() -> None:
    result = check_drop(data(fc("a.py", 1, 0)), None, 0.5, given="old/reports")
    assert result.status is Status.FAIL
    assert result.message.startswith("baseline old/reports has no coverage to compare with")
