"""Untrusted text (test names, messages, file names from artifacts) escaped for where it lands.

- terminal and CI logs: control characters (C0, DEL, C1, line and bidi overrides) shown as
  ``\\u001b``-style escapes, so no ESC/OSC sequence reaches the terminal and no name starts a
  new line; a line that would begin a GitHub workflow command (``::cmd::``, ``##[cmd]``) gets
  its first character escaped unless testgate itself means the command (`Guard`);
- Markdown (gate.md, flaky.md, the job summary): a cell stays one cell on one line and opens
  no code span, emphasis, link, image, autolink or HTML tag;
- HTML is escaped where it is rendered (render/html.py); JSON by `_atomic.json_bytes`.

The escape notation is JSON's own, so escaped text inside JSON on stdout still decodes to the
original string.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from typing import Any, TextIO

from testgate._safeio import output_error

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_CONTROL_IN_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# Our own colours are the one escape sequence testgate writes (render/text.py).
_SGR_OR_CONTROL = re.compile(
    "(\x1b\\[(?:0|32|31;1|33)m)|"
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_COMMAND_START = re.compile(r"^(\s*)(::|##\[)")


def _u(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def visible(text: str) -> str:
    """One table cell or line of terminal output: every control character escaped, newlines and
    tabs included (a name never starts a line of its own)."""
    return _CONTROL_IN_LINE.sub(_u, text)


def visible_lines(text: str) -> str:
    """Several lines: control characters escaped, newlines and tabs kept."""
    return _CONTROL.sub(_u, text)


def no_command(line: str) -> str:
    """A line that would start a GitHub workflow command gets its first character escaped."""
    return _COMMAND_START.sub(
        lambda m: m.group(1) + f"\\u{ord(m.group(2)[0]):04x}" + m.group(2)[1:], line
    )


_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>&|~]|(?<=:)//|(?<=\bwww)\.", re.IGNORECASE)
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def _md(match: re.Match[str]) -> str:
    text = match.group(0)
    if text in _MD_ENTITIES:
        return _MD_ENTITIES[text]
    return "".join("\\" + ch for ch in text)


def markdown(text: str) -> str:
    """Text for a Markdown table cell (GitHub-flavoured): it stays in its cell and opens no code
    span, emphasis, link, image, autolink or HTML tag."""
    return _MD_SPECIAL.sub(_md, visible(text))


def markdown_code(text: str) -> str:
    """Literal text as a code span in a table cell: fenced with more backticks than it holds
    (a backtick in a name cannot close it), pipes escaped as GFM tables need."""
    body = visible(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    if body.startswith("`") or body.endswith("`"):
        body = f" {body} "
    return f"{fence}{body}{fence}"


def code_block(text: str) -> str:
    """The body of a ``` fence: no line can close the fence or smuggle a control character."""
    return visible_lines(text).replace("\r", "\\u000d").replace("```", "'''").replace("~~~", "'''")


class Guard:
    """Wraps stdout/stderr for one command run: each line is escaped (`visible_lines`, keeping
    testgate's own colours) and kept from starting a workflow command; `command` writes the
    workflow commands testgate means.

    A reader that goes away (`testgate gate | grep -q FAIL`) loses the rest of the output, not
    the command: it runs on, writes its reports and exits with its own verdict. Any other
    failed write (a full disk) is an `OutputError` naming the stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""
        self._midline = False  # part of the current line is out (a flush): its start is judged
        self._gone = False  # the reader closed the pipe: output is dropped

    def write(self, text: str) -> int:
        data = self._partial + text
        lines = data.split("\n")
        self._partial = lines.pop()
        if lines:
            out = [self._line(lines[0], self._midline)]
            out += [self._line(ln, False) for ln in lines[1:]]
            self._midline = False
            self._put("\n".join(out) + "\n")
        return len(text)

    @staticmethod
    def _line(line: str, midline: bool) -> str:
        line = _SGR_OR_CONTROL.sub(lambda m: m.group(1) or _u(m), line)
        return line if midline else no_command(line)

    def _put(self, text: str) -> None:
        self._guarded(self._stream.write, text)

    def _guarded(self, operation: Callable[..., object], *args: str) -> None:
        if self._gone:
            return
        try:
            operation(*args)
        except BrokenPipeError:
            self._gone = True
            # What the stream still buffers would fail again when Python flushes it at exit.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
        except OSError as exc:
            raise output_error(exc, "write", getattr(self._stream, "name", "?")) from None

    def command(self, line: str) -> None:
        """A workflow command testgate means (an annotation), written as it is."""
        self.flush()
        if self._midline:
            self._put("\n")
            self._midline = False
        self._put(line + "\n")

    def flush(self) -> None:
        start = self._partial.lstrip()
        could_start = "::".startswith(start) or "##[".startswith(start)
        if self._partial and (self._midline or not could_start):
            self._put(self._line(self._partial, self._midline))
            self._partial = ""
            self._midline = True
        self._guarded(self._stream.flush)

    def finish(self) -> None:
        """The command is done: whatever is left of the last line goes out (escaped)."""
        if self._partial:
            self._put(self._line(self._partial, self._midline))
            self._partial = ""
        self._midline = False
        self._guarded(self._stream.flush)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def write_command(stream: TextIO, line: str) -> None:
    """Write a workflow command testgate means, through a `Guard` when there is one."""
    command = getattr(stream, "command", None)
    if callable(command):
        command(line)
    else:
        stream.write(line + "\n")
