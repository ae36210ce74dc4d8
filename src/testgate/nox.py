"""testgate's nox sessions, for this repository and for any other project's noxfile.

A project registers them in two lines of its noxfile::

    from testgate.nox import register
    register()

The sessions stay thin: pytest and coverage.py do the measuring, the `testgate` CLI does every
evaluation, so tox or a bare CI script runs the same stages (see ci/tox.toml).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nox

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


@dataclass(frozen=True)
class Project:
    """How the project under test is installed and where its tests and reports live."""

    install: tuple[str, ...] = ("-e", ".")
    """pip/uv arguments that install the project under test into the test sessions."""
    groups: tuple[str, ...] = ("test",)
    """PEP 735 dependency groups with the test requirements (`--group NAME` each)."""
    extra_requirements: tuple[str, ...] = ("pytest", "pytest-xdist", "coverage[toml]>=7.10")
    """Always installed into the test sessions, whatever the groups say."""
    testgate: tuple[str, ...] = ("testgate",)
    """pip/uv arguments that install testgate itself into the sessions that run its CLI."""
    unit: tuple[str, ...] = ("tests/unit",)
    integration: tuple[str, ...] = ("tests/integration",)
    reports: str | None = None
    """Where reports go; None: `[tool.testgate] reports`, as the testgate CLI reads it."""
    workers: str = "auto"
    """pytest-xdist `-n` for the unit session (`auto`: one worker per core)."""
    uses_coverage_api: bool = False
    """The code under test creates coverage.Coverage objects itself (testgate does). coverage.py
    stops auto-measuring any process that does, losing a whole xdist worker's data; True keeps
    measuring them (COVERAGE_COVERAGE=1, coverage.py's switch for measuring itself)."""
    python: str | None = None
    """The interpreter of every session (None: the one nox runs with)."""
    reuse_venv: bool = True
    default: tuple[str, ...] = field(default=DEFAULT_SESSIONS)
    """The sessions plain `nox` runs."""


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


def _install(session: nox.Session, *args: str) -> None:
    """Compile bytecode at install time, as pip does and uv does not by default: otherwise the
    first test run compiles every imported module and a session budget measures it."""
    if args:
        session.install(*args, env={"UV_COMPILE_BYTECODE": "1"})


def _install_tests(session: nox.Session, project: Project) -> None:
    groups = [arg for group in project.groups for arg in ("--group", group)]
    _install(session, *project.install, *groups, *project.extra_requirements)


def _reports(session: nox.Session, project: Project) -> Path:
    """The reports folder the `testgate` commands will read (nox runs in the project root)."""
    if project.reports is not None:
        return Path.cwd() / project.reports
    try:
        return load(Path.cwd()).reports_dir
    except TestgateError as exc:
        session.error(exc.message)


def _reports_option(project: Project) -> list[str]:
    return [] if project.reports is None else ["--reports", project.reports]


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
        session.run(
            "python", "-m", "compileall", "-q", "src", env={"PYTHONDONTWRITEBYTECODE": None}
        )
    session.run(
        "python", "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *map(str, folders),
        env={"PYTHONDONTWRITEBYTECODE": None}, silent=True, success_codes=range(6),
    )  # fmt: skip


def run_pytest(
    session: nox.Session,
    project: Project,
    *,
    name: str,
    targets: Sequence[str],
    pytest_args: Sequence[str],
    workers: str | None,
) -> None:
    """pytest under coverage.py: JUnit to reports/junit/NAME.xml, data to reports/coverage/."""
    reports = _reports(session, project)
    junit = reports / "junit" / f"{name}.xml"
    data = reports / "coverage" / f".coverage.{name}"
    junit.parent.mkdir(parents=True, exist_ok=True)
    data.parent.mkdir(parents=True, exist_ok=True)
    _fresh(junit, *data.parent.glob(f".coverage.{name}.*"))
    _prime_rewrite_cache(session, targets)
    xdist: list[str] = []
    if workers is not None and not chooses_workers(pytest_args):
        xdist = ["-n", workers]
    session.run(
        "python",
        "-m",
        "coverage",
        "run",
        "--parallel-mode",
        f"--data-file={data}",
        "-m",
        "pytest",
        *targets,
        f"--junitxml={junit}",
        *xdist,
        *pytest_args,
        env={**_OUTER_COVERAGE, "COVERAGE_COVERAGE": "1" if project.uses_coverage_api else None},
    )
    if xdist and len(list(data.parent.glob(f".coverage.{name}.*"))) < 2:
        # Only the controller wrote data: the workers ran unmeasured, the total would lie.
        session.error(
            f"coverage.py did not measure the pytest-xdist workers ({data.parent}): add "
            'patch = ["subprocess"] to [tool.coverage.run] (coverage >= 7.10)'
        )


def unit(session: nox.Session, project: Project) -> None:
    try:
        shard, pytest_args = parse_shard(session.posargs)
    except ValueError as exc:
        session.error(str(exc))
    _install_tests(session, project)
    if shard is None:
        run_pytest(
            session,
            project,
            name="unit",
            targets=project.unit,
            pytest_args=pytest_args,
            workers=project.workers,
        )
        return
    _install(session, *project.testgate)
    reports = _reports(session, project)
    node_ids = reports / f"shard-unit{shard.suffix}.txt"
    # the manifest next to the shard's JUnit file lets the gate tell when a shard is missing
    manifest = reports / "junit" / f"unit{shard.suffix}.json"
    _fresh(node_ids, manifest)
    session.run(
        "testgate",
        "shard",
        "--splits",
        str(shard.splits),
        "--group",
        str(shard.group),
        "--output",
        str(node_ids),
        "--manifest",
        str(manifest),
        "--",
        *project.unit,
        env=_OUTER_COVERAGE,
    )
    run_pytest(
        session,
        project,
        name=f"unit{shard.suffix}",
        targets=[f"@{node_ids}"],
        pytest_args=pytest_args,
        workers=project.workers,
    )


def integration(session: nox.Session, project: Project) -> None:
    _install_tests(session, project)
    run_pytest(
        session,
        project,
        name="integration",
        targets=project.integration,
        pytest_args=session.posargs,
        workers=None,
    )


def _cli(session: nox.Session, project: Project, command: str) -> None:
    _install(session, *project.testgate)
    session.run(
        "testgate", command, *_reports_option(project), *session.posargs, env=_OUTER_COVERAGE
    )


def coverage(session: nox.Session, project: Project) -> None:
    _cli(session, project, "coverage")


def durations(session: nox.Session, project: Project) -> None:
    _cli(session, project, "durations")


def gate(session: nox.Session, project: Project) -> None:
    _cli(session, project, "gate")


def flaky(session: nox.Session, project: Project) -> None:
    # The hunt runs the project's own tests with this interpreter's pytest.
    _install_tests(session, project)
    _install(session, *project.testgate, "pytest-randomly", "pytest-repeat")
    session.run(
        "testgate", "flaky", *_reports_option(project), *session.posargs, env=_OUTER_COVERAGE
    )


SessionBody = Callable[[nox.Session, Project], None]

_DOCS: dict[str, tuple[SessionBody, str]] = {
    "unit": (unit, "Unit tests with pytest-xdist and coverage; `-- --shard K/N` runs one shard."),
    "integration": (integration, "Integration tests (real subprocesses) with coverage."),
    "coverage": (coverage, "Combine coverage data; coverage.json/xml, htmlcov, coverage budgets."),
    "durations": (durations, "Duration budgets from the JUnit files; durations.json and .md."),
    "gate": (gate, "Every budget at once (runs unit and integration first): gate.json/md/junit."),
    "flaky": (flaky, "Flake hunt: `-- --count 10` runs the suite 10 times in random orders."),
}
_REQUIRES: dict[str, list[str]] = {"gate": ["unit", "integration"]}


def register(
    project: Project | None = None,
    *,
    sessions: Sequence[str] = SESSIONS,
    venv_backend: str | None = "uv|virtualenv",
) -> None:
    """Register testgate's sessions in the calling noxfile (call it at import time).

    Plain `nox` then runs `project.default` unless the noxfile set `nox.options.sessions`;
    `venv_backend` (None: leave nox's choice alone) is uv where installed, for fast installs.
    """
    project = project or Project()
    unknown = sorted(set(sessions) - set(_DOCS))
    if unknown:
        raise ValueError(f"unknown testgate session(s): {', '.join(unknown)}")
    for name in sessions:
        body, doc = _DOCS[name]
        # `register(sessions=["gate"])`: the gate then reads whatever reports are there
        requires = [r for r in _REQUIRES.get(name, []) if r in sessions]
        _define(name, body, doc, project, requires=requires)
    if nox.options.sessions is None:
        nox.options.sessions = [s for s in project.default if s in sessions]
    if venv_backend is not None:
        nox.options.default_venv_backend = venv_backend


def _define(name: str, body: SessionBody, doc: str, project: Project, requires: list[str]) -> None:
    def session_func(session: nox.Session) -> None:
        body(session, project)

    session_func.__name__ = session_func.__qualname__ = name
    session_func.__doc__ = doc
    nox.session(name=name, python=project.python, reuse_venv=project.reuse_venv, requires=requires)(
        session_func
    )
