"""Split a collected pytest suite into N groups of about equal wall time.

The groups are what CI jobs running in parallel execute, so they must be disjoint, cover the
whole suite and come out the same on every machine: the split is a pure function of the
collected node ids, the recorded durations and N.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate import _safeio as safeio
from testgate._shard_collect import ENV
from testgate.errors import InputError
from testgate.read.junit import MAX_SECONDS, read_junit

SPLIT_DURATIONS = ".test_durations"  # pytest-split's file in the project root
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Durations:
    """Recorded seconds per node id and the files they came from."""

    seconds: Mapping[str, float]
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    index: int  # 1-based, as on the command line
    node_ids: tuple[str, ...]  # in collection order
    seconds: float  # expected wall time (recorded durations, the mean for unknown tests)


@dataclass(frozen=True)
class Plan:
    groups: tuple[Group, ...]
    known: int  # collected tests with a recorded duration
    mean: float | None  # seconds assumed for a test without one; None: equal counts

    @property
    def balanced(self) -> bool:
        """False when nothing was recorded and the groups are equal counts instead."""
        return self.mean is not None

    @property
    def total(self) -> int:
        return sum(len(g.node_ids) for g in self.groups)

    @property
    def digest(self) -> str:
        """Names the whole partition: shards that agree on it ran each test exactly once."""
        h = hashlib.sha256()
        for g in self.groups:
            h.update(f"{g.index}\n".encode())
            for node in sorted(g.node_ids):
                h.update(f"{node}\n".encode())
        return h.hexdigest()

    @property
    def imbalance(self) -> float:
        """Slowest group over the mean group time: 1.0 is a perfect split."""
        mean = sum(g.seconds for g in self.groups) / len(self.groups)
        return max(g.seconds for g in self.groups) / mean if mean > 0 else 1.0


# --- collecting -------------------------------------------------------------------------------


def collect(root: Path, pytest_args: Sequence[str] = (), *, python: str | None = None) -> list[str]:
    """Node ids of the suite exactly as pytest collects them in `root` (random order off)."""
    with tempfile.TemporaryDirectory(prefix="testgate-collect-") as tmp:
        out = Path(tmp) / "ids.json"
        argv = [python or sys.executable, "-m", "pytest", "--collect-only", "-q"]
        argv += ["-p", "no:randomly", "-p", "testgate._shard_collect", *pytest_args]
        try:
            done = subprocess.run(
                argv,
                cwd=root,
                env={**os.environ, ENV: str(out)},
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError as exc:
            raise InputError(f"cannot run pytest with {argv[0]} ({exc.strerror})") from None
        if done.returncode == 5:
            raise InputError(f"{root}: pytest collected no tests (check testpaths and the args)")
        if done.returncode != 0 or not out.is_file():
            lines = [ln.strip(" =!") for ln in (done.stdout + done.stderr).splitlines()]
            last = next((ln for ln in reversed(lines) if ln), "no output")
            raise InputError(
                f"{root}: pytest could not collect the suite (exit {done.returncode}: {last});"
                " run 'python -m pytest --collect-only' there to see why"
            )
        found = json.loads(out.read_text(encoding="utf-8"))
    if Path(found["rootdir"]) != Path(found["invocation_dir"]):
        # node ids are relative to the rootdir, `pytest @FILE` arguments to the current folder
        raise InputError(
            f"{root}: pytest's rootdir is {found['rootdir']}; run testgate shard there, where"
            " its node ids are paths pytest accepts back"
        )
    return list(dict.fromkeys(str(i) for i in found["ids"]))


# --- recorded durations -----------------------------------------------------------------------


def _junit_seconds(path: Path, root: Path) -> dict[str, float]:
    per_test: dict[str, float] = defaultdict(float)
    for case in read_junit(path, root=root).cases:
        per_test[case.node_id] += case.duration  # repetitions of one test add up
    return per_test


def _split_seconds(path: Path, raw: bytes) -> dict[str, float]:
    """pytest-split's `.test_durations`: {node id: seconds}, or [[node id, seconds], ...]."""
    try:
        data = safeio.load_json(raw, str(path))
    except InputError as exc:
        raise InputError(f"{exc.message} (expected pytest-split durations)") from None
    pairs = data.items() if isinstance(data, dict) else data
    try:
        out = {str(k): float(v) for k, v in pairs}
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: expected {{node id: seconds}} as pytest-split's .test_durations has"
        ) from None
    if any(not 0 <= v <= MAX_SECONDS for v in out.values()):
        raise InputError(f"{path}: negative, NaN or absurd durations (over {MAX_SECONDS:g} s)")
    return out


