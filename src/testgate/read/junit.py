"""Read JUnit/xUnit XML from any producer into `JUnitReport` values.

One streaming pass of libxml2 with every dangerous feature off: no DTD loading, no entity
substitution, no network (text nodes may be as large as the file allows). libxml2 builds the
elements in C and reports only suites and cases (lxml's pull parser with a tag filter); each case
is read when it ends, then cleared and dropped, so memory holds the `Case` values and a skeleton
of the suites, whatever the file's size. (A parser target, calling Python for every element and
every text node, measured 1.3x slower on a 100k-case file.)

What the reader does with difficult input, deliberately:

- empty (or blank) file: refused, a crashed run never passes for an empty one;
- over `max_bytes` (default `MAX_BYTES`): refused from its size, before a byte is parsed;
- a DOCTYPE (any entity declaration, internal or external): refused before the parser sees it;
- truncated (a killed run: the file ends inside the root element): refused with the line and
  column where it stops, or with ``salvage=True`` read as the complete cases before the cut,
  marked ``salvaged=True``;
- malformed anywhere else: refused with libxml2's line, column and reason;
- UTF-8 BOM and declared single-byte encodings (ISO-8859-1, ...) are libxml2's own business;
  UTF-16/UTF-32 (BOM or zero-byte pattern) are transcoded to UTF-8 while streaming, since a
  BOM says more than a declaration (producers write ``encoding="UTF-16 LE"`` and worse); and
  8-bit bytes declared UTF-16 (a .NET habit) are read as UTF-8, the declaration dropped;
- native non-JUnit XML (NUnit ``<test-run>``, TRX ``<TestRun>``, xUnit.net ``<assemblies>``,
  namespaced roots): refused as "not JUnit XML: root element <...>".

Times (`time` attributes) are seconds; see `parse_seconds` for decimal commas and negatives.
"""

from __future__ import annotations

import codecs
import gc
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from lxml import etree

from testgate._safeio import open_input as safe_open
from testgate.errors import InputError
from testgate.model import Attempt, Case, JUnitReport, Outcome

MAX_BYTES = 256 * 1024 * 1024
"""Files larger than this are refused unread; `read_junit(max_bytes=...)` lowers (or raises) it."""

_CHUNK = 1 << 16
_SUITE, _SUITES, _CASE = "testsuite", "testsuites", "testcase"
_REPEAT = re.compile(r"(?:\[|-)(\d+)-(\d+)\]$")
_ATTEMPTS = frozenset(("flakyFailure", "flakyError", "rerunFailure", "rerunError"))
# Rank of the outcome a child element states: the worst one of a testcase wins.
_CHILD_RANK = {"failure": 3, "error": 2, "skipped": 1}
_XPASS_MESSAGE = "xfail-marked test passes unexpectedly"  # old pytest, strict xpass
_XFAIL_MESSAGE = "expected test failure"  # old pytest (< 3) xfail
# `status`/`result` attributes (GoogleTest, tst, converted NUnit/MSTest) when no child element
# states an outcome.
_STATUS = {
    "failed": Outcome.FAILED,
    "failure": Outcome.FAILED,
    "fail": Outcome.FAILED,
    "error": Outcome.ERROR,
    "errored": Outcome.ERROR,
    "skipped": Outcome.SKIPPED,
    "skip": Outcome.SKIPPED,
    "notrun": Outcome.SKIPPED,
    "not run": Outcome.SKIPPED,
    "disabled": Outcome.SKIPPED,
    "ignored": Outcome.SKIPPED,
    "notrunnable": Outcome.SKIPPED,
    "inconclusive": Outcome.SKIPPED,
    "pending": Outcome.SKIPPED,
    "suppressed": Outcome.SKIPPED,
    "xfail": Outcome.XFAILED,
    "xfailed": Outcome.XFAILED,
    "xpass": Outcome.XPASSED,
    "xpassed": Outcome.XPASSED,
}
# libxml2 errors that mean "the document is fine so far but stops" (raised when input ends).
_PASSED = Outcome.PASSED
_NOT_TRUNCATION = frozenset((4, 5))  # XML_ERR_DOCUMENT_EMPTY, XML_ERR_DOCUMENT_END
_PYTHON_TEST_MODULE = re.compile(r"^(?:test_.*|.*_test)$")


