from __future__ import annotations

from testgate.checks import Status
from testgate.checks.diff import Diff, Parsed, check_diff, diff_error
from testgate.model import CoverageData, FileCoverage
from testgate.read.diff import parse_unified

UNIFIED = """\
diff --git a/src/a.py b/src/a.py
index 1..2 100644
--- a/src/a.py
+++ b/src/a.py
@@ -3,0 +4,3 @@ def f():
+    x = 1
+    y = 2
+    return x
@@ -10 +13 @@
-old
+new
diff --git a/gone.py b/gone.py
--- a/gone.py
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
@@ -1 +1 @@
diff --git a/src/b.py b/src/b.py
--- a/src/b.py
+++ b/src/b.py
@@ -5,2 +5,0 @@
-deleted
-lines
"""


def test_parse_unified_takes_new_side_lines() -> None:
    assert parse_unified(UNIFIED) == {"src/a.py": {4, 5, 6, 13}, "src/b.py": set()}


def cov(branches: bool = False) -> CoverageData:
    a = FileCoverage(
        "src/a.py",
        statements=6,
        missing_lines=(5, 6),
        branches=2,
        missing_branches=((4, 9),),
        executable_lines=frozenset({1, 2, 4, 5, 6, 13}),
    )
    return CoverageData({"src/a.py": a}, precision=1, has_branches=branches)


def diff(lines: dict[str, frozenset[int]]) -> Diff:
    return Diff("origin/main", "0123456789abcdef", lines)


def test_diff_lines_only() -> None:
    changed = diff({"src/a.py": frozenset({3, 4, 5, 6, 13}), "README.md": frozenset({1})})
    result = check_diff(cov(), changed, 80)
    assert result.id == "coverage.diff"
    assert result.status is Status.FAIL
    assert result.actual == 50.0  # 4 and 13 covered, 5 and 6 not; 3 is not executable
    assert "diff coverage 50.0% of 4 changed lines against origin/main (0123456789)" in (
        result.message
    )
    assert result.details == ("src/a.py: lines 5-6; branch 4->9",)
    assert [(a.file, a.line) for a in result.annotations] == [("src/a.py", 5), ("src/a.py", 4)]
    assert result.annotations[0].message == "lines 5-6 changed but not covered by tests"
    assert check_diff(cov(), changed, 50).status is Status.PASS


def test_diff_branches_count_with_parsed_exits() -> None:
    changed = diff({"src/a.py": frozenset({4, 13})})
    parsed: Parsed = {"src/a.py": (frozenset(), {4: 2})}
    result = check_diff(cov(branches=True), changed, 90, parsed)
    # 2 lines covered, branches from line 4: 2, one taken -> (2 + 1) / (2 + 2)
    assert result.actual == 75.0
    assert "of 2 changed lines and 2 branches" in result.message
    assert result.annotations[0].message == "branch 4->9 changed but never taken by tests"


def test_diff_exit_arcs_and_missing_parse() -> None:
    data = CoverageData(
        {
            "a.py": FileCoverage(
                "a.py",
                2,
                (),
                branches=2,
                missing_branches=((1, -1),),
                executable_lines=frozenset({1, 2}),
            )
        },
        has_branches=True,
    )
    result = check_diff(data, diff({"a.py": frozenset({1})}), 100)
    assert result.status is Status.FAIL
    assert result.details == ("a.py: branch 1->exit",)
    assert result.actual == 67  # 1 line + 1 of 2 branches, precision 0


def test_executable_lines_from_parser_when_reader_has_none() -> None:
    data = CoverageData({"a.py": FileCoverage("a.py", 3, (2,))})
    parsed: Parsed = {"a.py": (frozenset({1, 2, 3}), {})}
    result = check_diff(data, diff({"a.py": frozenset({1, 2, 3, 4})}), 50, parsed)
    assert result.actual == 67
    assert result.status is Status.PASS


def test_no_changed_executable_line_passes() -> None:
    result = check_diff(cov(), diff({"docs/x.md": frozenset({1})}), 90)
    assert result.status is Status.PASS
    assert result.message.startswith("no changed executable line against origin/main")


def test_diff_error() -> None:
    result = diff_error("diff coverage: no base", 90)
    assert (result.status, result.limit) == (Status.FAIL, 90)


def test_odd_hunk_headers_are_skipped() -> None:
    text = "+++ b/a.py\n@@@ -1,2 -1,2 +1,3 @@@\n@@ -1 +1 @@\n"
    assert parse_unified(text) == {"a.py": {1}}


def test_fully_covered_changes_list_nothing() -> None:
    changed = diff({"src/a.py": frozenset({1, 2})})
    result = check_diff(cov(), changed, 90)
    assert (result.status, result.actual, result.details) == (Status.PASS, 100.0, ())
