"""`testgate gate` on generated hostile report folders, under a memory cap and a timeout:
whatever the folder holds, the exit code is 0, 1 or 2 and stderr has no traceback (issue 15).

Derandomized (a fixed set of examples per run) so the suite stays free of flaky tests; the
examples still mix well-formed and broken JUnit, JSON with any value, odd numbers and names.
"""

from __future__ import annotations

import json
import resource
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from hostile_project import make_project, run_testgate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MEMORY_CAP = 2 * 1024**3  # address space of the gate process: a blow-up dies, not the machine
TIMEOUT = 90

NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(["::add-mask::x", "a\n::error::b", "x\r## PASSED", "`<img src=x>`", "t[a::b]"])
TIMES = st.sampled_from(["1e308", "inf", "nan", "-1", "1,5", "", "1e400", "0.1", "x"]) | st.floats(
    allow_nan=True, allow_infinity=True
).map(repr)
FILES = st.sampled_from(["/dev/zero", "../../etc/passwd", "tests/test_a.py", "/proc/self/mem"])
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def junit_xml(draw: Any) -> bytes:
    if draw(st.booleans()):
        cases = []
        for _ in range(draw(st.integers(0, 4))):
            attrs = f"classname={quoteattr(draw(NAMES))} name={quoteattr(draw(NAMES))}"
            attrs += f" time={quoteattr(draw(TIMES))}"
            if draw(st.booleans()):
                attrs += f" file={quoteattr(draw(FILES))}"
            body = (
                "<failure message=" + quoteattr(draw(NAMES)) + "/>" if draw(st.booleans()) else ""
            )
            cases.append(f"<testcase {attrs}>{body}</testcase>")
        text = f"<testsuite name={quoteattr(draw(NAMES))} time={quoteattr(draw(TIMES))}>"
        return (text + "".join(cases) + "</testsuite>").encode("utf-8", "surrogatepass")
    raw: bytes = draw(st.binary(max_size=200))
    return raw


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


FOLDER = st.fixed_dictionaries(
    {
        "junit/unit.xml": junit_xml(),
        "junit/unit-1.xml": st.none() | junit_xml(),
        "junit/unit-1.json": st.none()
        | JSON.map(json_bytes)
        | st.builds(lambda n: json_bytes({"splits": n}), st.integers(-5, 10**15)),
        "flaky.json": st.none()
        | JSON.map(json_bytes)
        | st.builds(
            lambda tests: json_bytes(
                {"meta": {"format": 1, "count": 1}, "runs": [{}], "tests": tests}
            ),
            JSON,
        ),
        "coverage.json": st.none() | JSON.map(json_bytes) | st.binary(max_size=50),
    }
)
CONFIG = st.sampled_from(
    [
        "",
        "[tool.testgate.durations]\nmax_test = 0.5\n",
        "[tool.testgate.coverage]\nfail_under = 50\n",
        "[tool.testgate.tests]\nmin_count = 1\n",
        "[tool.testgate.durations]\nmax_test = nan\n",
    ]
)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(folder=FOLDER, config=CONFIG, github=st.booleans())
def test_the_gate_survives_any_report_folder(
    folder: dict[str, bytes | None], config: str, github: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "p", config)
        for name, content in folder.items():
            if content is not None:
                path = root / "reports" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        env = (
            {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(root / "s.md")} if github else {}
        )
        done = run_testgate(root, "gate", env=env, timeout=TIMEOUT, preexec=_limits)
        assert done.returncode in (0, 1, 2), done.stderr[-2000:]
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        assert "\x1b]" not in done.stdout + done.stderr
        commands = [
            ln for ln in (done.stdout + done.stderr).splitlines() if ln.lstrip().startswith("::")
        ]
        assert all(
            ln.startswith(("::error file=", "::warning file=", "::notice file=")) for ln in commands
        )
        gate_json = root / "reports" / "gate.json"
        if gate_json.exists():
            json.loads(gate_json.read_text(encoding="utf-8"), parse_constant=_not_json)


def _not_json(constant: str) -> None:
    raise AssertionError(f"{constant} in gate.json")
