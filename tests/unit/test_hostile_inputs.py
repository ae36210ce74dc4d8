"""Hostile artifacts read by the gate (issue 15): every read is of a regular file, size-capped,
inside the project unless named, and every number in it bounded; never a hang or a traceback.

In-process and fast; the subprocess versions (a FIFO that would hang a real process, memory and
time limits) are in tests/integration/test_hostile_cli.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from testgate import _safeio as safeio
from testgate.checks import Status
from testgate.cli import main
from testgate.config import load
from testgate.errors import ConfigError, InputError
from testgate.gate import evaluate
from testgate.read.coverage import read_coverage
from testgate.read.junit import read_junit

CASE = '<testcase classname="tests.test_a" name="{name}" time="{time}"{extra}/>'


def junit(reports: Path, *cases: str, name: str = "unit.xml") -> Path:
    path = reports / "junit" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<testsuite name="pytest">{"".join(cases)}</testsuite>', encoding="utf-8")
    return path


def case(name: str = "test_fast", time: str = "0.01", extra: str = "") -> str:
    return CASE.format(name=name, time=time, extra=extra)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "import pytest\n\n\ndef test_fast():\n    pass\n\n\n"
        '@pytest.mark.parametrize("p", ["a::b"])\ndef test_param(p):\n    pass\n',
        encoding="utf-8",
    )
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    return tmp_path


def checks(root: Path) -> dict[str, tuple[Status, str]]:
    return {c.id: (c.status, c.message) for c in evaluate(load(root)).result.checks}


# --- the safe open ---------------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match=r"pipe: a FIFO, not a regular file; refused$"):
        safeio.read_bytes(tmp_path / "pipe")


def test_a_device_and_a_symlink_to_one_are_refused(tmp_path: Path) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    for path in (Path("/dev/zero"), tmp_path / "zero"):
        with pytest.raises(InputError, match="a character device, not a regular file"):
            safeio.read_bytes(path)


def test_files_are_size_capped_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 20)
    with pytest.raises(InputError, match=r"20 bytes is over the 10 bytes limit; refused unread"):
        safeio.read_bytes(tmp_path / "big", limit=10)


def test_outside_the_project_only_when_named(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "p", tmp_path / "elsewhere.txt"
    root.mkdir()
    elsewhere.write_text("secret", encoding="utf-8")
    (root / "link.txt").symlink_to(elsewhere)
    for path in (root / "link.txt", root / ".." / "elsewhere.txt"):
        with pytest.raises(InputError, match="outside the project; refused"):
            safeio.read_bytes(path, within=(root,))
    assert safeio.read_bytes(elsewhere) == b"secret"  # named by the user


def test_a_file_larger_than_its_size_says_is_capped_while_reading() -> None:
    """fstat's size is only a first check: a growing file, or one whose size is not known in
    advance (/proc reports 0 bytes), is cut off at the limit while it is read."""
    status = Path("/proc/self/status")
    assert status.stat().st_size == 0
    with pytest.raises(InputError, match=r"^/proc/self/status: 11 bytes is over the 10 bytes"):
        safeio.read_bytes(status, limit=10)


def test_a_file_kind_without_a_name_is_still_refused_by_name() -> None:
    """Linux's fstat never yields another kind, other systems' (doors, whiteouts) may."""
    assert safeio.kind_of(stat.S_IFLNK | 0o777) == "not a regular file"
    assert safeio.kind_of(stat.S_IFSOCK) == "a socket"


def test_json_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(InputError, match=r"^x\.json: not UTF-8 text, not JSON$"):
        safeio.load_json(b'{"a": "\xff\xfe\xfd"}', "x.json")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"a": NaN}', "NaN is not a number JSON allows"),
        ('{"a": -Infinity}', "-Infinity is not a number JSON allows"),
        ('{"a": 1e400}', "the number 1e400 is beyond the 1e+15 limit"),
        ('{"a": ' + "1" + "0" * 400 + "}", "has more than 16 digits"),
        ('{"a": -2000000000000000}', "the number -2000000000000000 is beyond the 1e+15 limit"),
        ("[" * 200_000 + "]" * 200_000, "JSON nested too deeply"),
        ("{", "not valid JSON at line 1, column 2"),
    ],
)
def test_json_numbers_and_depth_are_bounded(text: str, why: str) -> None:
    with pytest.raises(InputError, match=r"^x\.json: ") as caught:
        safeio.load_json(text, "x.json")
    assert why in caught.value.message
    assert "\n" not in caught.value.message


# --- what the gate reads ------------------------------------------------------------------


def test_a_fifo_in_junit_and_as_flaky_json_fails_the_inputs(project: Path) -> None:
    junit(project / "reports", case())
    os.mkfifo(project / "reports" / "junit" / "session.xml")
    os.mkfifo(project / "reports" / "flaky.json")
    found = checks(project)
    assert found["inputs.junit"][0] is Status.FAIL
    assert "session.xml: a FIFO, not a regular file" in found["inputs.junit"][1]
    assert found["inputs.flaky"] == (
        Status.FAIL,
        f"{project}/reports/flaky.json: a FIFO, not a regular file; refused",
    )


def test_a_truncated_burn_in_report_is_an_input_error_not_a_flaky_test(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """flaky-new.json cut off (the burn-in job died): exit 2 naming the file, as a broken
    flaky.json is; it used to fail flaky.new with exit 1, as if a new test were flaky."""
    junit(project / "reports", case())
    (project / "reports" / "flaky-new.json").write_text('{"meta": {"form', encoding="utf-8")
    assert main(["gate"]) == 2
    out, err = capsys.readouterr()
    shown = f"{project}/reports/flaky-new.json"
    assert err == f"testgate: {shown}: not valid JSON at line 1, column 11 (truncated file?)\n"
    assert "FAIL inputs.flaky" in out
    assert "flaky.new" not in out


def test_json_that_is_not_a_hunt_report_is_an_input_error(project: Path) -> None:
    junit(project / "reports", case())
    (project / "reports" / "flaky.json").write_text('{"tests": 3}', encoding="utf-8")
    assert checks(project)["inputs.flaky"] == (
        Status.FAIL,
        "reports/flaky.json: no meta object: not a testgate flaky report; re-run testgate flaky",
    )


def test_a_junit_symlink_out_of_the_project_is_refused(project: Path) -> None:
    junit(project / "reports", case())
    (project / "reports" / "junit" / "x.xml").symlink_to("/etc/hostname")
    status, message = checks(project)["inputs.junit"]
    assert status is Status.FAIL
    assert "x.xml: outside the project; refused" in message


def test_annotation_source_lookup_stays_inside_the_project(project: Path) -> None:
    """file="/dev/zero" read until memory ran out; ../../etc/passwd was opened at all."""
    (project / "pyproject.toml").write_text("[tool.testgate.durations]\nmax_test = 0.001\n")
    junit(
        project / "reports",
        case("test_fast", "0.5", ' file="/dev/zero"'),
        case("test_fast", "0.5", ' file="../../../../../../etc/passwd"'),
    )
    slow = next(c for c in evaluate(load(project)).result.checks if c.id == "durations.max_test")
    assert slow.status is Status.FAIL
    assert [a.line for a in slow.annotations] == [None, None]


def test_ids_with_colons_in_parameters_keep_their_annotation_line(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.testgate.durations]\nmax_test = 0.001\n")
    junit(project / "reports", case("test_param[a::b]", "0.5"))
    slow = next(c for c in evaluate(load(project)).result.checks if c.id == "durations.max_test")
    assert [(a.file, a.line) for a in slow.annotations] == [("tests/test_a.py", 9)]


def test_huge_times_refuse_the_file(project: Path) -> None:
    """time="1e308" twice summed to Infinity in gate.json (not JSON)."""
    path = junit(project / "reports", case("a", "1e308"), case("b", "1e308"))
    with pytest.raises(InputError, match=r"testcase 'a' time=\"1e308\" is over the 1e\+09 s limit"):
        read_junit(path)


@pytest.mark.parametrize(
    "body",
    [
        '{"files": {}, "totals": {"percent_covered": 1e400}}',
        '{"files": {}, "totals": {"num_statements": 1' + "0" * 400 + "}}",
    ],
)
def test_absurd_numbers_in_coverage_json(tmp_path: Path, body: str) -> None:
    (tmp_path / "coverage.json").write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=r"coverage\.json: the number .* refused"):
        read_coverage(tmp_path / "coverage.json", root=tmp_path)


# --- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("coverage", "fail_under", "nan"),
        ("coverage", "diff_fail_under", "nan"),
        ("durations", "max_test", "nan"),
        ("durations", "max_session", "{ unit = inf }"),
        ("durations", "max_regression", "inf"),
    ],
)
def test_nan_and_inf_budgets_are_config_errors(
    tmp_path: Path, section: str, key: str, value: str
) -> None:
    """max_test = nan passed a 50 s test: NaN compares false with every limit."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.testgate.{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match="is not a finite number"):
        load(tmp_path)


def test_a_nul_in_reports_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.testgate]\nreports = "re\\u0000ports"\n')
    with pytest.raises(ConfigError, match="contains a NUL character"):
        load(tmp_path)


def test_a_config_file_that_is_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "testgate.toml")
    with pytest.raises(ConfigError, match="a FIFO, not a regular file"):
        load(tmp_path, tmp_path / "testgate.toml")
