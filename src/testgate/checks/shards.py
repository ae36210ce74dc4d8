"""`inputs.shards`: every shard of a split run reported, so a lost CI job never shrinks the suite.

A sharded session `S` writes `junit/S-K.xml` for K = 1..N, and `testgate shard --manifest`
notes N next to it in `junit/S-K.json`. The expected N comes from those notes (or from the
caller), never from the files that happened to arrive.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from testgate._safeio import MANIFEST_BYTES, MAX_SPLITS, read_json
from testgate.checks import CheckResult, Status
from testgate.errors import InputError

CHECK_ID = "inputs.shards"
_SHARD = re.compile(r"^(?P<session>[A-Za-z0-9_.]+)-(?P<group>[1-9][0-9]*)\.(?P<ext>xml|json)$")


def _ranges(groups: Iterable[int]) -> str:
    return ", ".join(str(g) for g in sorted(groups))


def check_shards(
    names: Iterable[str],
    *,
    splits: Mapping[str, Iterable[int]] | None = None,
    expected: Mapping[str, int] | None = None,
    plans: Mapping[str, Iterable[str]] | None = None,
) -> CheckResult | None:
    """Judge the file names of a junit folder; None when nothing in it is sharded.

    `splits`: per session, the split counts the shard manifests recorded (see
    `recorded_splits`); `expected`: per session, a count the configuration insists on;
    `plans`: per session, the partition digests the manifests recorded (`recorded_plans`).
    """
    present: dict[str, set[int]] = defaultdict(set)
    plain: set[str] = set()
    for name in names:
        m = _SHARD.match(name)
        if m and m["ext"] == "xml":
            present[m["session"]].add(int(m["group"]))
        elif name.endswith(".xml"):
            plain.add(name.removesuffix(".xml"))
    declared: dict[str, set[int]] = defaultdict(set)
    for session, values in (splits or {}).items():
        declared[session].update(values)
    for session, n in (expected or {}).items():
        declared[session].add(n)
    sessions = sorted(set(present) | set(declared))
    if not sessions:
        return None

    problems: list[str] = []
    fine: list[str] = []
    for session in sessions:
        have = present.get(session, set())
        counts = declared.get(session, set())
        if len(counts) > 1:
            problems.append(
                f"shards of '{session}' disagree on the split count ({_ranges(counts)}):"
                " reports of different runs are mixed"
            )
            continue
        if not counts:
            problems.append(
                f"{session}-K.xml shards ({_ranges(have)}) but no record of how many were"
                f" expected: keep the {session}-K.json files 'testgate shard --manifest' writes"
            )
            continue
        (n,) = counts
        digests = set((plans or {}).get(session, ()))
        if len(digests) > 1:
            problems.append(
                f"the '{session}' shards were split differently (other durations or code on some"
                " machines): tests may have run twice or not at all"
            )
        missing = sorted(set(range(1, n + 1)) - have)
        extra = sorted(have - set(range(1, n + 1)))
        if missing:
            files = ", ".join(f"{session}-{k}.xml" for k in missing)
            problems.append(f"{len(missing)} of {n} '{session}' shards missing: {files}")
        if extra:
            problems.append(
                f"'{session}' shards {_ranges(extra)} are beyond --splits {n}: stale reports"
            )
        if session in plain:
            problems.append(f"both {session}.xml and {session}-K.xml shards: one of them is stale")
        if not (missing or extra or session in plain or len(digests) > 1):
            fine.append(f"all {n} '{session}' shards reported")

    if problems:
        return CheckResult(
            id=CHECK_ID,
            status=Status.FAIL,
            message=problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            actual=sum(len(v) for v in present.values()),
            limit=sum(max(v) for v in declared.values() if len(v) == 1) or None,
            details=tuple(problems + fine),
        )
    return CheckResult(
        id=CHECK_ID,
        status=Status.PASS,
        message="; ".join(fine),
        actual=sum(len(v) for v in present.values()),
        limit=sum(max(v) for v in declared.values()),
        details=tuple(fine),
    )


def _manifests(junit_dir: Path) -> list[tuple[str, dict[str, object]]]:
    out = []
    for path in sorted(junit_dir.glob("*-*.json")):
        m = _SHARD.match(path.name)
        if not m:
            continue
        try:
            data = read_json(path, within=(junit_dir,), limit=MANIFEST_BYTES)
        except InputError:
            continue
        if isinstance(data, dict):
            out.append((m["session"], data))
    return out


def recorded_splits(junit_dir: Path) -> dict[str, set[int]]:
    """Split counts the `S-K.json` manifests in `junit_dir` record, per session.

    An unreadable manifest records nothing: its shard then counts as unaccounted for, so the
    check fails rather than trusting fewer files.
    """
    out: dict[str, set[int]] = defaultdict(set)
    for session, data in _manifests(junit_dir):
        n = data.get("splits")
        if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_SPLITS:
            out[session].add(n)
    return dict(out)


def recorded_plans(junit_dir: Path) -> dict[str, set[str]]:
    """The partition digests the manifests record, per session."""
    out: dict[str, set[str]] = defaultdict(set)
    for session, data in _manifests(junit_dir):
        digest = data.get("plan")
        if isinstance(digest, str):
            out[session].add(digest)
    return dict(out)


def check_junit_dir(
    junit_dir: Path, *, expected: Mapping[str, int] | None = None
) -> CheckResult | None:
    """`check_shards` on a reports/junit folder: what `testgate gate` calls."""
    if not junit_dir.is_dir():
        return None
    names = [p.name for p in junit_dir.iterdir()]
    return check_shards(
        names,
        splits=recorded_splits(junit_dir),
        expected=expected,
        plans=recorded_plans(junit_dir),
    )
