"""Run testgate's JUnit reader over the shared corpus of real-world files.

    python tests/corpus/run_corpus.py [CORPUS_DIR]     (default: ../shared/junit-corpus)

Every file must be read, with totals that agree with its test cases, or refused with one line
naming it. A refusal is *expected* when FILES.tsv says the file is not readable JUnit:

- its flags include EMPTY, MALFORMED or DOCTYPE/ENTITY (broken or hostile input), or
- its root element is not <testsuites>/<testsuite> (native NUnit, TRX, xUnit.net, not XML), or
  the producer column calls it native/non-JUnit XML (libcheck's namespaced <testsuites>), or
- the source repository's own tests expect reading it to fail.

Any other refusal, any exception that is not testgate's `InputError`, a refusal message that is
not one line starting with the file's path, or a read file whose totals disagree with an
independent count of its <testcase> elements is *unexpected*: exit 1, each one listed.
"""

from __future__ import annotations

import csv
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from testgate.errors import InputError
from testgate.model import JUnitReport
from testgate.read.junit import read_junit

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT = (PROJECT / ".." / "shared" / "junit-corpus").resolve()
BROKEN_FLAGS = ("EMPTY", "MALFORMED", "DOCTYPE/ENTITY")


@dataclass
class Tally:
    read: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    flagged_but_read: list[str] = field(default_factory=list)
    cross_checked: int = 0
    declared_differ: int = 0
    tests: int = 0


def refusal_expected(row: dict[str, str]) -> bool:
    flags = row["flags"].split(",")
    producer = row["producer_judged"]
    return (
        any(f in flags for f in BROKEN_FLAGS)
        or row["root_element"] not in ("testsuites", "testsuite")
        or "native XML" in producer
        or producer.startswith(("non-JUnit", "not XML"))
        or bool(row["expected_to_fail_per_source"].strip())
    )


def independent_count(path: Path) -> int | None:
    """<testcase> elements anywhere, plus suites with their own error/failure (read as cases)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        top = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError:
        return None  # e.g. a mislabelled UTF-16 file libxml2 will not take as is
    cases = sum(1 for _ in top.iter("testcase"))
    suite_failures = sum(
        1
        for suite in top.iter("testsuite")
        if any(child.tag in ("error", "failure") for child in suite)
    )
    return cases + suite_failures


def declared_tests(path: Path) -> int | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        top = etree.parse(str(path), parser).getroot()
        value = top.get("tests")
        if value is None:
            return sum(int(s.get("tests", "0")) for s in top.findall("testsuite"))
        return int(value)
    except (etree.XMLSyntaxError, ValueError):
        return None


def check_report(path: Path, report: JUnitReport, tally: Tally) -> str | None:
    totals = report.totals
    parts = totals.passed + totals.failed + totals.errors + totals.skipped + totals.xfailed
    if parts != totals.tests:  # skipped and xfailed apart, xpassed within passed
        return f"outcomes {totals} do not add up to the case count"
    if any(not (c.duration >= 0 and math.isfinite(c.duration)) for c in report.cases):
        return "a case has a negative or non-finite duration"
    counted = independent_count(path)
    if counted is not None:
        tally.cross_checked += 1
        if counted != totals.tests:
            return f"{totals.tests} cases read but the file has {counted} <testcase> elements"
    if declared_tests(path) not in (None, totals.tests):
        tally.declared_differ += 1
    return None


def main(argv: list[str]) -> int:
    corpus = Path(argv[0]) if argv else DEFAULT
    index = corpus / "FILES.tsv"
    if not index.is_file():
        print(f"run_corpus: {index} not found (is the corpus at {corpus}?)", file=sys.stderr)
        return 2
    with index.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    tally = Tally()
    started = time.perf_counter()
    for row in rows:
        path = corpus / row["path"]
        try:
            report = read_junit(path)
        except InputError as exc:
            message = exc.message
            if "\n" in message or not message.startswith(f"{path}: "):
                tally.unexpected.append(f"{row['path']}: badly formed refusal {message!r}")
            elif refusal_expected(row):
                tally.expected.append(row["path"])
            else:
                tally.unexpected.append(f"{row['path']}: refused: {message}")
            continue
        except Exception as exc:  # anything else is exactly what this run looks for
            tally.unexpected.append(f"{row['path']}: {type(exc).__name__}: {exc}")
            continue
        problem = check_report(path, report, tally)
        if problem is not None:
            tally.unexpected.append(f"{row['path']}: {problem}")
            continue
        tally.read.append(row["path"])
        tally.tests += report.totals.tests
        if refusal_expected(row):
            tally.flagged_but_read.append(f"{row['path']} [{row['flags'] or row['root_element']}]")
    seconds = time.perf_counter() - started
    print(f"junit corpus: {corpus} ({len(rows)} files, {seconds:.1f} s)")
    print(f"  read:                  {len(tally.read):4d}  ({tally.tests} test cases)")
    print(f"    cross-checked:       {tally.cross_checked:4d}  (cases == <testcase> elements)")
    print(f"    producer's own `tests` count differs: {tally.declared_differ} (informational)")
    print(f"  refused as expected:   {len(tally.expected):4d}")
    print(f"  refused unexpectedly:  {len(tally.unexpected):4d}")
    for line in tally.unexpected:
        print(f"    {line}")
    if tally.flagged_but_read:
        print(f"  read although flagged: {len(tally.flagged_but_read):4d}")
        for line in tally.flagged_but_read:
            print(f"    {line}")
    return 1 if tally.unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
