from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from testgate.cli import main
from testgate.config import Config, load
from testgate.errors import ConfigError


def write(tmp_path: Path, body: str, name: str = "pyproject.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def error_of(tmp_path: Path, body: str) -> str:
    write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    message = info.value.message
    assert "\n" not in message
    return message


def test_no_pyproject_gives_defaults(tmp_path: Path) -> None:
    config = load(tmp_path)
    assert config == Config(root=tmp_path.resolve())
    assert config.reports_dir == tmp_path.resolve() / "reports"
    assert config.history_path == tmp_path.resolve() / "reports" / "history.sqlite"


def test_pyproject_without_table_gives_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n')
    assert load(tmp_path).source is None


def test_interface_example_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[tool.testgate]
reports = "out/reports"
history = "/srv/ci/h.sqlite"

[tool.testgate.tests]
min_count = 120
max_skipped = 0
max_xfailed = 0

[tool.testgate.coverage]
fail_under = 80
fail_under_branches = 70
modules = { "src/pkg/core/*" = 80, "src/pkg/plugins/**" = 60 }
max_drop = 0.5
diff_fail_under = 90
informational = ["coverage.diff", "modules"]

[tool.testgate.durations]
max_test = 2.0
max_session = { unit = 5, integration = 120 }
paths = { "tests/unit/**" = 0.5 }
max_regression = 1.5
window = 3

[tool.testgate.flaky]
count = 10
max_flaky = 0
quarantine = [{ id = "tests/x.py::test_y", until = 2027-01-31, reason = "issue 12" },
              { id = "tests/x.py::test_z", until = "2027-02-01" }]
""",
    )
    config = load(tmp_path)
    assert config.source == path
    assert config.reports_dir == tmp_path.resolve() / "out" / "reports"
    assert config.history_path == Path("/srv/ci/h.sqlite")
    assert config.tests.min_count == 120
    assert config.coverage.fail_under == 80.0
    assert isinstance(config.coverage.fail_under, float)
    assert config.coverage.modules == {"src/pkg/core/*": 80.0, "src/pkg/plugins/**": 60.0}
    assert config.durations.max_session == {"unit": 5.0, "integration": 120.0}
    assert config.durations.paths == {"tests/unit/**": 0.5}
    assert config.durations.window == 3
    assert config.flaky.quarantine[0].until == dt.date(2027, 1, 31)
    assert config.flaky.quarantine[1].until == dt.date(2027, 2, 1)
    assert config.flaky.quarantine[1].reason == ""
    assert config.informational == {"coverage.diff", "coverage.modules"}
    assert config.is_informational("coverage.diff")
    assert config.is_informational("coverage.modules:src/pkg/core/*")
    assert not config.is_informational("coverage.total")
    assert not config.is_informational("coverage.diffx")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[tool.testgate]\nreport = 'r'\n", "unknown key 'report'; did you mean 'reports'?"),
        ("[tool.testgate.coverag]\n", "unknown key 'coverag'; did you mean 'coverage'?"),
        (
            "[tool.testgate.coverage]\nfail_undr = 80\n",
            "[tool.testgate.coverage]: unknown key 'fail_undr'; did you mean 'fail_under'?",
        ),
        (
            "[tool.testgate]\nfail_under = 80\n",
            "did you mean 'fail_under' under [tool.testgate.coverage]?",
        ),
        (
            "[tool.testgate.tests]\nmax_test = 1\n",
            "did you mean 'max_test' under [tool.testgate.durations]?",
        ),
        ("[tool.testgate.tests]\nzzzz = 1\n", "unknown key 'zzzz'; valid keys: min_count"),
        (
            "[tool.testgate.coverage]\nfail_under = '80'\n",
            "tool.testgate.coverage.fail_under: expected a number, got '80'",
        ),
        (
            "[tool.testgate.coverage]\nfail_under = true\n",
            "tool.testgate.coverage.fail_under: expected a number, got True",
        ),
        (
            "[tool.testgate.coverage]\nfail_under = 120\n",
            "tool.testgate.coverage.fail_under: 120 is impossible, it must be between 0 and 100",
        ),
        (
            "[tool.testgate.coverage]\nfail_under_branches = -1\n",
            "fail_under_branches: -1 is impossible",
        ),
        (
            "[tool.testgate.tests]\nmin_count = 1.5\n",
            "tool.testgate.tests.min_count: expected a whole number, got 1.5",
        ),
        (
            "[tool.testgate.durations]\nmax_regression = 0.5\n",
            "max_regression: 0.5 is impossible, it must be at least 1",
        ),
        (
            "[tool.testgate.durations]\nwindow = 0\n",
            "tool.testgate.durations.window: 0 is impossible, it must be between 1 and 100",
        ),
        (
            "[tool.testgate.durations]\nwindow = 2.5\n",
            "tool.testgate.durations.window: expected a whole number, got 2.5",
        ),
        (
            "[tool.testgate.coverage]\nmodules = 80\n",
            'tool.testgate.coverage.modules: expected a table like { "glob" = 80 }, got 80',
        ),
        (
            "[tool.testgate.coverage]\nmodules = { 'src/*' = 101 }\n",
            "tool.testgate.coverage.modules.src/*: 101 is impossible",
        ),
        ("[tool.testgate.tests]\nallow_salvaged = 1\n", "expected true or false, got 1"),
        ("[tool.testgate]\nreports = ''\n", "expected a non-empty string, got ''"),
        ("[tool.testgate]\ncoverage = 3\n", "[tool.testgate.coverage] must be a table"),
        ("[tool]\ntestgate = 3\n", "[tool.testgate] must be a table"),
        (
            "[tool.testgate]\ninformational = 'coverage.diff'\n",
            "expected a list of check ids, got 'coverage.diff'",
        ),
        (
            "[tool.testgate]\ninformational = ['coverage.dif']\n",
            "'coverage.dif' is not a check id; did you mean 'coverage.diff'?",
        ),
        (
            "[tool.testgate.coverage]\ninformational = ['totl']\n",
            "'totl' is not a check id; did you mean 'coverage.total'?",
        ),
        ("[tool.testgate]\ninformational = ['qqqqqq']\n", "is not a check id; known: tests,"),
        (
            "[tool.testgate.tests]\ninformational = ['failures']\n",
            "tests.failures cannot be informational: the gate never passes over failing tests",
        ),
        ("[tool.testgate\n", "invalid TOML"),
    ],
)
def test_invalid_settings_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    message = error_of(tmp_path, body)
    assert expected in message
    assert str(tmp_path / "pyproject.toml") in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("'tests/x.py::t'", "quarantine[0]: expected a table { id = ..., until = ..., reason"),
        ("{ id = 'tests/x.py::t' }", "quarantine[0]: needs both id and until"),
        ("{ id = 't', until = '2027-13-01' }", "until: '2027-13-01' is not a date like 2027-01-31"),
        ("{ id = 't', until = 2027-01-31T10:00:00 }", "until: expected a date like 2027-01-31"),
        ("{ id = 't', until = 20270131 }", "until: expected a date like 2027-01-31, got 20270131"),
        ("{ id = 't', until = 2027-01-31, reason = 3 }", "reason: expected a string"),
        ("{ id = '', until = 2027-01-31 }", "quarantine[0].id: expected a non-empty string"),
        ("{ id = 't', until = 2027-01-31, reson = 'x' }", "did you mean 'reason'?"),
    ],
)
def test_quarantine_entries_are_validated(tmp_path: Path, entry: str, expected: str) -> None:
    assert expected in error_of(tmp_path, f"[tool.testgate.flaky]\nquarantine = [{entry}]\n")


def test_quarantine_must_be_a_list(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[tool.testgate.flaky]\nquarantine = 'x'\n")
    assert "quarantine: expected a list of { id, until, reason } tables" in message


def test_config_file_with_top_level_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "[coverage]\nfail_under = 91.5\n", name="testgate.toml")
    config = load(tmp_path, path)
    assert config.coverage.fail_under == 91.5
    assert config.source == path


def test_config_file_pyproject_elsewhere(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    path = write(tmp_path / "ci", "[tool.testgate.tests]\nmin_count = 3\n")
    assert load(tmp_path, path).tests.min_count == 3


def test_config_file_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file; check --config"):
        load(tmp_path, tmp_path / "nope.toml")


def test_config_file_without_table_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"no \[tool.testgate\] table; check --config"):
        load(tmp_path, path)


def test_unreadable_config_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"\xff\xfe[tool]")
    with pytest.raises(ConfigError, match=r"not UTF-8 text"):
        load(tmp_path)


def test_cli_reports_config_error_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[tool.testgate.coverage]\nfail_under = 120\n", name="bad.toml")
    assert main(["gate", "--config", str(path), "--reports", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("testgate: ")
    assert "fail_under: 120 is impossible" in err
