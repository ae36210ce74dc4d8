"""A hunt spread over M machines: slice K runs iterations K, K+M, K+2M, ... of one seeded plan.

Iteration i's seed depends only on the hunt's seed and i (`derive_seed`), so the union of the
slices is the hunt one machine would have run. Each slice leaves a manifest beside its
iterations; `combine` accepts slices only when every manifest names the same hunt (seed, count,
arguments), the same code (commit) and the same tools (testgate, Python, pytest, plugins), and
only when no slice is missing: a lost CI job must never make a hunt silently shorter.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testgate import __version__, _atomic
from testgate._safeio import MANIFEST_BYTES, read_bytes, read_json
from testgate.errors import InputError, UsageError
from testgate.flaky.aggregate import Iteration
from testgate.flaky.hunt import Settings

MANIFEST = "slice.json"
MANIFEST_FORMAT = 1
KIND = "testgate-flaky-slice"
RUN_SUFFIXES = (".xml", ".jsonl", ".log")
MAX_ITERATIONS = 1_000_000
BRIEF = 200


def parse_slice(text: str) -> tuple[int, int]:
    """`K/M` with 1 <= K <= M."""
    k_text, sep, m_text = text.partition("/")
    try:
        k, m = int(k_text), int(m_text)
    except ValueError:
        k = m = 0
    if not sep or not 1 <= k <= m:
        raise ValueError(f"{text!r} is not K/M with 1 <= K <= M (e.g. 2/3)")
    return k, m


def environment() -> dict[str, Any]:
    """The tools that decide what an iteration does: a slice run with others is another hunt."""
    plugins: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group="pytest11"):
        dist = ep.dist
        if dist is not None:
            plugins[dist.name.lower().replace("_", "-")] = dist.version
    try:
        pytest_version = importlib.metadata.version("pytest")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - the hunt needs it
        pytest_version = None
    return {
        "testgate": __version__,
        "python": ".".join(platform.python_version_tuple()[:2]),
        "pytest": pytest_version,
        "plugins": dict(sorted(plugins.items())),
    }


def commit(root: Path) -> str | None:
    """The checked-out commit; None outside a git work tree."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False
        )
    except OSError:  # pragma: no cover - git not installed
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def hunt_args(settings: Settings, slices: int) -> dict[str, Any]:
    """What every slice of one hunt must share."""
    return {
        "count": settings.count,
        "seed": settings.seed,
        "slices": slices,
        "timeout": settings.timeout,
        "pytest_args": list(settings.pytest_args),
    }


def manifest(
    settings: Settings, part: tuple[int, int], done: Sequence[Iteration]
) -> dict[str, Any]:
    finished = sorted(it.iteration for it in done)
    return {
        "meta": {"format": MANIFEST_FORMAT, "kind": KIND, "tool": "testgate"},
        "slice": part[0],
        "args": hunt_args(settings, part[1]),
        "environment": environment(),
        "commit": commit(settings.root),
        "iterations": settings.planned,
        "finished": finished,
        "complete": finished == settings.planned,
    }


def write_manifest(settings: Settings, part: tuple[int, int], done: Sequence[Iteration]) -> Path:
    return _atomic.write_json(settings.work / MANIFEST, manifest(settings, part, done))


@dataclass(frozen=True)
class Slice:
    folder: Path  # the iterations' folder (reports/flaky of that machine)
    manifest: Mapping[str, Any]

    @property
    def index(self) -> int:
        return int(self.manifest["slice"])

    @property
    def args(self) -> Mapping[str, Any]:
        return self.manifest["args"]  # type: ignore[no-any-return]  # checked by _read


def _read(path: Path) -> Slice:
    """A slice's report folder (with flaky/slice.json) or its flaky/ folder itself."""
    folder = path / "flaky" if (path / "flaky" / MANIFEST).is_file() else path
    file = folder / MANIFEST
    if not file.exists():
        raise InputError(
            f"{path}: no flake-hunt slice here (flaky/{MANIFEST} missing); pass the --reports "
            "folders of testgate flaky --slice K/M runs"
        )
    try:
        # slices are CI artifacts: a regular file inside the slice, size-capped, strict JSON
        data = read_json(file, within=(folder,), limit=MANIFEST_BYTES)
    except InputError as exc:
        raise InputError(f"{exc.message}; run that slice again") from None
    ok = (
        isinstance(data, dict)
        and isinstance(data.get("meta"), dict)
        and data["meta"].get("kind") == KIND
    )
    if not ok:
        raise InputError(f"{file}: not a testgate slice manifest; run that slice again")
    if data["meta"].get("format") != MANIFEST_FORMAT:
        raise InputError(
            f"{file}: slice manifest format {data['meta'].get('format')!r} is not "
            f"{MANIFEST_FORMAT}; combine with the testgate version that ran the slices"
        )
    args = data.get("args")
    if (
        not isinstance(args, dict)
        or not isinstance(data.get("slice"), int)
        or not isinstance(args.get("slices"), int)
        or not isinstance(data.get("finished"), list)
        or not all(_iteration_number(i) for i in data["finished"])
    ):
        raise InputError(f"{file}: slice manifest without slice, args or iterations; run it again")
    return Slice(folder, data)


