"""Read JUnit/xUnit XML from any producer into `JUnitReport` values.

Baseline reader: safe parser settings and pytest node ids. (The foundation issue hardens it
against the whole corpus.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lxml import etree

from testgate.errors import InputError
from testgate.model import Attempt, Case, JUnitReport, Outcome

MAX_BYTES = 512 * 1024 * 1024
_REPEAT = re.compile(r"(?:\[|-)(\d+)-(\d+)\]$")
_ATTEMPTS = ("flakyFailure", "flakyError", "rerunFailure", "rerunError")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )


def split_repetition(name: str) -> tuple[str, int | None]:
    """`test_x[3-10]` -> (`test_x`, 3); `test_x[a-3-10]` -> (`test_x[a]`, 3)."""
    m = _REPEAT.search(name)
    if not m or int(m.group(1)) > int(m.group(2)) or int(m.group(1)) < 1:
        return name, None
    head = name[: m.start()]
    return (head + "]" if m.group(0)[0] == "-" else head), int(m.group(1))


def node_id(classname: str | None, name: str, file: str | None, root: Path | None) -> str:
    if classname and root is not None:
        parts = classname.split(".")
        for cut in range(len(parts), 0, -1):
            candidate = "/".join(parts[:cut]) + ".py"
            if (root / candidate).is_file():
                return "::".join([candidate, *parts[cut:], name])
    if file and classname:
        module = file.removesuffix(".py").replace("/", ".")
        rest = classname[len(module) + 1 :].split(".") if classname.startswith(module + ".") else []
        return "::".join([file, *[p for p in rest if p], name])
    return f"{classname}::{name}" if classname else name


def _float(value: str | None) -> float:
    try:
        return max(0.0, float((value or "0").replace(",", ".")))
    except ValueError:
        return 0.0


def read_junit(
    path: str | os.PathLike[str], *, root: Path | None = None, salvage: bool = False
) -> JUnitReport:
    name = os.fspath(path)
    del salvage  # the hardened reader salvages truncated files
    try:
        size = os.path.getsize(name)
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})") from None
    if size == 0:
        raise InputError(f"{name}: empty file (did the test run crash before writing it?)")
    if size > MAX_BYTES:
        raise InputError(f"{name}: {size} bytes is over the {MAX_BYTES}-byte limit")
    try:
        tree = etree.parse(name, _parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{name}: not well-formed XML ({exc.msg})") from None
    top = tree.getroot()
    if top.tag not in ("testsuites", "testsuite"):
        raise InputError(f"{name}: not JUnit XML: root element <{top.tag}>")
    cases = []
    for el in top.iter("testcase"):
        raw_name = el.get("name", "")
        test_name, rep = split_repetition(raw_name)
        outcome = Outcome.PASSED
        message = None
        attempts = []
        for child in el:
            tag = child.tag
            if tag == "failure":
                outcome, message = Outcome.FAILED, child.get("message")
            elif tag == "error":
                outcome, message = Outcome.ERROR, child.get("message")
            elif tag == "skipped":
                t = child.get("type", "")
                outcome = Outcome.XFAILED if "xfail" in t else Outcome.SKIPPED
                message = child.get("message")
            elif tag in _ATTEMPTS:
                attempts.append(Attempt(str(tag), child.get("message"), child.get("type")))
        cases.append(
            Case(
                node_id=node_id(el.get("classname"), test_name, el.get("file"), root),
                name=test_name,
                outcome=outcome,
                duration=_float(el.get("time")),
                classname=el.get("classname"),
                file=el.get("file"),
                message=message,
                repetition=rep,
                attempts=tuple(attempts),
            )
        )
    time = top.get("time")
    if time is None and top.tag == "testsuites":
        suites = top.findall("testsuite")
        time = str(sum(_float(s.get("time")) for s in suites)) if suites else None
    return JUnitReport(path=name, cases=tuple(cases), time=_float(time) if time else None)
