"""What a project's own files say about its tests: folders, test requirements, coverage settings.

The nox sessions read this instead of asking the user: pytest's `testpaths`, the PEP 735 group or
extra that holds the test requirements, the project's coverage.py configuration. Standard library
only: nox imports it with its own interpreter, where nothing else is installed.
"""

from __future__ import annotations

import configparser
import glob
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

# The names projects give the dependency group (or extra) with their test requirements, most
# specific first: `dev` often holds the test requirements too, but also linters and docs tools.
TEST_GROUPS = ("test", "tests", "testing", "dev")
TEST_EXTRAS = ("test", "tests", "testing")
REQUIREMENTS_FILES = (
    "requirements-test.txt",
    "requirements-tests.txt",
    "test-requirements.txt",
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "tests/requirements.txt",
    "requirements-dev.txt",
    "requirements/dev.txt",
)
INTEGRATION_FOLDERS = ("tests/integration", "tests/integration_tests", "integration_tests")


@dataclass(frozen=True)
class Layout:
    """Where the tests are and what installs their requirements, with how each was found."""

    unit: tuple[str, ...]
    """pytest targets of the unit session; () lets pytest find them (rootdir, testpaths)."""
    unit_ignore: tuple[str, ...]
    """Folders inside the unit targets that belong to the integration session."""
    integration: tuple[str, ...]
    groups: tuple[str, ...]
    extras: tuple[str, ...]
    requirements: tuple[str, ...]
    notes: Mapping[str, str]
    """Per item (unit, integration, requirements), how it was found: shown by `nox -l`."""


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables; {} when it is absent or not TOML (pytest and pip then complain)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    return dict(data)