def _history_seconds(path: Path, *, last_runs: int = 20) -> dict[str, float]:
    """Mean seconds per test over the last runs in testgate's history (attempts summed)."""
    query = """
        SELECT t.node_id, AVG(per_run.seconds) FROM (
            SELECT test_id, SUM(duration) AS seconds FROM results
            WHERE duration IS NOT NULL
              AND run_id IN (SELECT id FROM runs ORDER BY id DESC LIMIT ?)
            GROUP BY test_id, run_id
        ) AS per_run JOIN tests AS t ON t.id = per_run.test_id
        GROUP BY t.node_id
    """
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = con.execute(query, (last_runs,)).fetchall()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputError(f"{path}: cannot read test durations from history ({exc})") from None
    out = {str(node): float(seconds) for node, seconds in rows}
    if any(not 0 <= v <= MAX_SECONDS for v in out.values()):
        raise InputError(f"{path}: negative, NaN or absurd durations (over {MAX_SECONDS:g} s)")
    return out


def _read_one(path: Path, root: Path) -> dict[str, float]:
    with safeio.open_input(path) as handle:  # named by the user: anywhere, but a regular file
        head = handle.read(16)
    if head.startswith(b"SQLite format 3"):
        return _history_seconds(path)
    if head.lstrip().startswith(b"<") or path.suffix == ".xml":
        return _junit_seconds(path, root)
    return _split_seconds(path, safeio.read_bytes(path))


def expand_sources(sources: Iterable[Path]) -> list[Path]:
    """A folder stands for the JUnit files in it."""
    out: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(src.glob("*.xml"))
            if not found:
                raise InputError(f"{src}: no JUnit *.xml files in this folder")
            out += found
        else:
            out.append(src)
    return out


def read_durations(sources: Iterable[Path], *, root: Path) -> Durations:
    """Seconds per node id: summed over repetitions in a file, averaged over files."""
    files = expand_sources(sources)
    totals: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for path in files:
        for node, seconds in _read_one(path, root).items():
            totals[node] += seconds
            counts[node] += 1
    mean = {node: totals[node] / counts[node] for node in totals}
    return Durations(seconds=mean, sources=tuple(str(p) for p in files))


def default_sources(reports_dir: Path, root: Path) -> list[Path]:
    """The last run's JUnit files, else pytest-split's file, else the history database."""
    junit = sorted((reports_dir / "junit").glob("*.xml"))
    if junit:
        return junit
    for candidate in (root / SPLIT_DURATIONS, reports_dir / "history.sqlite"):
        if candidate.is_file():
            return [candidate]
    return []


# --- splitting --------------------------------------------------------------------------------


def _lpt(weights: Mapping[str, float], order: Sequence[str], splits: int) -> list[list[str]]:
    """Longest processing time first onto the least loaded group; ties by node id."""
    heap = [(0.0, 0, k) for k in range(splits)]
    groups: list[list[str]] = [[] for _ in range(splits)]
    for node in sorted(order, key=lambda n: (-weights[n], n)):
        load, count, k = heapq.heappop(heap)
        groups[k].append(node)
        heapq.heappush(heap, (load + weights[node], count + 1, k))
    return groups


