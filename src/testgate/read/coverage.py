"""Read coverage data (.coverage files, coverage.json, Cobertura XML) into `CoverageData`.

Data files are analysed with coverage.py's own API from the project root, with the project's
own coverage configuration, so statements, branches, omissions and the total are exactly what
`coverage report` computes there. Parallel data files from other machines or checkouts are
combined with their paths remapped onto the project tree (see `coverage_paths`), and the
reports coverage.py writes (JSON, Cobertura, HTML) are replaced atomically.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import coverage
import coverage.files
from coverage.exceptions import (
    CoverageException,
    DataError,
    NoDataError,
    NoSource,
    NotPython,
)
from coverage.files import PathAliases
from coverage.report_core import get_analysis_to_report

from testgate._safeio import OutputError, inside, open_input, output_error
from testgate.errors import ConfigError, InputError
from testgate.model import CoverageData, CoverageTotals, FileCoverage
from testgate.read.cobertura import read_cobertura
from testgate.read.coverage_cache import cached_analysis
from testgate.read.coverage_json import read_json_report
from testgate.read.coverage_paths import PathRemap, parts_of, remap_paths

__all__ = [
    "combine_data_files",
    "combine_project_data",
    "find_data_files",
    "load_project_coverage",
    "package_totals",
    "project_precision",
    "read_coverage",
    "write_coverage_reports",
]

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
RUN_HINT = "run the tests with coverage first (`nox -s unit`, or `coverage run -m pytest`)"
_SIDECARS = ("-journal", "-wal", "-shm")
ANALYSIS_CACHE = Path(".cache") / "coverage-analysis.sqlite"
"""Under the reports folder: what coverage.py parsed from each source file, by content."""


def read_coverage(
    path: str | os.PathLike[str], *, root: Path | None = None, cache: Path | None = None
) -> CoverageData:
    """Read a .coverage data file, a coverage.py JSON report or a Cobertura XML file.

    The format is sniffed from the content, not the name. File keys are paths relative to
    `root` (default: the current directory) in POSIX form. `cache`: a file where what
    coverage.py parses from each source file is kept by its content (`coverage_cache`).
    """
    source = Path(path)
    project = Path(root) if root is not None else Path.cwd()
    head = _head(source)
    if head.startswith(SQLITE_HEADER):
        return _read_data_file(source, project, cache)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"{", b"[")):
        return read_json_report(source, project, lambda: project_precision(project))
    if text.startswith(b"<") or _utf16(head).lstrip("\ufeff \t\r\n").startswith("<"):
        return read_cobertura(source, project, precision=project_precision(project))
    if head.startswith(b"!coverage.py"):
        raise InputError(
            f"{source}: a data file of coverage.py < 5; re-run the tests with a current coverage.py"
        )
    raise InputError(
        f"{source}: not coverage data (expected a .coverage data file, a coverage.py JSON report"
        " or Cobertura XML)"
    )


def _utf16(head: bytes) -> str:
    """Cobertura from Windows tools may be UTF-16 (libxml2 decodes it from the BOM)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[:64].decode("utf-16", errors="replace")
    return ""


def project_precision(root: Path) -> int:
    """`[report] precision` of the project's coverage configuration (0 without one)."""
    with _in_project(root):
        cov = coverage.Coverage(data_file=None, config_file=True)
    value = cov.config.precision
    return value if isinstance(value, int) else 0


def combine_data_files(paths: Iterable[str | os.PathLike[str]], *, root: Path, out: Path) -> Path:
    """Combine parallel data files into one data file at `out`, keeping the inputs.

    Files recorded in another checkout or machine are remapped onto `root` (the project's own
    `[paths]` first, then the longest matching tail in the project tree). `out` is replaced
    atomically; the inputs are left in place so a re-run combines the same data again.
    """
    _combine([Path(p) for p in paths], Path(root), Path(out))
    return Path(out)


def load_project_coverage(reports_dir: Path, *, root: Path) -> CoverageData:
    """The project's combined coverage: reports/coverage.json, or the data files under
    reports/coverage/ when the JSON is absent or older than any of them."""
    reports = Path(reports_dir)
    json_path = reports / "coverage.json"
    combined = reports / "coverage" / ".coverage"
    data_files = find_data_files(reports / "coverage")
    if json_path.exists() and (
        not data_files
        or json_path.stat().st_mtime_ns >= max(f.stat().st_mtime_ns for f in data_files)
    ):
        return read_coverage(json_path, root=root)
    remap = _combine_project(reports, data_files, Path(root))
    try:
        return read_coverage(combined, root=root, cache=reports / ANALYSIS_CACHE)
    except InputError as exc:
        detail = remap.describe()
        if not detail:
            raise
        raise InputError(f"{exc.message} (could not map: {detail})") from None