MAX_SECONDS = 1e9
"""A finite `time` at or over this (31 years) is no clock's reading: the file is refused, so no sum
of such times can overflow into an infinity in gate.json or durations.json."""


def _seconds(value: str | None, where: str) -> float:
    seconds = parse_seconds(value)
    if seconds >= MAX_SECONDS:
        raise _Refused(
            f'{where} time="{str(value)[:40]}" is over the {MAX_SECONDS:g} s limit; refused'
        )
    return seconds


def parse_seconds(value: str | None) -> float:
    """Seconds from a `time` attribute; 0.0 when absent or meaningless.

    Decimal commas (``"1,5"``, a producer's locale) read as a decimal point; with both a comma and
    a point (``"1,234.5"``) the comma is a thousands separator. Negative times (clock steps
    during the run), NaN and infinities are recorded as 0.0: a duration is never negative.
    """
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        text = value.strip().removesuffix("s")
        text = text.replace(",", "") if "." in text else text.replace(",", ".")
        try:
            seconds = float(text)
        except ValueError:
            return 0.0
    return seconds if 0.0 < seconds < math.inf else 0.0


def split_repetition(name: str) -> tuple[str, int | None]:
    """`test_x[3-10]` -> (`test_x`, 3); `test_x[a-3-10]` -> (`test_x[a]`, 3).

    Per name this is a guess (`test_x[1-2]` may be two parameters); `read_junit` strips a suffix
    only when the whole file shows pytest-repeat's pattern for that test.
    """
    base, rep, _count = _repeat_parts(name)
    return base, rep


def _repeat_parts(name: str) -> tuple[str, int | None, int]:
    m = _REPEAT.search(name)
    if m is None:
        return name, None, 0
    k, n = int(m.group(1)), int(m.group(2))
    if not 1 <= k <= n:
        return name, None, 0
    head = name[: m.start()]
    return (head + "]" if m.group(0)[0] == "-" else head), k, n


def node_id(classname: str | None, name: str, file: str | None, root: Path | None) -> str:
    """The pytest node id of one case (see `_Resolver` for how it is found)."""
    return _Resolver(root).node_id(classname, name, file)


class _Resolver:
    """Maps (classname, file) to a pytest node-id prefix, once per distinct pair.

    - a ``file`` attribute ending in ``.py`` (pytest xunit1) is the path; the classname's parts
      after the file's dotted module name are the classes;
    - otherwise the dotted ``classname`` is mapped back to the longest ``a/b/c.py`` that exists
      under ``root`` (pytest xunit2 writes only the classname);
    - without a match, the first dotted part named like a pytest test module (``test_*`` or
      ``*_test``) is taken as the file;
    - anything else (Java, Go, JS, ...) keeps ``classname::name``.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.prefixes: dict[tuple[str | None, str | None], str | None] = {}
        self._is_file: dict[str, bool] = {}

    def node_id(self, classname: str | None, name: str, file: str | None) -> str:
        key = (classname, file)
        prefix = self.prefixes.get(key, _MISSING)
        if prefix is _MISSING:
            prefix = self.prefixes[key] = self.prefix(classname, file)
        return self.join(prefix, name)

    def join(self, prefix: str | None, name: str) -> str:
        if prefix is None:  # pytest's own id for a collection error: the module is the name
            return self._module_path(name) or name
        return f"{prefix}::{name}" if prefix else name

    def prefix(self, classname: str | None, file: str | None) -> str | None:
        """The node-id prefix of a (classname, file) pair; None for a pytest collection error."""
        if classname == "" and (file is None or file.endswith(".py")):
            return None
        if file and file.endswith(".py"):
            module = file.removesuffix(".py").replace("/", ".").replace("\\", ".")
            if not classname or classname == module:
                return file
            if classname.startswith(module + "."):
                return "::".join([file, *classname[len(module) + 1 :].split(".")])
        if not classname:
            return file or ""
        parts = classname.split(".")
        cut = self._module_end(parts)
        if cut is None:
            return classname
        return "::".join(["/".join(parts[:cut]) + ".py", *parts[cut:]])

    def _module_path(self, dotted: str) -> str | None:
        parts = dotted.split(".")
        return "/".join(parts) + ".py" if self._module_end(parts) == len(parts) else None

    def _module_end(self, parts: list[str]) -> int | None:
        """How many dotted `parts` name the module file: the longest existing one, else a guess."""
        if self.root is not None:
            for cut in range(len(parts), 0, -1):
                candidate = "/".join(parts[:cut]) + ".py"
                found = self._is_file.get(candidate)
                if found is None:
                    found = self._is_file[candidate] = (self.root / candidate).is_file()
                if found:
                    return cut
        for cut, part in enumerate(parts, start=1):
            if _PYTHON_TEST_MODULE.match(part):
                return cut
        return None


def _first_line(parts: list[str]) -> str | None:
    """The first non-blank line of an element's text: its message when it has no attribute."""
    for line in "".join(parts).splitlines():
        if line.strip():
            return line.strip()[:500]
    return None


