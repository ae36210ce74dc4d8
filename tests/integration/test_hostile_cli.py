"""Hostile artifacts and broken environments, through the command line (issue 15).

Each test is one defect of the issue: what hung, blew up, injected or printed a traceback
before, run the way CI runs it. Subprocesses where the process matters (a FIFO would hang it,
resource limits, stdout as the CI log sees it); in-process `main` where only the result does.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import coverage
import pytest
from hostile_project import case, clean_env, junit, make_project, one_line, run_testgate

from testgate.cli import main
from testgate.errors import InputError
from testgate.read.junit import read_junit


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    return make_project(tmp_path)


def command_lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.lstrip().startswith(("::", "##["))]


# --- 1. no hang, no blow-up ----------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["junit/unit.xml", "flaky.json", "coverage.json", "junit/unit-1.json", "config", "summary"],
)
def test_a_fifo_anywhere_never_hangs(project: Path, where: str) -> None:
    """`mkfifo reports/junit/unit.xml; testgate gate` hung forever (and the same for the
    others): each is refused in one line, or for the summary a warning."""
    junit(
        project / "reports",
        case(),
        name="unit-1.xml" if where == "junit/unit-1.json" else "unit.xml",
    )
    args, env = ["gate"], {}
    fifo = project / "reports" / where
    if where == "config":
        fifo, args = project / "testgate.toml", ["gate", "--config", "testgate.toml"]
    elif where == "summary":
        fifo = project / "summary.md"
        env = {"GITHUB_STEP_SUMMARY": str(fifo)}
    elif where == "coverage.json":
        (project / "pyproject.toml").write_text("[tool.testgate.coverage]\nfail_under = 10\n")
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    done = run_testgate(project, *args, env=env, timeout=60)
    assert "Traceback" not in done.stderr
    if where == "summary":
        assert done.returncode == 0
        assert done.stderr.startswith(f"testgate: warning: GITHUB_STEP_SUMMARY {fifo}: ")
    elif where == "junit/unit-1.json":  # an unreadable manifest: the shard is unaccounted for
        assert done.returncode == 2
    else:
        assert done.returncode == 2
        assert one_line(done.stderr), done.stderr


def test_shard_sizes_and_sources_are_bounded(project: Path) -> None:
    """`--splits 1000000000 --plan` and `--durations /dev/zero` got the process killed."""
    for args, message in [
        (("--splits", "1000000000", "--plan"), "--splits must be between 1 and 1000"),
        (("--splits", "2", "--plan", "--durations", "/dev/zero"), "a character device"),
    ]:
        done = run_testgate(project, "shard", *args, timeout=60)
        assert done.returncode == 2
        assert message in done.stderr
        assert one_line(done.stderr)


def test_a_shard_manifest_where_none_can_be_written(project: Path) -> None:
    durations = junit(project / "reports", case())
    done = run_testgate(
        project,
        "shard",
        "--splits",
        "1",
        "--group",
        "1",
        "--durations",
        str(durations),
        "--manifest",
        "/proc/x.json",
    )
    assert done.returncode == 2
    assert done.stderr.startswith("testgate: /proc: cannot create a file in the folder: ")
    assert one_line(done.stderr)


# --- 2. workflow-command and Markdown injection ----------------------------------------------

EVIL_NAME = "test_x&#10;::add-mask::x&#13;::stop-commands::tok&#10;  ::error::fake&#10;##[group]g"


def test_no_name_starts_a_workflow_command_in_the_log(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.testgate.durations]\nmax_test = 0.001\n")
    junit(
        project / "reports",
        case(EVIL_NAME, "0.5"),
        '<testcase classname="tests.test_a" name="test_y&#10;::add-mask::y">'
        '<failure message="boom&#10;::error::fake&#x9b;31m">x</failure></testcase>',
    )
    done = run_testgate(project, "gate", env={"GITHUB_ACTIONS": "true"})
    assert done.returncode == 1, done.stderr
    commands = command_lines(done.stdout + done.stderr)
    assert commands, "the gate's own annotations are expected"
    assert all(re.match(r"^::(error|warning|notice) file=[^:]*::", c) for c in commands), commands
    assert "\x9b" not in done.stdout


def test_the_step_summary_cannot_fake_a_verdict(project: Path) -> None:
    """A CR in a test name broke out of gate.md's table: a PASSED heading, an image, links."""
    summary = project / "summary.md"
    junit(
        project / "reports",
        '<testcase classname="tests.test_a" name="t&#13;## PASSED&#13;![x](http://e.x/i.png)">'
        '<failure message="`&lt;img src=x&gt;` | &#13;# ok">x</failure></testcase>',
    )
    done = run_testgate(project, "gate", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1
    md = summary.read_text(encoding="utf-8")
    headings = [ln for ln in md.splitlines() if ln.startswith("#")]
    assert len(headings) == 1
    assert headings[0].startswith("## ❌ testgate gate FAILED: ")
    table = md.split("<details>")[0]
    assert "![x](http" not in table
    assert "<img" not in table


# --- 3. outputs never stale --------------------------------------------------------------


def test_a_broken_history_still_rewrites_index_and_badges(project: Path) -> None:
    junit(project / "reports", case())
    assert run_testgate(project, "gate").returncode == 0
    assert "passed" in (project / "reports" / "index.html").read_text(encoding="utf-8")
    (project / "reports" / "history.sqlite").write_bytes(b"not a database at all" * 10)
    junit(
        project / "reports",
        '<testcase classname="tests.test_a" name="test_fast"><failure message="x"/></testcase>',
    )
    done = run_testgate(project, "gate")
    assert done.returncode == 1
    assert one_line(done.stderr)
    assert done.stderr.startswith("testgate: warning: ")
    assert "(history not recorded; the reports are)" in done.stderr
    page = (project / "reports" / "index.html").read_text(encoding="utf-8")
    assert "FAILED</title>" in page
    assert "1 failed" in (project / "reports" / "badges" / "tests.svg").read_text(encoding="utf-8")


def test_a_reader_that_stops_reading_never_changes_the_verdict(project: Path) -> None:
    """`testgate gate | grep -q FAIL` under `set -o pipefail` (GitHub Actions' bash): the pipe
    closes before testgate has written its table. A failing gate exited 0 then, and skipped the
    history and index.html; now the output is dropped and the command runs to its verdict."""
    failed = '<testcase classname="tests.test_a" name="test_fast"><failure message="x"/></testcase>'
    junit(project / "reports", failed)
    gate = subprocess.Popen(
        [sys.executable, "-m", "testgate", "gate"],
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert gate.stdout is not None
    assert gate.stderr is not None
    gate.stdout.close()  # the reader is gone before the first byte
    err = gate.stderr.read()
    assert gate.wait(timeout=120) == 1
    gate.stderr.close()
    assert err == b""  # no traceback, no "Exception ignored" at exit
    assert json.loads((project / "reports" / "gate.json").read_bytes())["passed"] is False
    assert "FAILED</title>" in (project / "reports" / "index.html").read_text(encoding="utf-8")
    assert (project / "reports" / "history.sqlite").is_file()


def test_output_to_a_full_device_is_one_line(project: Path) -> None:
    junit(project / "reports", case())
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = subprocess.run(
            [sys.executable, "-m", "testgate", "gate"],
            cwd=project,
            env=clean_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == "testgate: <stdout>: cannot write: the disk is full\n"


def test_badges_that_cannot_be_rewritten_are_removed(project: Path) -> None:
    junit(project / "reports", case())
    assert run_testgate(project, "gate").returncode == 0
    (project / "reports" / "index.html").unlink()
    (project / "reports" / "index.html").mkdir()  # cannot be replaced by the new page
    (project / "reports" / "index.html" / "keep").touch()
    done = run_testgate(project, "gate")
    assert done.returncode == 0
    assert one_line(done.stderr)
    assert "removed the stale coverage.svg, flaky.svg, tests.svg" in done.stderr
    assert not list((project / "reports" / "badges").iterdir())


def _file_size_limit(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_leaves_the_previous_reports_whole(project: Path) -> None:
    """ENOSPC/EFBIG while writing: exit 2, one line naming the path and the operation, and the
    previous gate.json/gate.md/gate-junit.xml exactly as they were."""
    junit(project / "reports", case())
    assert run_testgate(project, "gate").returncode == 0
    names = ("gate.json", "gate.md", "gate-junit.xml", "index.html")
    before = {n: (project / "reports" / n).read_bytes() for n in names}
    junit(project / "reports", case("test_fast"), case("test_param[a::b]"))
    done = run_testgate(project, "gate", preexec=lambda: _file_size_limit(300), measured=False)
    assert done.returncode == 2
    assert one_line(done.stderr)
    assert re.match(
        r"^testgate: \S+/reports/gate\.\S+: cannot write: the file size limit", done.stderr
    )
    assert {n: (project / "reports" / n).read_bytes() for n in names} == before
    assert not [p for p in (project / "reports").iterdir() if p.name.endswith(".tmp")]


def test_reports_that_is_a_file_is_one_line(project: Path) -> None:
    junit(project / "elsewhere", case())
    shutil.copytree(project / "elsewhere" / "junit", project / "junit")
    (project / "reports").write_text("a file", encoding="utf-8")
    done = run_testgate(project, "gate")
    assert done.returncode == 2
    assert one_line(done.stderr)
    assert "reports: cannot create the folder: a file of that name is in the way" in done.stderr


def _as_owner_only() -> tuple[str, ...]:
    """root passes every permission check; in a user namespace of its own it is held to the
    owner bits like anyone (`unshare --user`)."""
    return ("unshare", "--user") if os.geteuid() == 0 else ()


def test_read_only_reports_is_one_line_and_left_intact(project: Path) -> None:
    if os.geteuid() == 0 and shutil.which("unshare") is None:
        pytest.fail("running as root needs util-linux unshare to test permissions")
    junit(project / "reports", case())
    assert run_testgate(project, "gate").returncode == 0
    before = (project / "reports" / "gate.json").read_bytes()
    reports = project / "reports"
    mode = reports.stat().st_mode
    reports.chmod(0o555)
    try:
        done = run_testgate(project, "gate", prefix=_as_owner_only())
    finally:
        reports.chmod(stat.S_IMODE(mode))
    assert done.returncode == 2, done.stderr
    assert one_line(done.stderr)
    assert "reports: cannot create a file in the folder: permission denied" in done.stderr
    assert (project / "reports" / "gate.json").read_bytes() == before


@pytest.mark.parametrize("summary", ["/proc/nope/summary.md", "folder", "/dev/full"])
def test_an_unwritable_step_summary_is_a_warning(project: Path, summary: str) -> None:
    junit(project / "reports", case())
    if summary == "folder":
        summary = str(project / "folder")
        os.mkdir(summary)
    done = run_testgate(project, "gate", env={"GITHUB_STEP_SUMMARY": summary})
    assert done.returncode == 0
    assert one_line(done.stderr)
    assert done.stderr.startswith(f"testgate: warning: GITHUB_STEP_SUMMARY {summary}: ")


# --- 5. no traceback ---------------------------------------------------------------------


def test_control_characters_in_file_names(project: Path) -> None:
    path = junit(project / "reports", case("test_fast", "0.5", ' file="tests/test_\u009b.py"'))
    os.rename(path, os.fsencode(path.parent) + b"/u\x1b]0;x\x07\xff.xml")
    (project / "pyproject.toml").write_text("[tool.testgate.durations]\nmax_test = 0.001\n")
    done = run_testgate(project, "gate", env={"GITHUB_ACTIONS": "true"})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "\x1b]" not in done.stdout
    assert ">u\\u001b]0;x\\u0007\\udcff</td>" in (project / "reports" / "index.html").read_text(
        encoding="utf-8"
    )


# --- 6. coverage data from outside the project ---------------------------------------------


def _umask_022() -> None:
    os.umask(0o022)


def test_coverage_of_files_outside_the_project(tmp_path: Path) -> None:
    """They were counted in the total and their source copied into htmlcov/. Reports get the
    modes of every other report (0644/0755 under umask 022), not mkstemp's 0600/0700."""
    root = make_project(tmp_path / "p", "[tool.testgate.coverage]\nfail_under = 10\n")
    (root / "src").mkdir()
    (root / "src" / "a.py").write_text("A = 1\nB = 2\n", encoding="utf-8")
    secret = tmp_path / "outside" / "secret.py"
    secret.parent.mkdir()
    secret.write_text("TOKEN = 'hunter2'\nX = 1\n", encoding="utf-8")
    (root / "reports" / "coverage").mkdir(parents=True)
    data = coverage.CoverageData(basename=str(root / "reports" / "coverage" / ".coverage.m1"))
    data.add_lines({str(secret): [1, 2], str(root / "src" / "a.py"): [1]})
    data.write()
    junit(root / "reports", case())
    done = run_testgate(root, "coverage", preexec=_umask_022)
    assert done.returncode == 0, done.stderr
    assert one_line(done.stderr)
    assert f"1 measured file(s) outside the project {root} not counted: {secret}" in done.stderr
    report = json.loads((root / "reports" / "coverage.json").read_text(encoding="utf-8"))
    assert list(report["files"]) == ["src/a.py"]
    assert report["totals"]["percent_covered"] == 50.0
    htmlcov = root / "reports" / "htmlcov"
    assert not [p for p in htmlcov.iterdir() if "hunter2" in p.read_text(errors="replace")]
    assert stat.S_IMODE(htmlcov.stat().st_mode) == 0o755
    for name in ("coverage.json", "coverage.xml"):
        assert stat.S_IMODE((root / "reports" / name).stat().st_mode) == 0o644


# --- moved from the unit session: in-process, but heavier ----------------------------------


def test_a_manifest_with_a_billion_splits_is_no_record(project: Path) -> None:
    """{"splits": 1000000000000} made tens of MB of gate.md or a MemoryError."""
    junit(project / "reports", case(), name="unit-1.xml")
    manifest = project / "reports" / "junit" / "unit-1.json"
    manifest.write_text(json.dumps({"splits": 10**12, "plan": "x"}), encoding="utf-8")
    assert main(["gate"]) == 2
    assert (project / "reports" / "gate.md").stat().st_size < 10_000


@pytest.mark.parametrize("where", ["flaky.json", "junit/unit-1.json", "baseline.json"])
def test_json_nested_200k_deep_is_one_line(
    project: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    junit(project / "reports", case(), name="unit-1.xml")
    path = project / "reports" / where
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    code = main(["gate", "--baseline", str(path)] if where == "baseline.json" else ["gate"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "tests",
    [
        '"x"',
        '[{"id": ["x"], "verdict": "flaky"}]',
        '[{"id": "x", "verdict": "flaky", "failed": "2"}]',
    ],
)
def test_a_flaky_json_of_the_wrong_shape_is_an_input_error(
    project: Path, tests: str, capsys: pytest.CaptureFixture[str]
) -> None:
    junit(project / "reports", case())
    (project / "reports" / "flaky.json").write_text(
        '{"meta": {"format": 1, "count": 1}, "runs": [{}], "tests": ' + tests + "}"
    )
    assert main(["gate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("testgate: reports/flaky.json: ")
    assert err.count("\n") == 1


def test_huge_times_are_refused_not_summed_to_infinity(project: Path) -> None:
    """time="1e308" twice wrote Infinity into gate.json (not JSON)."""
    path = junit(project / "reports", case("a", "1e308"), case("b", "1e308"))
    with pytest.raises(InputError, match=r"testcase 'a' time=\"1e308\" is over the 1e\+09 s limit"):
        read_junit(path)
    assert main(["gate"]) == 2
    gate_json = (project / "reports" / "gate.json").read_text(encoding="utf-8")
    assert "Infinity" not in gate_json
    json.loads(gate_json, parse_constant=lambda c: pytest.fail(f"{c} in gate.json"))


def test_text_nodes_over_10_mb_are_read(tmp_path: Path) -> None:
    """libxml2 refuses text nodes over 10 MB unless in huge mode; files up to 256 MiB are
    promised, and huge mode keeps the depth limit (entities are refused before parsing)."""
    log = "x" * (11 * 1024 * 1024)
    path = tmp_path / "big.xml"
    path.write_text(
        f'<testsuite><testcase classname="t" name="a"><system-out>{log}</system-out>'
        "</testcase></testsuite>",
        encoding="utf-8",
    )
    assert [c.name for c in read_junit(path).cases] == ["a"]
    deep = tmp_path / "deep.xml"
    deep.write_text(
        "<testsuite><testcase name='a'>" + "<a>" * 5000 + "</a>" * 5000 + "</testcase></testsuite>"
    )
    with pytest.raises(InputError, match="Excessive depth"):
        read_junit(deep)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["shard", "--splits", "1000000000", "--plan"], "--splits must be between 1 and 1000"),
        (["shard", "--splits", "2", "--plan", "--durations", "/dev/zero"], "a character device"),
        (["flaky", "--plan", "1e-300", "0.95"], "a flake rate below 1e-06"),
        (["durations", "--workers", "-3"], "'-3' must be at least 1"),
    ],
)
@pytest.mark.usefixtures("project")
def test_absurd_command_line_numbers_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
