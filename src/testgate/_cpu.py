"""How many processes testgate runs side by side."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its affinity, which containers and CI set), not the
    machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