def _skip_kind(kind: str | None, message: str | None) -> Outcome:
    if kind and "xfail" in kind.lower():
        return Outcome.XFAILED
    if message == _XPASS_MESSAGE:
        return Outcome.XPASSED
    if message and message.startswith(_XFAIL_MESSAGE):
        return Outcome.XFAILED
    return Outcome.SKIPPED


def _text_line(el: Any) -> str | None:
    return _first_line(list(el.itertext()))


def _case_children(case: Any) -> tuple[Outcome, str | None, tuple[Attempt, ...], int]:
    """(outcome, message, attempts, rank) from a case's children: `<failure>` > `<error>` >
    `<skipped>`, the first of the worst kind wins; Surefire's attempts in order."""
    outcome, message, rank = _PASSED, None, 0
    attempts: list[Attempt] = []
    for child in case:
        tag = child.tag
        child_rank = _CHILD_RANK.get(tag, 0)
        if child_rank > rank:
            message = child.get("message") or None
            if child_rank == 3:
                outcome = Outcome.FAILED
            elif child_rank == 2:
                outcome = Outcome.ERROR
            else:
                outcome = _skip_kind(child.get("type"), message)
            rank = child_rank
            if message is None:
                message = _text_line(child)
        elif tag in _ATTEMPTS:
            t = child.get("time")
            attempts.append(
                Attempt(
                    tag,
                    child.get("message") or _text_line(child),
                    child.get("type"),
                    _seconds(t, f"<{tag}>") if t is not None else None,
                )
            )
    return outcome, message, tuple(attempts), rank


_MISSING: Any = object()
# A frozen dataclass's __init__ sets each field through object.__setattr__: ten calls per case,
# a third of the reader's time on a 100k-case file. The reader builds the same value in one.
_new = object.__new__
_set = object.__setattr__
# --- reading bytes -------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM = (
    (b"<\0\0\0", "utf-32-le"),
    (b"\0\0\0<", "utf-32-be"),
    (b"<\0", "utf-16-le"),
    (b"\0<", "utf-16-be"),
)
_DECL_ENCODING = re.compile(r"""^(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")
# 8-bit bytes declared UTF-16 (.NET writers do this): the bytes win, the declaration goes.
_NARROW_DECLARED_WIDE = re.compile(
    rb"""^(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])(?:utf-?16|utf-?32|ucs-?2|ucs-?4|unicode)[^"']*\2""",
    re.IGNORECASE,
)
_PROLOG_SKIP = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_XMLNS = re.compile(r"""\sxmlns\s*=\s*(["'])(.*?)\1""")
_START_TAG = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)(?=[\s/>])([^>]*)")


