"""The shard manifests (`S-K.json`) `testgate shard --manifest` writes beside each shard's
JUnit file, read for the `inputs.shards` check."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from testgate._safeio import MANIFEST_BYTES, MAX_SPLITS, read_json
from testgate.errors import InputError
from testgate.model.shards import SHARD_NAME, ShardFolder


def _manifests(junit_dir: Path) -> list[tuple[str, dict[str, object]]]:
    out = []
    for path in sorted(junit_dir.glob("*-*.json")):
        m = SHARD_NAME.match(path.name)
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


def scan(junit_dir: Path) -> ShardFolder | None:
    """The folder's file names and manifests; None when there is no folder."""
    if not junit_dir.is_dir():
        return None
    return ShardFolder(
        tuple(p.name for p in junit_dir.iterdir()),
        recorded_splits(junit_dir),
        recorded_plans(junit_dir),
    )