def _refine(groups: list[list[str]], weights: Mapping[str, float], rounds: int) -> None:
    """Move or swap tests between the slowest and the fastest group while that helps.

    Every step strictly lowers the sum of squared group times, so it ends; LPT's worst case
    (4/3 of optimal) shrinks to what single moves and swaps can reach.
    """
    for _ in range(rounds):
        loads = [math.fsum(weights[n] for n in g) for g in groups]
        hi = max(range(len(groups)), key=lambda k: (loads[k], -k))
        lo = min(range(len(groups)), key=lambda k: (loads[k], k))
        gap = loads[hi] - loads[lo]
        if gap <= 1e-9 * max(loads[hi], 1e-12):
            return
        small = sorted(groups[lo], key=lambda n: (weights[n], n))
        small_w = [weights[n] for n in small]
        best: tuple[float, str, str | None] | None = None
        for a in sorted(groups[hi], key=lambda n: (weights[n], n)):
            wa = weights[a]
            # swap a for b (or move a when b is None): the new gap is |gap - 2 (wa - wb)|
            candidates: list[tuple[float, str | None]] = [(0.0, None)]
            i = bisect.bisect_left(small_w, wa - gap / 2)
            candidates += [(small_w[j], small[j]) for j in (i - 1, i) if 0 <= j < len(small)]
            for wb, b in candidates:
                delta = wa - wb
                if 0 < delta < gap:
                    score = abs(gap - 2 * delta)
                    if best is None or score < best[0] - 1e-12:
                        best = (score, a, b)
        if best is None or best[0] >= gap - 1e-12:
            return
        _, a, b = best
        groups[hi].remove(a)
        groups[lo].append(a)
        if b is not None:
            groups[lo].remove(b)
            groups[hi].append(b)


def split(node_ids: Sequence[str], splits: int, durations: Mapping[str, float]) -> Plan:
    """Balance `node_ids` (collection order) into `splits` groups by `durations`."""
    if splits < 1:
        raise ValueError("splits must be at least 1")
    position = {n: i for i, n in enumerate(node_ids)}
    known = [durations[n] for n in node_ids if n in durations]
    if not known:
        size, extra = divmod(len(node_ids), splits)
        chunks, start = [], 0
        for k in range(splits):
            end = start + size + (1 if k < extra else 0)
            chunks.append(list(node_ids[start:end]))
            start = end
        return Plan(
            groups=tuple(Group(k + 1, tuple(c), float(len(c))) for k, c in enumerate(chunks)),
            known=0,
            mean=None,
        )
    mean = math.fsum(known) / len(known)  # exact: the same whatever the collection order
    weights = {n: durations.get(n, mean) for n in node_ids}
    groups = _lpt(weights, node_ids, splits)
    _refine(groups, weights, rounds=50 * splits)
    return Plan(
        groups=tuple(
            Group(
                k + 1,
                tuple(sorted(g, key=position.__getitem__)),
                math.fsum(weights[n] for n in g),
            )
            for k, g in enumerate(groups)
        ),
        known=len(known),
        mean=mean,
    )


def format_plan(plan: Plan) -> str:
    width = max(len(str(len(plan.groups))), len("group"))
    lines = [f"{'group':>{width}}  {'tests':>6}  {'expected':>10}"]
    unit = "s" if plan.balanced else "tests"
    for g in plan.groups:
        value = f"{g.seconds:.2f} s" if plan.balanced else f"{len(g.node_ids)} {unit}"
        lines.append(f"{g.index:>{width}}  {len(g.node_ids):>6}  {value:>10}")
    lines.append(f"imbalance (max/mean): {plan.imbalance:.3f}")
    if plan.mean is not None:
        lines.append(
            f"durations: recorded for {plan.known} of {plan.total} tests"
            + (
                f"; {plan.total - plan.known} estimated at the mean {plan.mean:.3f} s"
                if plan.known < plan.total
                else ""
            )
        )
    else:
        lines.append("durations: none recorded; equal counts")
    return "\n".join(lines) + "\n"


def manifest(plan: Plan, group: int, *, session: str = "unit") -> dict[str, object]:
    """The sidecar `<session>-<K>.json` next to the shard's JUnit: how many shards to expect."""
    g = plan.groups[group - 1]
    return {
        "format": MANIFEST_FORMAT,
        "tool": "testgate",
        "session": session,
        "group": group,
        "splits": len(plan.groups),
        "tests": len(g.node_ids),
        "plan": plan.digest,
        "expected_seconds": round(g.seconds, 3) if plan.balanced else None,
    }
