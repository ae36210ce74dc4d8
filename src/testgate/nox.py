"""testgate's nox sessions, for this repository and for any other project's noxfile.

A project registers them in two lines of its noxfile::

    from testgate.nox import register
    register()

The sessions stay thin: pytest and coverage.py do the measuring, the `testgate` CLI does every
evaluation, so tox or a bare CI script runs the same stages (see ci/tox.toml).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nox

from testgate._layout import (
    _inside,
    branch_enabled,
    coverage_settings,
    detect,
    install_origin,
    render_ini,
    session_coverage,
)
from testgate.config import load
from testgate.errors import TestgateError

# The sessions measure the project under test themselves. A coverage configuration inherited
# from an outer measured process (a CI step under coverage, testgate's own integration tests)
# would otherwise start a second tracer in every Python process the session runs.
_OUTER_COVERAGE: dict[str, str | None] = {
    "COVERAGE_PROCESS_CONFIG": None,
    "COVERAGE_PROCESS_START": None,
    "COVERAGE_FILE": None,
    # pytest caches its assertion-rewritten test modules as bytecode; without the cache every
    # run re-rewrites every assert (over a second for a few hundred tests), which a session
    # budget would then measure as test time.
    "PYTHONDONTWRITEBYTECODE": None,
}

SESSIONS = ("unit", "integration", "coverage", "durations", "gate", "flaky")
DEFAULT_SESSIONS = ("unit", "integration", "coverage", "durations", "gate")
TOOLS = ("pytest", "pytest-xdist", "coverage[toml]>=7.10")


@dataclass(frozen=True)
class Project:
    """How the project under test is installed and where its tests and reports live.

    Every field left at None is read from the project's own files (see `testgate._layout`):
    pytest's `testpaths`, the dependency group or extra with the test requirements, and where
    the running testgate was installed from.
    """

    install: tuple[str, ...] | None = None
    """pip/uv arguments that install the project under test (None: `-e .`, with the test
    extra when the project has one)."""
    groups: tuple[str, ...] | None = None
    """PEP 735 dependency groups with the test requirements (None: the first of test, tests,
    testing, dev that the project has)."""
    extra_requirements: tuple[str, ...] = TOOLS
    """Always installed into the test sessions, whatever the groups say."""
    testgate: tuple[str, ...] | None = None
    """pip/uv arguments that install testgate itself into the sessions that run its CLI
    (None: from wherever the running testgate came from; () when the venv already has it)."""
    unit: tuple[str, ...] | None = None
    """pytest targets of the unit session (None: tests/unit, else testpaths, else tests/)."""
    integration: tuple[str, ...] | None = None
    """pytest targets of the integration session (None: tests/integration when it exists;
    () registers no integration session)."""
    reports: str | None = None
    """Where reports go; None: `[tool.testgate] reports`, as the testgate CLI reads it."""
    workers: str | None = None
    """pytest-xdist `-n` for the unit session (None: decided from the recorded durations)."""
    uses_coverage_api: bool = False
    """The code under test creates coverage.Coverage objects itself (testgate does). coverage.py
    stops auto-measuring any process that does, losing a whole xdist worker's data; True keeps
    measuring them (COVERAGE_COVERAGE=1, coverage.py's switch for measuring itself)."""
    python: str | tuple[str, ...] | None = None
    """The interpreter(s) of the test sessions (None: the one nox runs with). Several
    (`("3.10", "3.12")`): each test session runs once per version, reports side by side."""
    reuse_venv: bool = True
    default: tuple[str, ...] = field(default=DEFAULT_SESSIONS)
    """The sessions plain `nox` runs."""


@dataclass(frozen=True)
class Plan:
    """A Project with every field decided: what the sessions do, and how it was found."""

    install: tuple[str, ...]
    groups: tuple[str, ...]
    requirements: tuple[str, ...]
    extra_requirements: tuple[str, ...]
    testgate: tuple[str, ...] | None
    testgate_error: str | None
    unit: tuple[str, ...]
    unit_ignore: tuple[str, ...]
    integration: tuple[str, ...]
    reports: str | None
    workers: str | None
    uses_coverage_api: bool
    pythons: tuple[str, ...] | None
    """Several interpreters: the test sessions are parametrized and name their reports."""
    python: str | None
    reuse_venv: bool
    notes: dict[str, str]


def running_testgate() -> tuple[str, ...]:
    """pip/uv arguments that install the testgate this code is, into another venv."""
    import importlib.metadata as metadata

    package = Path(__file__).resolve().parent
    try:
        dist = metadata.distribution("testgate")
    except metadata.PackageNotFoundError:
        return install_origin(package, None, None, None)
    files = Path(str(dist.locate_file("")))
    return install_origin(package, dist.read_text("direct_url.json"), dist.version, files)


def plan(project: Project, root: Path) -> Plan:
    layout = detect(root)
    notes = dict(layout.notes)
    install = project.install
    if install is None:
        install = ("-e", f".[{','.join(layout.extras)}]" if layout.extras else ".")
    groups = layout.groups if project.groups is None else project.groups
    if project.groups is not None:
        notes["requirements"] = ", ".join(f"group {g}" for g in groups) or "given"
    testgate, error = project.testgate, None
    if testgate is None:
        try:
            testgate = running_testgate()
        except LookupError as exc:
            error = str(exc)
    unit = layout.unit if project.unit is None else project.unit
    integration = layout.integration if project.integration is None else project.integration
    if project.unit is not None:
        notes["unit"] = " ".join(unit)
    if project.integration is not None:
        notes["integration"] = " ".join(integration)
    ignore = tuple(i for i in integration for u in unit if _inside(i, u) and i != u)
    if not unit and integration:
        ignore = tuple(integration)
    pythons = None if project.python is None or isinstance(project.python, str) else project.python
    return Plan(
        install=install,
        groups=groups,
        requirements=layout.requirements if project.groups is None else (),
        extra_requirements=project.extra_requirements,
        testgate=testgate,
        testgate_error=error,
        unit=unit,
        unit_ignore=ignore,
        integration=integration,
        reports=project.reports,
        workers=project.workers,
        uses_coverage_api=project.uses_coverage_api,
        pythons=tuple(pythons) if pythons else None,
        python=project.python if isinstance(project.python, str) else None,
        reuse_venv=project.reuse_venv,
        notes=notes,
    )


@dataclass(frozen=True)
class Shard:
    group: int
    splits: int

    @property
    def suffix(self) -> str:
        return f"-{self.group}"


def parse_shard(posargs: Sequence[str]) -> tuple[Shard | None, list[str]]:
    """Take `--shard K/N` (or `--shard=K/N`) out of the pytest arguments."""
    rest: list[str] = []
    spec: str | None = None
    args = iter(posargs)
    for arg in args:
        if arg == "--shard":
            spec = next(args, "")
        elif arg.startswith("--shard="):
            spec = arg.partition("=")[2]
        else:
            rest.append(arg)
    if spec is None:
        return None, rest
    group, sep, splits = spec.partition("/")
    if not (sep and group.isdigit() and splits.isdigit()):
        raise ValueError(f"--shard {spec!r}: expected K/N, e.g. --shard 2/4")
    shard = Shard(int(group), int(splits))
    if not 1 <= shard.group <= shard.splits:
        raise ValueError(f"--shard {spec}: group K must be between 1 and N")
    return shard, rest


def chooses_workers(pytest_args: Sequence[str]) -> bool:
    """True when the caller already said how (or whether) xdist distributes the run."""
    for arg in pytest_args:
        if arg in ("-n", "--numprocesses", "--dist") or arg.startswith(
            ("-n", "--numprocesses=", "--dist=")
        ):
            return True
        if arg in ("-pno:xdist", "no:xdist"):
            return True
    return False


# Files whose change can change what an install brings in.
_INSTALL_INPUTS = ("pyproject.toml", "setup.cfg", "setup.py", "uv.lock")


def install_stamp(args: Sequence[str], root: Path) -> str:
    """What an install depends on: its arguments and the project files that name requirements
    (an editable install follows source changes by itself)."""
    files = [*_INSTALL_INPUTS, *(a for a in args if a.endswith(".txt"))]
    state = {name: _mtime(root / name) for name in files}
    return json.dumps({"args": list(args), "files": state}, sort_keys=True)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _install(session: nox.Session, *args: str) -> None:
    """Compile bytecode at install time, as pip does and uv does not by default: otherwise the
    first test run compiles every imported module and a session budget measures it.

    A reused venv skips an install identical to its last one (same arguments, same project
    files): resolving again costs seconds every run and changes nothing."""
    if not args:
        return
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    key = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
    stamp_file = Path(location) / f"testgate-install-{key}.json" if location else None
    stamp = install_stamp(args, Path.cwd())
    if stamp_file is not None and _read_text(stamp_file) == stamp:
        session.log("install skipped: the same as the venv's last install")
        return
    # not measured by an outer coverage run: uv's compile workers are killed when done, and
    # each would leave an unfinished (even empty) data file in that run's data folder
    session.install(*args, env={**_OUTER_COVERAGE, "UV_COMPILE_BYTECODE": "1"})
    if stamp_file is not None:
        stamp_file.write_text(stamp, encoding="utf-8")


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _install_tests(session: nox.Session, plan: Plan) -> None:
    groups = [arg for group in plan.groups for arg in ("--group", group)]
    files = [arg for name in plan.requirements for arg in ("-r", name)]
    _install(session, *plan.install, *groups, *files, *plan.extra_requirements)


def _install_testgate(session: nox.Session, plan: Plan, *more: str) -> None:
    if plan.testgate is None:
        session.error(plan.testgate_error or "testgate: no install source")
    _install(session, *plan.testgate, *more)


def _reports(session: nox.Session, plan: Plan) -> Path:
    """The reports folder the `testgate` commands will read (nox runs in the project root)."""
    if plan.reports is not None:
        return Path.cwd() / plan.reports
    try:
        return load(Path.cwd()).reports_dir
    except TestgateError as exc:
        session.error(exc.message)


def _reports_option(plan: Plan) -> list[str]:
    return [] if plan.reports is None else ["--reports", plan.reports]


def _fresh(*paths: Path) -> None:
    """Remove what a previous run left, so a crashed run can never leave stale results behind."""
    for path in paths:
        path.unlink(missing_ok=True)


def _prime_rewrite_cache(session: nox.Session, targets: Sequence[str]) -> None:
    """Once per checkout, rewrite the test modules before the measured run, as compiling is
    kept out of a program's run time; a warm cache makes this a no-op."""
    folders = [Path(t) for t in targets if Path(t).is_dir()]
    if not folders or any(next(f.rglob("*-pytest-*.pyc"), None) for f in folders):
        return
    if Path("src").is_dir():  # an editable install's sources are not compiled by the installer
        session.run("python", "-m", "compileall", "-q", "src", env=_OUTER_COVERAGE)
    session.run(
        "python", "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *map(str, folders),
        env=_OUTER_COVERAGE, silent=True, success_codes=range(6),
    )  # fmt: skip


def report_name(session: nox.Session, plan: Plan, name: str) -> str:
    """`unit`, or `unit-py3.12` when the session runs on several interpreters side by side."""
    if plan.pythons and session.python:
        return f"{name}-py{session.python}"
    return name


def coverage_rcfile(session: nox.Session) -> tuple[Path, bool]:
    """The project's own coverage.py settings plus what the sessions need, in a file of the
    session's own (the project's files stay untouched). Returns (file, branch coverage)."""
    source, sections = coverage_settings(Path.cwd(), os.environ.get("COVERAGE_RCFILE"))
    settings = session_coverage(sections)
    # in the venv's folder: session.create_tmp() would also point TMPDIR into the project,
    # where a test's tmp_path then sits below the project's own pyproject.toml
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    folder = Path(location) if location else Path(tempfile.mkdtemp(prefix="testgate-"))
    rcfile = folder / "testgate-coverage.ini"
    origin = f"# from {source}\n" if source else "# the project has no coverage.py settings\n"
    rcfile.write_text(origin + render_ini(settings), encoding="utf-8")
    return rcfile, branch_enabled(settings)


def interpreter(session: nox.Session) -> tuple[tuple[int, int], str]:
    """The session interpreter's (major, minor) and full version."""
    code = "import platform; print(platform.python_version())"
    out = session.run("python", "-c", code, silent=True, env=_OUTER_COVERAGE)
    full = str(out).split()[-1]
    major, minor = full.split(".")[:2]
    return (int(major), int(minor)), full


def coverage_core(version: tuple[int, int], branch: bool) -> str | None:
    """sys.monitoring (`sysmon`) where coverage.py can use it: 3.12+ for line coverage, 3.14+
    with branches (coverage.py picks it itself there). None: coverage.py's default (ctrace)."""
    if version >= (3, 14) or (version >= (3, 12) and not branch):
        return "sysmon"
    return None


def _timing_file(reports: Path, name: str) -> Path:
    return reports / "sessions" / f"{name}.json"


def _previous(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def choose_workers(previous: Mapping[str, Any], cores: int) -> str | None:
    """pytest-xdist workers when they pay, judged from this session's recorded runs.

    No record: serial (it measures what the suite costs). Both modes recorded: the faster by
    10%. Only serial: xdist when starting and collecting in every worker (the serial run's wall
    time beyond its test time, once more) plus the test time spread over the cores is clearly
    below the serial wall time.
    """
    if cores < 2:
        return None
    serial, xdist = previous.get("serial"), previous.get("xdist")
    if isinstance(serial, dict) and isinstance(xdist, dict):
        return str(cores) if xdist["wall"] < 0.9 * serial["wall"] else None
    if isinstance(serial, dict):
        wall, tests = float(serial["wall"]), float(serial["test_seconds"])
        overhead = max(wall - tests, 0.0)
        predicted = 2 * overhead + 1.1 * tests / cores
        return str(cores) if predicted < 0.8 * wall else None
    return None


def run_pytest(
    session: nox.Session,
    plan: Plan,
    *,
    name: str,
    targets: Sequence[str],
    pytest_args: Sequence[str],
    workers: str | None,
    decide: bool = False,
) -> None:
    """pytest under coverage.py: JUnit to reports/junit/NAME.xml, data to reports/coverage/,
    and reports/sessions/NAME.json saying how it was measured (interpreter, coverage core,
    branch, xdist workers, wall time)."""
    reports = _reports(session, plan)
    junit = reports / "junit" / f"{name}.xml"
    data = reports / "coverage" / f".coverage.{name}"
    timing = _timing_file(reports, name)
    junit.parent.mkdir(parents=True, exist_ok=True)
    data.parent.mkdir(parents=True, exist_ok=True)
    previous = _previous(timing)
    _fresh(junit, *data.parent.glob(f".coverage.{name}.*"))
    _prime_rewrite_cache(session, targets)
    rcfile, branch = coverage_rcfile(session)
    release, version = interpreter(session)
    core = coverage_core(release, branch)
    if decide and workers is None:
        workers = choose_workers(previous, os.cpu_count() or 1)
    xdist: list[str] = []
    if workers is not None and not chooses_workers(pytest_args):
        xdist = ["-n", workers]
    ignore = [f"--ignore={path}" for path in plan.unit_ignore] if name.startswith("unit") else []
    env = {**_OUTER_COVERAGE, "COVERAGE_COVERAGE": "1" if plan.uses_coverage_api else None}
    if core is not None:
        env["COVERAGE_CORE"] = core
    started = time.perf_counter()
    session.run(
        "python", "-m", "coverage", "run", f"--rcfile={rcfile}", "--parallel-mode",
        f"--data-file={data}", "-m", "pytest", *targets, *ignore, f"--junitxml={junit}",
        *xdist, *pytest_args, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if xdist and len(list(data.parent.glob(f".coverage.{name}.*"))) < 2:
        # Only the controller wrote data: the workers ran unmeasured, the total would lie.
        session.error(
            f"coverage.py did not measure the pytest-xdist workers ({data.parent}): "
            "coverage >= 7.10 measures them (patch = subprocess); check the installed version"
        )
    tests, test_seconds = junit_totals(junit)
    mode = "xdist" if xdist else "serial"
    entry = {"wall": round(wall, 3), "test_seconds": round(test_seconds, 3), "tests": tests}
    record = {
        "meta": {"format": 1, "tool": "testgate"},
        "session": name,
        "python": version,
        "instrumented": True,
        "coverage": {"core": core or "ctrace", "branch": branch, "rcfile": str(rcfile)},
        "xdist_workers": workers if xdist else None,
        "wall_seconds": round(wall, 3),
        "serial": previous.get("serial"),
        "xdist": previous.get("xdist"),
    }
    if not chooses_workers(pytest_args) and not pytest_args:
        record[mode] = entry  # only a full run of the suite says what a mode costs
    write_json_atomic(timing, record)
    session.log(
        f"{tests} tests, {test_seconds:.2f} s test time, {wall:.2f} s session wall time, measured "
        f"under coverage ({core or 'ctrace'} core, branch={branch}), "
        f"{'xdist -n ' + str(workers) if xdist else 'serial'}"
    )


def junit_totals(path: Path) -> tuple[int, float]:
    """(test cases, summed durations) of pytest's own JUnit file."""
    import xml.etree.ElementTree as ET

    try:
        tree = ET.parse(path)  # noqa: S314 - pytest's output of this session, not foreign XML
    except (OSError, ET.ParseError):
        return 0, 0.0
    cases = list(tree.iter("testcase"))
    return len(cases), sum(float(c.get("time") or 0) for c in cases)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)


def unit(session: nox.Session, plan: Plan) -> None:
    try:
        shard, pytest_args = parse_shard(session.posargs)
    except ValueError as exc:
        session.error(str(exc))
    _install_tests(session, plan)
    name = report_name(session, plan, "unit")
    if shard is None:
        run_pytest(
            session,
            plan,
            name=name,
            targets=plan.unit,
            pytest_args=pytest_args,
            workers=plan.workers,
            decide=True,
        )
        return
    _install_testgate(session, plan)
    reports = _reports(session, plan)
    node_ids = reports / f"shard-{name}{shard.suffix}.txt"
    # the manifest next to the shard's JUnit file lets the gate tell when a shard is missing
    manifest = reports / "junit" / f"{name}{shard.suffix}.json"
    _fresh(node_ids, manifest)
    ignore = [f"--ignore={path}" for path in plan.unit_ignore]
    session.run(
        "testgate", "shard", "--splits", str(shard.splits), "--group", str(shard.group),
        "--output", str(node_ids), "--manifest", str(manifest), "--", *plan.unit, *ignore,
        env=_OUTER_COVERAGE,
    )  # fmt: skip
    run_pytest(
        session,
        plan,
        name=f"{name}{shard.suffix}",
        targets=[f"@{node_ids}"],
        pytest_args=pytest_args,
        workers=plan.workers,
        decide=True,
    )


def integration(session: nox.Session, plan: Plan) -> None:
    _install_tests(session, plan)
    run_pytest(
        session,
        plan,
        name=report_name(session, plan, "integration"),
        targets=plan.integration,
        pytest_args=session.posargs,
        workers=None,
    )


def _cli(session: nox.Session, plan: Plan, command: str) -> None:
    _install_testgate(session, plan)
    session.run("testgate", command, *_reports_option(plan), *session.posargs, env=_OUTER_COVERAGE)


def coverage(session: nox.Session, plan: Plan) -> None:
    _cli(session, plan, "coverage")


def durations(session: nox.Session, plan: Plan) -> None:
    _cli(session, plan, "durations")


def gate(session: nox.Session, plan: Plan) -> None:
    _cli(session, plan, "gate")


def flaky(session: nox.Session, plan: Plan) -> None:
    # The hunt runs the project's own tests with this interpreter's pytest.
    _install_tests(session, plan)
    _install_testgate(session, plan, "pytest-randomly", "pytest-repeat")
    session.run("testgate", "flaky", *_reports_option(plan), *session.posargs, env=_OUTER_COVERAGE)


SessionBody = Callable[[nox.Session, Plan], None]

_BODIES: dict[str, SessionBody] = {
    "unit": unit,
    "integration": integration,
    "coverage": coverage,
    "durations": durations,
    "gate": gate,
    "flaky": flaky,
}
_REQUIRES: dict[str, list[str]] = {"gate": ["unit", "integration"]}
TEST_SESSIONS = ("unit", "integration", "flaky")


def describe(name: str, plan: Plan) -> str:
    """The one line `nox -l` shows: what the session does with what it detected."""
    needs = plan.notes.get("requirements", "")
    if name == "unit":
        ignore = f" minus {', '.join(plan.unit_ignore)}" if plan.unit_ignore else ""
        return (
            f"Unit tests ({plan.notes.get('unit', '')}{ignore}; {needs}) under coverage, "
            "xdist when it pays; `-- --shard K/N` runs one shard."
        )
    if name == "integration":
        return f"Integration tests ({plan.notes.get('integration', '')}; {needs}) under coverage."
    gate_needs = " and ".join(r for r in _REQUIRES["gate"] if r in plan.notes.get("registered", ""))
    return {
        "coverage": "Combine coverage data; coverage.json/xml, htmlcov, coverage budgets.",
        "durations": "Duration budgets from the JUnit files; durations.json and .md.",
        "gate": f"Every budget at once (runs {gate_needs or 'nothing'} first): gate.json/md/junit.",
        "flaky": "Flake hunt: `-- --count 10` runs the suite 10 times in random orders.",
    }[name]


def register(
    project: Project | None = None,
    *,
    sessions: Sequence[str] | None = None,
    venv_backend: str | None = "uv|virtualenv",
) -> None:
    """Register testgate's sessions in the calling noxfile (call it at import time).

    With no arguments, every session the project has tests for: `integration` only when an
    integration folder exists (the gate then requires only `unit`). Plain `nox` then runs
    `project.default` unless the noxfile set `nox.options.sessions`; `venv_backend` (None:
    leave nox's choice alone) is uv where installed, for fast installs.
    """
    project = project or Project()
    unknown = sorted(set(sessions or ()) - set(_BODIES))
    if unknown:
        raise ValueError(
            f"unknown testgate session(s): {', '.join(unknown)}; valid: {', '.join(_BODIES)}"
        )
    decided = plan(project, Path.cwd())
    chosen = list(sessions) if sessions is not None else list(SESSIONS)
    if not decided.integration:
        if sessions is not None and "integration" in sessions:
            raise ValueError(
                "integration session: no tests/integration folder; pass "
                "Project(integration=(...)) with its tests, or leave it out of sessions="
            )
        chosen.remove("integration")
    decided.notes["registered"] = " ".join(chosen)
    for name in chosen:
        # `register(sessions=["gate"])`: the gate then reads whatever reports are there
        requires = [r for r in _REQUIRES.get(name, []) if r in chosen]
        _define(name, _BODIES[name], describe(name, decided), decided, requires=requires)
    if nox.options.sessions is None:
        nox.options.sessions = [s for s in project.default if s in chosen]
    if venv_backend is not None:
        nox.options.default_venv_backend = venv_backend


def _define(name: str, body: SessionBody, doc: str, plan: Plan, requires: list[str]) -> None:
    def session_func(session: nox.Session) -> None:
        body(session, plan)

    session_func.__name__ = session_func.__qualname__ = name
    session_func.__doc__ = doc
    python: str | list[str] | None = plan.python
    if plan.pythons and name in TEST_SESSIONS:
        python = list(plan.pythons)
    nox.session(name=name, python=python, reuse_venv=plan.reuse_venv, requires=requires)(
        session_func
    )
