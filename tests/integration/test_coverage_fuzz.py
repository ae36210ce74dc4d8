"""Whatever bytes sit where coverage data should be, the reader returns data or raises our
one-line InputError: never a traceback of coverage.py, SQLite, lxml or json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testgate.errors import InputError
from testgate.model import CoverageData
from testgate.read.coverage import SQLITE_HEADER, read_coverage

FUZZ = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What the number, percentage and path parsers react to, plus markup and non-ASCII. A fixed
# alphabet also spares Hypothesis building its Unicode tables (2.6 s on a first run).
ALPHABET = "0123456789.,-+eE%() /:abcxyz<>&'\"\t\u00e9\u00a0\u20ac\U0001f600"
TEXT = st.text(alphabet=ALPHABET, max_size=8)
PREFIXES = [
    b"",
    b"{",
    b"[",
    b"<coverage>",
    b"<?xml version='1.0' encoding='bogus'?><coverage>",
    b"\xef\xbb\xbf<coverage>",
    "\ufeff<coverage>".encode("utf-16"),
    SQLITE_HEADER,
    b"!coverage.py",
]


def outcome(path: Path, root: Path) -> CoverageData | str:
    try:
        return read_coverage(path, root=root)
    except InputError as exc:
        message = exc.message
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(prefix=st.sampled_from(PREFIXES), rest=st.binary(max_size=400))
def test_arbitrary_bytes(where: Path, prefix: bytes, rest: bytes) -> None:
    path = where / "input"
    path.write_bytes(prefix + rest)
    outcome(path, where)


ATTR = st.one_of(
    TEXT,
    st.integers(-3, 10**30).map(str),
    st.sampled_from(["1e400", "nan", "true", "50% (1/2)", "0% (3/2)", "exit,4", ""]),
)


@FUZZ
@given(
    lines=st.lists(
        st.tuples(ATTR, ATTR, ATTR, ATTR, ATTR, st.sampled_from(["", "a.py", "/x/b.py"])),
        max_size=6,
    )
)
def test_cobertura_with_arbitrary_attributes(where: Path, lines: list[tuple[str, ...]]) -> None:
    classes = "".join(
        f"<class filename={quoteattr(f)}><lines><line number={quoteattr(n)} hits={quoteattr(h)}"
        f" branch={quoteattr(b)} condition-coverage={quoteattr(c)}"
        f" missing-branches={quoteattr(m)}/></lines></class>"
        for n, h, b, c, m, f in lines
    )
    path = where / "cobertura.xml"
    path.write_text(f"<coverage><packages><package><classes>{classes}</classes></package>"
                    "</packages></coverage>")  # fmt: skip
    result = outcome(path, where)
    if isinstance(result, CoverageData):
        for file in result.files.values():
            assert 0 <= file.missing <= file.statements
            assert 0 <= len(file.missing_branches) <= file.branches


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 5) | st.text(alphabet=ALPHABET, max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet=ALPHABET, max_size=4), inner, max_size=3)
    ),
    max_leaves=12,
)


@FUZZ
@given(
    files=st.dictionaries(st.sampled_from(["a.py", "/x/b.py"]), JSON, max_size=2),
    totals=JSON,
    meta=JSON,
)
def test_json_with_arbitrary_values(where: Path, files: Any, totals: Any, meta: Any) -> None:
    path = where / "coverage.json"
    path.write_text(json.dumps({"meta": meta, "files": files, "totals": totals}))
    outcome(path, where)


def test_deeply_nested_json(where: Path) -> None:
    path = where / "deep.json"
    path.write_text("[" * 200_000)
    assert "nested too deeply" in str(outcome(path, where))