def _iteration_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ITERATIONS


def _differs(slices: Sequence[Slice], key: str, shown: str) -> None:
    first = slices[0]
    for other in slices[1:]:
        if other.manifest.get(key) != first.manifest.get(key):
            raise UsageError(
                f"{other.folder}: {shown} {_brief(other.manifest.get(key))} differ from "
                f"{first.folder}'s {_brief(first.manifest.get(key))}; every slice must run the "
                "same hunt (same --count, --seed, arguments) on the same commit and tools"
            )


def _brief(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= BRIEF else text[: BRIEF - 3] + "..."


def read_slices(paths: Sequence[Path], root: Path) -> list[Slice]:
    """Every slice of one hunt, checked to belong together, complete, none missing."""
    slices = [_read(p) for p in paths]
    _differs(slices, "args", "hunt arguments")
    _differs(slices, "environment", "tool versions")
    _differs(slices, "commit", "commit")
    here = commit(root)
    ran_at = slices[0].manifest.get("commit")
    if here != ran_at:
        raise UsageError(
            f"the slices ran at commit {ran_at} but {root} is at {here}; combine in a checkout "
            "of the commit the slices ran (classification re-runs its tests)"
        )
    if slices[0].manifest.get("environment") != environment():
        raise UsageError(
            f"the slices ran with tool versions {_brief(slices[0].manifest['environment'])} "
            f"but this environment has {_brief(environment())}; combine where the slices ran"
        )
    total = int(slices[0].args["slices"])
    seen: dict[int, Slice] = {}
    for s in slices:
        if s.index in seen:
            raise UsageError(
                f"{seen[s.index].folder} and {s.folder} are both slice {s.index}/{total}; "
                "pass each slice's folder once"
            )
        seen[s.index] = s
        if s.manifest.get("complete") is not True:
            done = len(s.manifest["finished"])
            planned = len(s.manifest.get("iterations") or [])
            raise UsageError(
                f"{s.folder}: slice {s.index}/{total} is incomplete ({done} of {planned} "
                "iterations); finish it with testgate flaky --resume --reports on that folder"
            )
    missing = sorted(set(range(1, total + 1)) - set(seen))
    if missing:
        named = ", ".join(f"{k}/{total}" for k in missing)
        raise UsageError(
            f"{len(missing)} of {total} slices missing: {named}; pass every slice's "
            "report folder to --combine"
        )
    return sorted(slices, key=lambda s: s.index)


def settings_of(slices: Sequence[Slice], root: Path, reports_dir: Path, jobs: int) -> Settings:
    args = slices[0].args
    return Settings(
        root=root,
        reports_dir=reports_dir,
        count=int(args["count"]),
        seed=int(args["seed"]),
        jobs=jobs,
        timeout=float(args["timeout"]),
        pytest_args=tuple(str(a) for a in args["pytest_args"]),
    )


def combine(slices: Sequence[Slice], settings: Settings) -> list[Iteration]:
    """Every slice's iterations copied into `settings.work`, as if one machine ran them all."""
    files: dict[str, bytes] = {}
    iterations: list[Iteration] = []
    for s in slices:
        for i in s.manifest["finished"]:
            name = settings.name(int(i))
            record = s.folder / f"{name}.json"
            try:
                it = Iteration.from_json(read_json(record, within=(s.folder,)))
            except InputError as exc:
                raise InputError(
                    f"{exc.message}; iteration {i} of slice {s.index}: run that slice again"
                ) from None
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(
                    f"{record}: iteration {i} of slice {s.index} unreadable ({exc}); run that "
                    "slice again"
                ) from None
            for suffix in RUN_SUFFIXES:
                run_file = s.folder / (name + suffix)
                if not run_file.exists():
                    continue  # a crashed run may have no log; its records are in the .json
                try:
                    files[name + suffix] = read_bytes(run_file, within=(s.folder,))
                except InputError as exc:
                    raise InputError(f"{exc.message}; run that slice again") from None
            iterations.append(it)
    work = settings.work
    work.mkdir(parents=True, exist_ok=True)
    for path in work.iterdir():
        if path.name.startswith(("run-", "classify-")) or path.name in (MANIFEST, "state.json"):
            path.unlink()
    for name, data in files.items():
        _atomic.write_bytes(work / name, data)
    moved = []
    for it in iterations:
        xml = work / f"{settings.name(it.iteration)}.xml"
        it = Iteration(
            it.iteration,
            it.seed,
            it.status,
            it.exit_code,
            _relative(xml, settings.root),
            it.seconds,
            it.records,
            it.order,
        )
        _atomic.write_json(work / f"{settings.name(it.iteration)}.json", it.to_json())
        moved.append(it)
    return sorted(moved, key=lambda it: it.iteration)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