def _wide_encoding(head: bytes) -> tuple[str, int] | None:
    """UTF-16/32 by BOM or zero-byte pattern: (codec, BOM length)."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec, len(bom)
    for start, codec in _NO_BOM:
        if head.startswith(start):
            return codec, 0
    return None


def _transcoded(first: bytes, handle: IO[bytes], codec: str) -> Iterator[bytes]:
    """The stream as UTF-8, its declaration's encoding dropped (the BOM was the authority)."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    text = _DECL_ENCODING.sub(r"\1", decoder.decode(first), count=1)
    yield text.encode("utf-8", "surrogatepass")
    while chunk := handle.read(_CHUNK):
        yield decoder.decode(chunk).encode("utf-8", "surrogatepass")
    yield decoder.decode(b"", final=True).encode("utf-8", "surrogatepass")


def _prolog(text: str) -> tuple[str, str] | None:
    """(name, rest of start tag) of the root element, or None when `text` ends first.

    Raises `ValueError` naming a DOCTYPE/ENTITY declaration found before the root.
    """
    pos = 0
    while True:
        m = _PROLOG_SKIP.match(text, pos)
        if m is not None:
            pos = m.end()
            continue
        if text.startswith("<!", pos):
            decl = text[pos : pos + 9].upper()
            if decl.startswith(("<!DOCTYPE", "<!ENTITY")):
                kind = "entities (<!ENTITY ...>)" if "<!ENTITY" in text.upper() else "a DOCTYPE"
                raise ValueError(kind)
            return None
        m = _START_TAG.match(text, pos)
        return (m.group(1), m.group(2)) if m else None


class _Refused(Exception):
    """Internal: a refusal whose message gets the file name prepended."""


def _code(exc: etree.XMLSyntaxError) -> int:
    """libxml2's error number (lxml-stubs do not know the attribute)."""
    return int(getattr(exc, "code", 0))


def _syntax(exc: etree.XMLSyntaxError, *, at_end: bool) -> str:
    line, column = exc.position
    where = f"not well-formed XML at line {line}, column {column}"
    if at_end and _code(exc) not in _NOT_TRUNCATION:
        return f"{where} (truncated file?)"
    reason = str(exc.msg or "").split(", line ")[0].strip()
    return f"{where}: {reason}" if reason else where


# --- the reader ----------------------------------------------------------------------------