def combine_project_data(reports_dir: Path, *, root: Path) -> Path:
    """Combine the parallel data files under reports/coverage/ into reports/coverage/.coverage
    (what `testgate coverage` reports on); with none, the combined file already there."""
    reports = Path(reports_dir)
    _combine_project(reports, find_data_files(reports / "coverage"), Path(root))
    return reports / "coverage" / ".coverage"


def _combine_project(reports: Path, data_files: list[Path], root: Path) -> PathRemap:
    data_dir = reports / "coverage"
    if not data_files:
        raise InputError(
            f"{reports}: no coverage data (no coverage.json, no .coverage files under"
            f" {data_dir}); {RUN_HINT}"
        )
    combined = data_dir / ".coverage"
    parallel = [f for f in data_files if f != combined]
    return _combine(parallel, root, combined) if parallel else PathRemap()


def find_data_files(folder: Path) -> list[Path]:
    """`.coverage` and `.coverage.*` files anywhere under `folder` (downloaded shard
    artifacts may sit in sub-folders), without SQLite sidecars or our own temp folders."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob(".coverage*"):
        name = path.name
        if not (name == ".coverage" or name.startswith(".coverage.")):
            continue
        if name.endswith(_SIDECARS) or any(
            p.startswith(".testgate-") for p in path.relative_to(folder).parts
        ):
            continue
        if path.is_file():
            found.append(path)
    return sorted(found)


def write_coverage_reports(data_file: Path, reports_dir: Path, *, root: Path) -> None:
    """Write coverage.json, coverage.xml and htmlcov/ with coverage.py's own reporters,
    honouring the project's coverage configuration (precision, omit, ...)."""
    data = Path(data_file).resolve()
    _check_data_file(data, display=str(data_file))
    reports = Path(reports_dir).resolve()
    project = Path(root).resolve()  # before we chdir to root
    reports.mkdir(parents=True, exist_ok=True)
    with _in_project(Path(root)), _coverage_errors(str(data_file)):
        cov = coverage.Coverage(data_file=str(data), config_file=True)
        try:
            cov.load()
            # Each reporter analyses every file again: the cache parses each file once.
            branches = cov.get_data().has_arcs()
            morfs = _project_files(cov, project, str(data_file))
            with cached_analysis(cov, reports / ANALYSIS_CACHE, branches=branches):
                _report_file(
                    reports / "coverage.json", lambda tmp: cov.json_report(morfs, outfile=tmp)
                )
                _report_file(
                    reports / "coverage.xml", lambda tmp: cov.xml_report(morfs, outfile=tmp)
                )
                _report_dir(reports / "htmlcov", lambda tmp: cov.html_report(morfs, directory=tmp))
        finally:
            _close(cov)


def package_totals(data: CoverageData) -> dict[str, CoverageTotals]:
    """Totals per package (the folder holding the files), as Cobertura's <package> does."""
    groups: dict[str, list[FileCoverage]] = {}
    for key, file in data.files.items():
        package = key.rpartition("/")[0] or "."
        groups.setdefault(package, []).append(file)
    return {name: CoverageTotals.of(files) for name, files in sorted(groups.items())}


# -- data files ---------------------------------------------------------------------------


def _head(path: Path) -> bytes:
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise InputError(f"{path}: is a folder, not a coverage file")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; {RUN_HINT}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    with open_input(path) as handle:  # a FIFO or device is refused here, without blocking
        head = handle.read(64)
    if not head.strip():
        raise InputError(f"{path}: empty file (an interrupted run?); {RUN_HINT}")
    return head


def _check_data_file(path: Path, *, display: str) -> None:
    if not _head(path).startswith(SQLITE_HEADER):
        raise InputError(f"{display}: not a coverage.py data file (no SQLite header)")


