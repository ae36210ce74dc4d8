"""`inputs.shards`: every shard of a split run reported, so a lost CI job never shrinks the suite.

A sharded session `S` writes `junit/S-K.xml` for K = 1..N, and `testgate shard --manifest`
notes N next to it in `junit/S-K.json`. The expected N comes from those notes (or from the
caller), never from the files that happened to arrive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from testgate.checks import CheckResult, Status
from testgate.model.shards import SHARD_NAME, ShardFolder

CHECK_ID = "inputs.shards"


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
        m = SHARD_NAME.match(name)
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


def check_shard_folder(
    folder: ShardFolder | None, *, expected: Mapping[str, int] | None = None
) -> CheckResult | None:
    """`check_shards` on what `testgate.read.shards.scan` found in a reports/junit folder."""
    if folder is None:
        return None
    return check_shards(folder.names, splits=folder.splits, expected=expected, plans=folder.plans)
