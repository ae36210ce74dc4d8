"""Untrusted text escaped for each medium, writes that fail in one line, one hunt per folder
(issue 15). In-process and fast; the CLI versions are in tests/integration/test_hostile_cli.py."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import socket
from pathlib import Path
from typing import TextIO, cast

import pytest

from testgate import _atomic, _escape
from testgate._lock import NAME, hunt_lock
from testgate._safeio import OutputError, append_text
from testgate.checks import Annotation, CheckResult, GateResult, Status
from testgate.errors import UsageError
from testgate.flaky.report import markdown as flaky_markdown
from testgate.model.flaky import FlakyReport
from testgate.render import annotations as github
from testgate.render import html, markdown, text

EVIL = (
    "tests/a.py::test_x\n::add-mask::x\r\x1b]0;title\x07\x9b31m\u202e|`<img src=x>`![i](http://e.x)"
)


def result(status: Status = Status.FAIL) -> GateResult:
    return GateResult(
        (
            CheckResult(
                "tests.failures",
                status,
                f"1 failed: {EVIL}",
                actual=1,
                limit=0,
                details=(f"FAILED {EVIL}", "::stop-commands::tok"),
                annotations=(Annotation("tests/a.py", 3, f"FAILED {EVIL}"),),
            ),
        )
    )


def starts_a_command(line: str) -> bool:
    return line.lstrip().startswith(("::", "##["))


# --- terminal and workflow commands ---------------------------------------------------------


def test_the_guard_escapes_controls_and_command_starts_but_keeps_our_colours() -> None:
    out = io.StringIO()
    guard = _escape.Guard(out)
    guard.write(f"\x1b[32mPASS\x1b[0m {EVIL}\n  ::error::fake\n##[group]x\n")
    guard.command("::error file=a.py,line=3::meant")
    guard.write(":")
    guard.flush()  # a lone ':' is held back: it could be half of '::'
    guard.write(":add-mask::split\n")
    guard.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "\x1b[32mPASS\x1b[0m tests/a.py::test_x"  # a raw newline is a newline
    assert lines[1].startswith("\\u003a:add-mask::x\\u000d\\u001b]0;title\\u0007\\u009b31m")
    assert "\x1b]" not in out.getvalue()
    assert "\x9b" not in out.getvalue()
    assert "\\u202e" in lines[1]
    assert [ln for ln in lines if starts_a_command(ln)] == ["::error file=a.py,line=3::meant"]


def test_a_flushed_half_line_is_escaped_and_finished_before_our_own_command() -> None:
    """Progress written without a newline (print(..., end="", flush=True)) goes out at once;
    an annotation after it starts on a line of its own, and the rest of that line is never
    taken for the start of a workflow command."""
    out = io.StringIO()
    guard = _escape.Guard(out)
    guard.write("hunting \x1b]0;x")
    guard.flush()
    assert out.getvalue() == "hunting \\u001b]0;x"
    guard.command("::warning::meant")
    guard.writelines(["::add-mask::", "x"])  # starts a line: escaped when it goes out
    guard.flush()
    guard.writelines(["::stop-commands::", "y\n"])  # the same line, mid-line: not a start
    guard.writelines(["::error::not ours", " tail"])
    guard.finish()
    assert out.getvalue().splitlines() == [
        "hunting \\u001b]0;x",
        "::warning::meant",
        "\\u003a:add-mask::x::stop-commands::y",
        "\\u003a:error::not ours tail",
    ]


def test_commands_go_straight_to_a_stream_without_a_guard() -> None:
    out = io.StringIO()
    _escape.write_command(out, "::notice::plain")
    guarded = io.StringIO()
    guard = _escape.Guard(guarded)
    guard.write("held")
    _escape.write_command(cast(TextIO, guard), "::notice::guarded")  # as sys.stdout is one
    assert out.getvalue() == "::notice::plain\n"
    assert guarded.getvalue() == "held\n::notice::guarded\n"


def test_a_reader_that_goes_away_loses_the_output_not_the_command() -> None:
    """`testgate gate | grep -q FAIL`: the pipe closes early; the command must run on to its
    own verdict (it exited 0 here, passing a failing gate under `set -o pipefail`)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = open(write_end, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        guard = _escape.Guard(stream)
        guard.write("CHECK ACTUAL LIMIT STATUS\n" * 2000)
        guard.flush()
        guard.command("::error::after the reader left")
        guard.finish()
        # the pipe's descriptor now writes to /dev/null: Python's own flush at exit is quiet
        assert os.path.samefile(f"/proc/self/fd/{write_end}", os.devnull)
    finally:
        stream.close()


def test_output_that_cannot_be_written_is_one_line_naming_the_stream() -> None:
    full = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        guard = _escape.Guard(full)
        guard.write("gate FAILED\n")
        with pytest.raises(OutputError) as caught:
            guard.flush()
    finally:
        with contextlib.suppress(OSError):  # closing flushes the same bytes to the same device
            full.close()
    assert caught.value.message == "/dev/full: cannot write: the disk is full"


def test_the_table_keeps_every_name_on_its_line() -> None:
    """A name with &#10;::add-mask::x became a workflow command in the job log."""
    rendered = text.render(result())
    assert not [ln for ln in rendered.splitlines() if starts_a_command(ln)]
    assert "\x1b" not in rendered
    assert "\\u000a::add-mask::x" in rendered


def test_annotation_messages_escape_other_control_characters() -> None:
    (line,) = github.render(result())
    assert line.startswith("::error file=tests/a.py,line=3::FAILED tests/a.py::test_x%0A")
    assert "\x1b" not in line
    assert "\x9b" not in line


# --- Markdown ------------------------------------------------------------------------------


def test_gate_md_rows_stay_rows() -> None:
    """A CR broke out of the table: a fake PASSED heading, an image and links rendered."""
    md = markdown.render(result())
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(rows) == 2  # the header and the one check
    row = rows[1]
    assert row.count(" | ") == 4  # five cells: no unescaped pipe from the name
    table = md.split("<details>")[0]
    assert "<img" not in table
    assert "![i](http" not in table
    assert "](http://" not in table
    details = md.split("```")[1]  # inside the fence text is literal; no line may close it
    assert not [ln for ln in details.splitlines() if ln.startswith(("`", "~"))]
    assert "\r" not in md


def test_flaky_md_cannot_open_html_or_links_from_an_id() -> None:
    test = {
        "id": "t.py::test_`<img src=x>`[![a](http://e)]",
        "verdict": "flaky",
        "kind": None,
        "flake_rate": 0.5,
        "interval": [0.1, 0.9],
        "polluter": None,
        "state_setter": None,
        "runs": 2,
        "failed": 1,
        "passed": 1,
        "repro": "pytest 't.py::test_`x`'",
    }
    report = {"meta": {"format": 1, "count": 2}, "runs": [{"iteration": 1}], "tests": [test]}
    md = flaky_markdown(FlakyReport.from_json(report))
    (row,) = [ln for ln in md.splitlines() if ln.startswith("| ``")]
    assert "&lt;" not in row  # inside a code span the text is literal: nothing to entity-escape
    code = re.match(r"\| (`+)(.*?)\1 \|", row)
    assert code is not None
    assert code.group(2) == "t.py::test_`<img src=x>`[![a](http://e)]"


def test_a_code_span_may_start_and_end_with_a_backtick() -> None:
    """CommonMark strips one space inside the fence: padded, `a` stays `a` (with backticks)."""
    assert _escape.markdown_code("`a`") == "`` `a` ``"
    assert _escape.markdown_code("a`b") == "``a`b``"


def test_markdown_escape_keeps_readable_text_readable() -> None:
    assert _escape.markdown("78.43% of src/a.py") == "78.43% of src/a.py"
    assert _escape.markdown("a|b") == "a\\|b"


# --- HTML and JSON -------------------------------------------------------------------------


def test_the_csp_allows_the_one_style_and_script_by_hash() -> None:
    def digest(source: str) -> str:
        return base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()

    assert "unsafe-inline" not in html.CSP
    assert f"style-src 'sha256-{digest(html.STYLE)}'" in html.CSP
    assert f"script-src 'sha256-{digest(html.SCRIPT)}'" in html.CSP
    page = html.render_html(result=result(), reports=(), coverage=None, flaky=None, history=None)
    assert f"<style>{html.STYLE}</style>" in page
    assert f"<script>{html.SCRIPT}</script>" in page


def test_json_never_holds_a_non_finite_number(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="not written: a number is not finite"):
        _atomic.write_json(tmp_path / "gate.json", {"actual": float("inf")})
    assert not (tmp_path / "gate.json").exists()


def test_undecodable_file_names_are_written_escaped(tmp_path: Path) -> None:
    name = os.fsdecode(b"unit-\xff.xml")
    _atomic.write_json(tmp_path / "g.json", {"path": name})
    assert json.loads((tmp_path / "g.json").read_text(encoding="utf-8")) == {"path": name}


# --- writes that fail ----------------------------------------------------------------------


def test_a_report_set_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    old = {tmp_path / "gate.json": b"old json", tmp_path / "gate.md": b"old md"}
    _atomic.write_many(old)
    (tmp_path / "gate-junit.xml").mkdir()  # cannot be replaced by a file
    (tmp_path / "gate-junit.xml" / "x").touch()
    with pytest.raises(OutputError, match=r"gate-junit\.xml: cannot replace: it is a folder"):
        _atomic.write_many({**dict.fromkeys(old, b"new"), tmp_path / "gate-junit.xml": b"new"})
    assert {p.read_bytes() for p in old} == {b"old json", b"old md"} or all(
        p.read_bytes() == b"new" for p in old
    )
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_reports_that_is_a_plain_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        _atomic.write_text(tmp_path / "reports" / "gate.md", "x")
    assert caught.value.message == (
        f"{tmp_path}/reports: cannot create the folder: a file of that name is in the way"
    )


@pytest.mark.parametrize("kind", ["fifo", "device", "missing folder"])
def test_an_unusable_step_summary_is_refused_without_blocking(tmp_path: Path, kind: str) -> None:
    path = {
        "fifo": tmp_path / "f",
        "device": Path("/dev/full"),
        "missing folder": tmp_path / "no" / "s",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)
    with pytest.raises(OutputError, match="^" + re.escape(str(path)) + ": "):
        append_text(path, "## summary\n")


# --- one hunt per reports folder -------------------------------------------------------------


def test_a_second_hunt_is_refused_naming_the_holder(tmp_path: Path) -> None:
    with hunt_lock(tmp_path):
        with pytest.raises(UsageError) as caught, hunt_lock(tmp_path):
            pytest.fail("two hunts held one reports folder")
        message = caught.value.message
    assert (
        f"another flake hunt is running here (pid {os.getpid()} on {socket.gethostname()}"
        in message
    )
    assert not (tmp_path / NAME).exists()  # released


def test_a_stale_lock_of_a_killed_hunt_is_taken_over(tmp_path: Path) -> None:
    dead = 2**22 + 11  # above Linux's largest pid: no such process
    (tmp_path / NAME).write_text(
        json.dumps({"pid": dead, "host": socket.gethostname(), "started": "2026-11-30T03:00:00Z"})
    )
    notes: list[str] = []
    with hunt_lock(tmp_path, notes=notes):
        holder = json.loads((tmp_path / NAME).read_text())
    assert holder["pid"] == os.getpid()
    assert notes == [
        f"took over the stale lock of a killed hunt (pid {dead} on {socket.gethostname()}, "
        "started 2026-11-30T03:00:00Z: no longer running)"
    ]
