"""A reports/junit folder as the shard check sees it: file names and what the manifests say."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# `S-K.xml` (shard K of session S) and its manifest `S-K.json`
# S-K.xml / S-K.json; S may hold dashes itself: `unit-py3.12-2.xml` is shard 2 of `unit-py3.12`
SHARD_NAME = re.compile(
    r"^(?P<session>[A-Za-z0-9_.][A-Za-z0-9_.-]*?)-(?P<group>[1-9][0-9]*)\.(?P<ext>xml|json)$"
)


@dataclass(frozen=True)
class ShardFolder:
    names: tuple[str, ...]  # every file name in the folder
    splits: Mapping[str, set[int]]  # per session, the split counts its manifests record
    plans: Mapping[str, set[str]]  # per session, the partition digests they record