def _read_data_file(path: Path, root: Path, cache: Path | None = None) -> CoverageData:
    display = str(path)
    absolute = path.resolve()  # before we chdir to root
    project = root.resolve()
    files: dict[str, FileCoverage] = {}
    with _in_project(root), _coverage_errors(display):
        cov = coverage.Coverage(data_file=str(absolute), config_file=True)
        try:
            cov.load()
            # What every coverage.py reporter does first: apply the project's [paths].
            getattr(cov, "_prepare_data_for_reporting", lambda: None)()
            recorded = cov.get_data()
            recorded.set_query_contexts(cov.config.report_contexts)  # [report] contexts
            has_arcs = recorded.has_arcs()
            keep_open = getattr(recorded, "keep_db_open", contextlib.nullcontext)
            with (
                keep_open(),  # one SQLite connection, not three per file
                cached_analysis(cov, cache, branches=has_arcs),
            ):
                morfs = _project_files(cov, project, display)
                for reporter, analysis in get_analysis_to_report(cov, morfs):
                    key = Path(reporter.relative_filename()).as_posix()
                    files[key] = _file_coverage(key, analysis)
        finally:
            _close(cov)
        precision = cov.config.precision
    return CoverageData(files=files, precision=precision, has_branches=has_arcs, source=display)


def _project_files(cov: coverage.Coverage, root: Path, display: str) -> list[str] | None:
    """The measured files inside the project (None: all of them are). Data recorded elsewhere
    may name any file on this machine; one outside the project after remapping is neither
    counted nor read (its source would be copied into htmlcov/), and a warning lists it."""
    measured = sorted(cov.get_data().measured_files())
    outside = [f for f in measured if not inside(os.path.join(root, f), (root,))]
    if not outside:
        return None
    shown = ", ".join(outside[:5]) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    out = set(outside)
    kept = [f for f in measured if f not in out]
    if not kept:
        raise InputError(
            f"{display}: every measured file is outside the project {root} ({shown}); the data"
            " was recorded elsewhere: combine it with `testgate coverage` (or map the paths"
            " with [tool.coverage.paths])"
        )
    log.warning(
        "%s: %d measured file(s) outside the project %s not counted: %s",
        display,
        len(outside),
        root,
        shown,
    )
    return kept


def _file_coverage(key: str, analysis: Any) -> FileCoverage:
    numbers = analysis.numbers
    arcs = analysis.missing_branch_arcs() if analysis.has_arcs else {}
    return FileCoverage(
        path=key,
        statements=numbers.n_statements,
        missing_lines=tuple(sorted(analysis.missing)),
        excluded=numbers.n_excluded,
        branches=numbers.n_branches,
        missing_branches=tuple(sorted((a, b) for a, ends in arcs.items() for b in ends)),
        partial_branches=numbers.n_partial_branches,
        executable_lines=frozenset(analysis.statements),
    )


def _combine(paths: list[Path], root: Path, out: Path) -> PathRemap:
    if not paths:
        raise InputError(f"{out}: no coverage data files to combine; {RUN_HINT}")
    root = root.resolve()
    out = out.resolve()
    for path in paths:
        _check_data_file(path, display=str(path))
    resolved = [(path, path.resolve()) for path in paths]  # before we chdir to root
    inputs: list[tuple[Path, coverage.CoverageData]] = []
    with _in_project(root):
        config = coverage.Coverage(data_file=None, config_file=True).config
        for path, absolute in resolved:
            data = coverage.CoverageData(basename=str(absolute))
            with _coverage_errors(str(path)):
                data.read()
                data.measured_files()
            inputs.append((path, data))
        recorded = sorted({f for _, data in inputs for f in data.measured_files()})
        aliased = _user_aliases(config, recorded)
        remap = remap_paths(sorted(set(aliased.values())), root)
        final: dict[str, str] = {}
        for name, alias in aliased.items():
            rel = remap.mapped.get(alias)
            if rel is None:
                final[name] = alias
            else:
                final[name] = rel if config.relative_files else str(root.joinpath(*parts_of(rel)))
        # unmapped names stay as recorded: reading the data lists those outside the project
        for name, matches in remap.ambiguous.items():
            log.warning("%s: ambiguous (%s); left as recorded", name, ", ".join(matches))
        out.parent.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=".testgate-combine-", dir=out.parent))
        target = coverage.CoverageData(basename=str(workdir / "combined"))
        try:
            for path, data in inputs:
                with _coverage_errors(str(path), hint=_CANT_COMBINE_HINT):
                    target.update(data, map_path=lambda p: final.get(p, p))
            target.close(force=True)
            os.replace(workdir / "combined", out)
        finally:
            for _, data in inputs:
                data.close(force=True)
            target.close(force=True)
            shutil.rmtree(workdir, ignore_errors=True)
    return remap