def read_junit(
    path: str | os.PathLike[str],
    *,
    root: Path | None = None,
    salvage: bool = False,
    max_bytes: int = MAX_BYTES,
    within: Iterable[str | os.PathLike[str]] | None = None,
) -> JUnitReport:
    """Read one JUnit/xUnit XML file of any producer, or raise `InputError` (one line).

    `root` is the project root that pytest-style node ids are relative to (classnames are mapped
    back to files under it). `salvage=True` reads a truncated file as the complete cases before
    the cut (`JUnitReport.salvaged`). Outcomes: `<failure>` > `<error>` > `<skipped>` when a case
    has several; `<skipped type="pytest.xfail">` is xfailed; pytest's strict XPASS is a failure
    (as pytest counts it) and its non-strict XPASS a pass (pytest writes nothing to tell it).
    """
    name = os.fspath(path)
    try:
        # the size is judged below, with the JUnit-specific message
        with safe_open(name, within=within, limit=sys.maxsize) as handle:
            return _Reader(name, handle, root, salvage, max_bytes).read()
    except _Refused as exc:
        raise InputError(f"{name}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None


class _Reader:
    """One file's read: the byte stream, the pull parser's events, and the cases so far."""

    def __init__(
        self, name: str, handle: IO[bytes], root: Path | None, salvage: bool, max_bytes: int
    ) -> None:
        self.name = name
        self.handle = handle
        self.resolver = _Resolver(root)
        self.salvage = salvage
        self.max_bytes = max_bytes
        self.cases: list[Case] = []
        self.candidates: list[int] = []  # indexes of cases whose name may end in a repeat suffix
        self.suites: list[str | None] = []  # names of the testsuites being read, innermost last
        self.top: Any = None  # the root element, once the parser has shown it
        self.time: float | None = None
        self.suite_times: list[float] = []
        self.attempts = False  # a case has Surefire attempts: Surefire wrote the file

    def read(self) -> JUnitReport:
        info = os.fstat(self.handle.fileno())
        if stat.S_ISDIR(info.st_mode):  # pragma: no cover - open() refuses directories on POSIX
            raise _Refused("is a directory, not a JUnit XML file")
        if stat.S_ISREG(info.st_mode) and info.st_size > self.max_bytes:
            raise _Refused(self._too_big(info.st_size))
        first = self.handle.read(_CHUNK)
        if not first.strip():
            raise _Refused("empty file (did the test run crash before writing it?)")
        salvaged = False
        collect = gc.isenabled()
        gc.disable()  # 100k long-lived acyclic values: the cyclic GC would rescan them repeatedly
        try:
            self._parse(self._chunks(first))
        except _Truncated as cut:
            if not self.salvage or self.top is None:
                raise _Refused(cut.message) from None
            salvaged = True
        finally:
            if collect:
                gc.enable()
        return self._report(salvaged)

    def _too_big(self, size: float) -> str:
        mib = 1024 * 1024
        return (
            f"{size / mib:.1f} MiB is over the {self.max_bytes / mib:g} MiB limit for JUnit files "
            "(refused unread; split the test run or raise the limit)"
        )

    def _chunks(self, first: bytes) -> Iterator[bytes]:
        wide = _wide_encoding(first)
        if wide is not None:
            codec, bom = wide
            try:
                chunks: Iterator[bytes] = _transcoded(first[bom:], self.handle, codec)
                head = next(chunks)
            except UnicodeDecodeError as exc:
                raise _Refused(f"not valid {codec.upper()} ({exc.reason})") from None
        else:
            chunks = iter(())
            head = _NARROW_DECLARED_WIDE.sub(rb"\1", first, count=1)
        self._check_prolog(head, wide is not None)
        total = len(head)
        yield head
        source: Iterator[bytes] = (
            chunks if wide is not None else iter(lambda: self.handle.read(_CHUNK), b"")
        )
        while True:
            try:
                chunk = next(source)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise _Refused(
                    f"not valid {wide[0].upper() if wide else 'text'} ({exc.reason})"
                ) from None
            total += len(chunk)
            if total > self.max_bytes:
                raise _Refused(self._too_big(total))
            yield chunk

    def _check_prolog(self, head: bytes, utf8: bool) -> None:
        text = head.decode("utf-8" if utf8 else "latin-1", "replace").removeprefix("\ufeff")
        if text.startswith("ï»¿"):  # a UTF-8 BOM seen through latin-1
            text = text[3:]
        try:
            start = _prolog(text)
        except ValueError as exc:
            raise _Refused(
                f"declares {exc} before its root element; refused unparsed (JUnit XML needs "
                "none, and entity expansion or external entities are never processed)"
            ) from None
        if start is None:
            return
        tag, rest = start
        ns = _XMLNS.search(rest)
        if tag not in (_SUITES, _SUITE) or ns:
            shown = f'{tag} xmlns="{ns.group(2)}"' if ns else tag
            raise _Refused(f"not JUnit XML: root element <{shown}>")

    def _parse(self, chunks: Iterator[bytes]) -> None:
        """libxml2 builds the tree in C and reports only suites and cases; each case is read and
        cleared as it ends, so the tree stays a skeleton of the suites whatever the file's size.
        """
        parser = etree.XMLPullParser(
            events=("start", "end"),
            tag=(_SUITES, _SUITE, _CASE),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            # Text nodes over libxml2's 10 MB default (a long captured log) are legitimate in a
            # file up to MAX_BYTES; the other limits stay (depth 2048, name length), and no
            # entity is ever expanded: a DOCTYPE is refused before parsing.
            huge_tree=True,
        )
        feed, events = parser.feed, parser.read_events
        try:
            for chunk in chunks:
                feed(chunk)
                self._events(events())
        except etree.XMLSyntaxError as exc:
            raise _Refused(_syntax(exc, at_end=False)) from None
        try:
            top = parser.close()
        except etree.XMLSyntaxError as exc:
            self._events(events())
            if _code(exc) in _NOT_TRUNCATION:
                raise _Refused(_syntax(exc, at_end=True)) from None
            raise _Truncated(_syntax(exc, at_end=True)) from None
        self._events(events())
        if self.top is None:  # a root that is neither <testsuites> nor <testsuite>
            self._root(top)

    def _events(self, events: Iterator[tuple[str, Any]]) -> None:
        """Read the cases (the hot path: one call per chunk of the file, one turn per case)."""
        cases, suites = self.cases, self.suites
        append, prefixes, resolver = cases.append, self.resolver.prefixes, self.resolver
        for event, el in events:
            if event == "end":
                if el.tag != _CASE:
                    self._suite_end(el)
                    continue
                get = el.get
                name = get("name") or ""
                classname = get("classname")
                file = get("file")
                t = get("time")
                if t:
                    try:
                        duration = float(t)
                        if not 0.0 < duration < MAX_SECONDS:
                            duration = _seconds(t, f"testcase {name[:200]!r}")
                    except ValueError:
                        duration = _seconds(t, f"testcase {name[:200]!r}")
                else:
                    duration = 0.0
                if len(el):
                    outcome, message, attempts, rank = _case_children(el)
                    if attempts:
                        self.attempts = True
                else:
                    outcome, message, attempts, rank = _PASSED, None, (), 0
                if rank == 0:
                    status = get("result") or get("status")
                    if status:
                        outcome = _STATUS.get(status.lower(), _PASSED)
                        if outcome is not _PASSED:
                            message = get("message")
                if name[-1:] == "]" and _REPEAT.search(name):
                    self.candidates.append(len(cases))
                prefix = prefixes.get((classname, file), _MISSING)
                if prefix is _MISSING:
                    prefix = prefixes[classname, file] = resolver.prefix(classname, file)
                case = _new(Case)
                _set(
                    case,
                    "__dict__",
                    {
                        "node_id": f"{prefix}::{name}" if prefix else resolver.join(prefix, name),
                        "name": name,
                        "outcome": outcome,
                        "duration": duration,
                        "classname": classname,
                        "file": file,
                        "message": message,
                        "repetition": None,
                        "attempts": attempts,
                        "suite": suites[-1] if suites else None,
                    },
                )
                append(case)
                el.clear(keep_tail=True)
                if not len(cases) & 255:  # drop the cleared cases: the tree stays a skeleton
                    parent = el.getparent()
                    for before in list(el.itersiblings(_CASE, preceding=True)):
                        parent.remove(before)
            elif self.top is None:
                self._root(el.getroottree().getroot())
                if el.tag == _SUITE:
                    self._suite_start(el)
            elif el.tag == _SUITE:
                self._suite_start(el)

    # --- the less frequent events ---

    def _root(self, top: Any) -> None:
        if top.getroottree().docinfo.doctype:  # behind a prolog longer than the first chunk
            raise _Refused("declares a DOCTYPE; refused (entities are never processed)")
        tag = top.tag
        if tag not in (_SUITES, _SUITE):
            raise _Refused(f"not JUnit XML: root element <{_display_tag(tag)}>")
        self.top = top

    def _suite_start(self, el: Any) -> None:
        self.suites.append(el.get("name"))

    def _suite_end(self, el: Any) -> None:
        """A suite's own <error>/<failure> (Ant: the class did not load) is one failed case, as
        Jenkins reads it: ignoring it would let a suite that never ran read as green."""
        if el.tag != _SUITE:
            if el is self.top:
                self._finish()
            return
        name = self.suites.pop()
        failure: tuple[Outcome, str | None] | None = None
        for child in el.iterchildren("failure", "error"):
            outcome = Outcome.FAILED if child.tag == "failure" else Outcome.ERROR
            if failure is None or (outcome, failure[0]) == (Outcome.FAILED, Outcome.ERROR):
                failure = (outcome, child.get("message") or _text_line(child))
        if failure is not None:
            shown = name or "<testsuite>"
            duration = _seconds(el.get("time"), f"testsuite {shown[:200]!r}")
            self.cases.append(
                Case(shown, shown, failure[0], duration, message=failure[1], suite=shown)
            )
        if el is self.top:
            self._finish()
        elif self.top.tag == _SUITES and el.getparent() is self.top:
            t = el.get("time")
            if t:
                self.suite_times.append(_seconds(t, "<testsuite>"))

    def _finish(self) -> None:
        t = self.top.get("time")
        times = self.suite_times
        self.time = _seconds(t, "<root>") if t else (sum(times) if times else None)

    def _report(self, salvaged: bool) -> JUnitReport:
        if self.time is None:
            t = self.top.get("time")
            self.time = _seconds(t, "<root>") if t else None
        cases = self.cases
        if self.candidates:
            strip = _repetitions([cases[i] for i in self.candidates], partial=salvaged)
            for i in self.candidates:
                case = cases[i]
                if (case.classname, case.name) in strip:
                    name, rep = strip[case.classname, case.name]
                    node = self.resolver.node_id(case.classname, name, case.file)
                    cases[i] = replace(case, node_id=node, name=name, repetition=rep)
        producer, timestamp = self._described()
        if producer is None and self.attempts:
            producer = "Maven Surefire"
        return JUnitReport(
            path=self.name,
            cases=tuple(cases),
            time=self.time,
            timestamp=timestamp,
            producer=producer,
            salvaged=salvaged,
        )

    def _described(self) -> tuple[str | None, str | None]:
        """(producer, timestamp): the first the root, a suite or a property says, in file order."""
        top = self.top
        producer = _producer(top.tag, top.attrib)
        timestamp = top.get("timestamp")
        for el in top.iter(_SUITE, "property"):
            if el.tag == _SUITE:
                timestamp = timestamp or el.get("timestamp")
                producer = producer or _producer(_SUITE, el.attrib)
            elif producer is None and el.get("name") == "go.version":
                producer = "go-junit-report"
        return producer, timestamp


class _Truncated(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _display_tag(tag: Any) -> str:
    text = str(tag)
    if text.startswith("{"):
        ns, _, local = text[1:].partition("}")
        return f'{local} xmlns="{ns}"'
    return text


def _repetitions(
    cases: list[Case], *, partial: bool
) -> dict[tuple[str | None, str], tuple[str, int]]:
    """Names whose `[k-N]` suffix is pytest-repeat's, decided file-wide.

    A parametrized `test_x[1-2]` looks like a repetition; pytest-repeat shows itself by writing
    every index 1..N of a test, so a group (classname, base name, N) is a repetition when all N
    indexes are there. In a salvaged file the last groups are cut short: there, a group also
    counts when another group with the same N is complete.
    """
    groups: dict[tuple[str | None, str, int], dict[int, list[str]]] = {}
    for case in cases:
        base, k, n = _repeat_parts(case.name)
        if k is not None:
            groups.setdefault((case.classname, base, n), {}).setdefault(k, []).append(case.name)
    complete = {n for (_, _, n), ks in groups.items() if len(ks) == n}
    strip: dict[tuple[str | None, str], tuple[str, int]] = {}
    for (classname, base, n), ks in groups.items():
        if len(ks) == n or (partial and n in complete):
            for k, names in ks.items():
                for name in names:
                    strip[classname, name] = (base, k)
    return strip


_PRODUCERS: tuple[tuple[str, str, Callable[[str], bool], str], ...] = (
    (_SUITES, "name", lambda v: v == "pytest tests", "pytest"),
    (_SUITE, "name", lambda v: v == "pytest", "pytest"),
    (_SUITES, "name", lambda v: v == "jest tests", "jest-junit"),
    (_SUITES, "name", lambda v: v == "AllTests", "GoogleTest"),
    (_SUITE, "name", lambda v: v == "Mocha Tests", "Mocha"),
    (
        _SUITE,
        "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation",
        lambda v: "surefire" in v,
        "Maven Surefire",
    ),
)


def _producer(tag: str, attrib: Mapping[str, str]) -> str | None:
    """The producer, when the root or first suite says it in a way only it does."""
    for kind, attr, test, producer in _PRODUCERS:
        if tag == kind:
            value = attrib.get(attr)
            if value is not None and test(value):
                return producer
    if tag == _SUITE and attrib.get("file") is not None and attrib.get("assertions") is not None:
        return "PHPUnit"
    return None