def _ini(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    return parser


def pytest_testpaths(root: Path) -> tuple[str, ...]:
    """`testpaths` from the file pytest itself would read its configuration from.

    pytest's order: pytest.ini, .pytest.ini, pyproject.toml (with [tool.pytest.ini_options]
    or [tool.pytest]), tox.ini ([pytest]), setup.cfg ([tool:pytest]).
    """
    for name in ("pytest.ini", ".pytest.ini"):
        if (root / name).is_file():
            parser = _ini(root / name)
            return _ini_list(parser, "pytest") if parser else ()
    pyproject = read_toml(root / "pyproject.toml").get("tool", {}).get("pytest")
    if isinstance(pyproject, dict):
        table = pyproject.get("ini_options", pyproject)
        value = table.get("testpaths", ()) if isinstance(table, dict) else ()
        if isinstance(value, str):
            return tuple(value.split())
        return tuple(v for v in value if isinstance(v, str))
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = _ini(root / name) if (root / name).is_file() else None
        if parser is not None and parser.has_section(section):
            return _ini_list(parser, section)
    return ()


def _ini_list(parser: configparser.ConfigParser, section: str) -> tuple[str, ...]:
    if not parser.has_option(section, "testpaths"):
        return ()
    return tuple(parser.get(section, "testpaths").split())


def _expand(root: Path, patterns: Iterable[str]) -> list[str]:
    """testpaths entries may be globs (pytest expands them); only existing folders count."""
    found: list[str] = []
    for pattern in patterns:
        matches = (
            sorted(glob.glob(pattern, root_dir=root)) if glob.has_magic(pattern) else [pattern]
        )
        found += [m.rstrip("/") for m in matches if (root / m).exists() and m not in found]
    return found


def _is_integration(path: str) -> bool:
    return "integration" in Path(path).name


def _inside(child: str, parent: str) -> bool:
    return Path(child).parts[: len(Path(parent).parts)] == Path(parent).parts


def detect(root: Path) -> Layout:
    """The test layout of the project in `root`, from its files alone."""
    notes: dict[str, str] = {}
    testpaths = _expand(root, pytest_testpaths(root))
    integration = [p for p in testpaths if _is_integration(p) and (root / p).is_dir()]
    if integration:
        notes["integration"] = f"{', '.join(integration)} (pytest testpaths)"
    else:
        integration = [f for f in INTEGRATION_FOLDERS if (root / f).is_dir()][:1]
        if integration:
            notes["integration"] = integration[0]
    unit: list[str]
    if (root / "tests" / "unit").is_dir():
        unit = ["tests/unit"]
        notes["unit"] = "tests/unit"
    elif [p for p in testpaths if not _is_integration(p)]:
        unit = [p for p in testpaths if not _is_integration(p)]
        notes["unit"] = f"{' '.join(unit)} (pytest testpaths)"
    elif (root / "tests").is_dir():
        unit = ["tests"]
        notes["unit"] = "tests"
    else:
        unit = []
        notes["unit"] = "pytest's own discovery"
    ignore = [i for i in integration for u in unit if _inside(i, u) and i != u]
    if not unit and integration:
        ignore = list(integration)
    groups, extras, requirements = requirements_of(root)
    found = [f"group {g}" for g in groups] + [f"extra {e}" for e in extras]
    found += [f"-r {r}" for r in requirements]
    notes["requirements"] = ", ".join(found) if found else "no test group, extra or file found"
    return Layout(
        unit=tuple(unit),
        unit_ignore=tuple(ignore),
        integration=tuple(integration),
        groups=groups,
        extras=extras,
        requirements=requirements,
        notes=notes,
    )


def requirements_of(root: Path) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(groups, extras, requirement files): the first name that holds the test requirements."""
    pyproject = read_toml(root / "pyproject.toml")
    groups = pyproject.get("dependency-groups", {})
    if isinstance(groups, dict):
        for name in TEST_GROUPS:
            if name in groups:
                return (name,), (), ()
    project = pyproject.get("project", {})
    extras = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    if isinstance(extras, dict):
        for name in TEST_EXTRAS:
            if name in extras:
                return (), (name,), ()
    for name in REQUIREMENTS_FILES:
        if (root / name).is_file():
            return (), (), (name,)
    return (), (), ()


# --- where the running testgate came from ------------------------------------------------


def install_origin(
    package_dir: Path, direct_url: str | None, version: str | None, dist_files: Path | None
) -> tuple[str, ...]:
    """pip/uv arguments that install the testgate whose package is `package_dir`.

    `direct_url`: the distribution's direct_url.json text (PEP 610) when it was installed from
    a path, a URL or a VCS; `version`: the installed distribution's version (None: no
    distribution, e.g. a checkout's src/ on sys.path); `dist_files`: the folder its files were
    installed to (site-packages), to tell that the distribution is this very code.
    """
    if version is not None:
        if direct_url:
            origin = _from_direct_url(json.loads(direct_url))
            if origin is not None:
                return origin
        elif dist_files is not None and package_dir.parent.resolve() == dist_files.resolve():
            return (f"testgate=={version}",)
    checkout = package_dir.parent.parent
    if package_dir.parent.name == "src" and _names_testgate(checkout / "pyproject.toml"):
        return ("-e", str(checkout))
    raise LookupError(
        f"cannot tell where testgate ({package_dir}) was installed from: pass "
        "Project(testgate=(...)) with the pip arguments that install it"
    )


def _names_testgate(pyproject: Path) -> bool:
    project = read_toml(pyproject).get("project", {})
    return isinstance(project, dict) and project.get("name") == "testgate"


def _from_direct_url(info: Mapping[str, Any]) -> tuple[str, ...] | None:
    url = info.get("url")
    if not isinstance(url, str):
        return None
    dir_info = info.get("dir_info")
    vcs = info.get("vcs_info")
    if isinstance(dir_info, dict) and url.startswith("file://"):
        path = _file_path(url)
        return ("-e", path) if dir_info.get("editable") else (path,)
    fragment = ""
    subdirectory = info.get("subdirectory")
    if isinstance(subdirectory, str):
        fragment = f"#subdirectory={subdirectory}"
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id")
        at = f"@{commit}" if isinstance(commit, str) else ""
        return (f"testgate @ {vcs.get('vcs', 'git')}+{url}{at}{fragment}",)
    return (f"testgate @ {url}{fragment}",)


def _file_path(url: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(url).path)


# --- the project's coverage.py settings, plus what the sessions need ----------------------

_REGEX_OPTIONS = {"exclude_lines", "exclude_also", "partial_branches", "partial_also"}


def coverage_settings(
    root: Path, rcfile: str | None = None
) -> tuple[str | None, dict[str, dict[str, Any]]]:
    """(file, sections) of the coverage.py configuration coverage.py itself would read.

    Its order: `rcfile` ($COVERAGE_RCFILE), .coveragerc, setup.cfg and tox.ini ([coverage:*]
    sections), pyproject.toml ([tool.coverage.*]).
    """
    candidates = [rcfile] if rcfile else [".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml"]
    for name in candidates:
        path = root / name
        if not path.is_file():
            continue
        if path.suffix == ".toml":
            tool = read_toml(path).get("tool", {})
            table = tool.get("coverage") if isinstance(tool, dict) else None
            if isinstance(table, dict):
                return name, {k: v for k, v in table.items() if isinstance(v, dict)}
            if rcfile:
                return name, {}
            continue
        parser = _ini(path)
        if parser is None:
            continue
        own = rcfile is not None or name == ".coveragerc"
        prefix = "" if own else "coverage:"
        sections = {
            s.removeprefix(prefix): dict(parser.items(s))
            for s in parser.sections()
            if own or s.startswith(prefix)
        }
        if sections or own:
            return name, sections
    return None, {}


def session_coverage(sections: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The project's settings plus what the sessions need: parallel data files and measured
    subprocesses (pytest-xdist workers, the CLI under test); branch coverage and relative paths
    unless the project says otherwise."""
    out = {name: dict(values) for name, values in sections.items()}
    run = out.setdefault("run", {})
    run["parallel"] = True
    patch = _as_list(run.get("patch", []))
    run["patch"] = [*patch, "subprocess"] if "subprocess" not in patch else patch
    run.setdefault("branch", True)
    run.setdefault("relative_files", True)
    return out


def branch_enabled(sections: Mapping[str, Mapping[str, Any]]) -> bool:
    value = sections.get("run", {}).get("branch", False)
    return value is True or (
        isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on")
    )


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.replace(",", "\n").splitlines() if v.strip()]
    return [str(v) for v in value] if isinstance(value, list) else []


def render_ini(sections: Mapping[str, Mapping[str, Any]]) -> str:
    """A .coveragerc with these settings (coverage.py reads INI without interpolation)."""
    lines: list[str] = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_ini_value(key, value)}")
        lines.append("")
    return "\n".join(lines)


def _ini_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
        if key in _REGEX_OPTIONS:
            # a line starting with '#' would be an INI comment; '[#]' is the same regex
            items = [f"[#]{v[1:]}" if v.startswith("#") else v for v in items]
        return "".join(f"\n    {v}" for v in items)
    if isinstance(value, str) and "\n" in value:
        return "".join(f"\n    {v.strip()}" for v in value.splitlines() if v.strip())
    return str(value)