_NO_SPACE = re.compile(r"disk is full|disk I/O error|file too large|database or disk", re.I)
_WRITE_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES))

_CANT_COMBINE_HINT = (
    "record every run with the same branch setting ([tool.coverage.run] branch) and combine again"
)


def _user_aliases(config: Any, recorded: list[str]) -> dict[str, str]:
    """The project's own `[paths]` (as `coverage combine` applies them) before ours."""
    if not config.paths:
        return {p: p for p in recorded}
    aliases = PathAliases(relative=config.relative_files)
    for patterns in config.paths.values():
        for pattern in patterns[1:]:
            aliases.add(pattern, patterns[0])
    return {p: aliases.map(p) for p in recorded}


# -- coverage.py plumbing -----------------------------------------------------------------


@contextlib.contextmanager
def _in_project(root: Path) -> Iterator[None]:
    """Run coverage.py as `coverage report` would in the project root: its config, its
    relative file names. coverage.py keeps the relative directory in module globals, which
    another Coverage object in this process (our own test run) relies on: restore them."""
    saved = (coverage.files.RELATIVE_DIR, coverage.files.CANONICAL_FILENAME_CACHE)
    before = os.getcwd()
    try:
        os.chdir(root)
    except OSError as exc:
        raise InputError(f"{root}: cannot use it as the project root ({exc.strerror})") from None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            except coverage.exceptions.ConfigError as exc:
                raise ConfigError(f"{root}: coverage.py configuration: {exc}") from None
            except ImportError as exc:  # a [run] plugins module that is not installed
                raise ConfigError(
                    f"{root}: coverage.py configuration: plugin {exc.name!r} is not installed"
                    " here; install it or remove it from [tool.coverage.run] plugins"
                ) from None
        for warning in caught:
            log.warning("%s", warning.message)
    finally:
        os.chdir(before)
        coverage.files.RELATIVE_DIR, coverage.files.CANONICAL_FILENAME_CACHE = saved


@contextlib.contextmanager
def _coverage_errors(display: str, hint: str | None = None) -> Iterator[None]:
    """coverage.py's and SQLite's exceptions as one-line input errors naming the file."""
    try:
        yield
    except NoDataError as exc:
        raise InputError(
            f"{display}: {_one_line(exc)} (no measured file is reported; check"
            " [tool.coverage.run] source/omit)"
        ) from None
    except NoSource as exc:
        raise InputError(
            f"{display}: {_one_line(exc)}; the data was recorded elsewhere: combine it with"
            " `testgate coverage`, or read it from the project root it was recorded in"
        ) from None
    except NotPython as exc:
        raise InputError(f"{display}: {_one_line(exc)}") from None
    except (DataError, sqlite3.Error) as exc:  # a failed write reaches us as SQLite's own too
        if _NO_SPACE.search(str(exc)):  # SQLite could not write: the data file is not at fault
            raise OutputError(
                f"{display}: cannot write the combined coverage data: the disk is full or the"
                f" file size limit is reached ({_one_line(exc)}); free space and run again"
            ) from None
        raise InputError(
            f"{display}: {_one_line(exc)}; {hint or 'delete it and ' + RUN_HINT}"
        ) from None
    except coverage.exceptions.ConfigError:
        raise
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:
            raise output_error(exc, "write coverage data or reports") from None
        raise InputError(f"{exc.filename or display}: cannot be read ({exc.strerror})") from None
    except CoverageException as exc:  # pragma: no cover - PluginError and the like
        raise InputError(f"{display}: {_one_line(exc)}") from None


def _close(cov: coverage.Coverage) -> None:
    """Release the SQLite connections now, not at garbage collection."""
    with contextlib.suppress(CoverageException, sqlite3.Error):
        cov.get_data().close(force=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _report_file(target: Path, write: Any) -> None:
    """coverage.py writes into a mkstemp file (0600): given the mode of every other report."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(exc, "create a file in the folder", target.parent) from None
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        raise output_error(exc, "write", target) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _report_dir(target: Path, write: Any) -> None:
    """htmlcov/ from a mkdtemp folder (0700): given the mode of any folder testgate creates."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise output_error(exc, "create a folder in", target.parent) from None
    old = target.with_name(f"{tmp.name}.old")
    try:
        write(str(tmp))
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            target.rename(old)
        tmp.rename(target)
    except OSError as exc:
        raise output_error(exc, "write", target) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
