"""`testgate flaky --new`: a burn-in of the tests a change adds, before they reach the base branch.

New means absent from the base's history (every run recorded at a commit the base contains), or,
with no such history, collected from a test file changed since the merge base. Each new test
runs in fresh pytest processes with the other tests of its module, each process in its own
random order; how many depends on its duration in the first (10, 5, 3, 2 runs for tests under
5 s, 10 s, 30 s, 5 min; once above, twice with two jobs or more), as hosted early flake
detection does.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from testgate.errors import Stopped, UsageError
from testgate.flaky import hunt as hunt_mod
from testgate.flaky.aggregate import Iteration
from testgate.history import store

FOLDER = "flaky-new"  # under the reports folder: never the full hunt's flaky/
REPETITIONS = ((5.0, 10), (10.0, 5), (30.0, 3), (300.0, 2))
DEFAULT_BASES = ("origin/HEAD", "origin/main", "main", "origin/master", "master")
HISTORY_COMMITS = 1000  # the base's commits whose recorded runs say which tests exist


def repetitions(seconds: float) -> int:
    """Runs of a test that took `seconds` once (the first run included)."""
    return next((n for limit, n in REPETITIONS if seconds < limit), 1)


def _git(root: Path, *argv: str) -> str | None:
    try:
        done = subprocess.run(["git", *argv], cwd=root, capture_output=True, text=True, check=False)
    except OSError:  # pragma: no cover - git not installed
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def resolve_base(root: Path, base: str | None) -> tuple[str, str]:
    """(name, commit) of the base; the first of DEFAULT_BASES git knows when none is named."""
    for name in (base,) if base is not None else DEFAULT_BASES:
        sha = _git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
        if sha:
            return name, sha
    if base is not None:
        raise UsageError(
            f"--base {base}: not a commit git knows in {root}; fetch it (git fetch origin "
            f"{base}) or name another"
        )
    raise UsageError(
        f"no base branch found in {root} ({', '.join(DEFAULT_BASES)}); name it with --base REF"
    )


def known_in_history(history: Path, commits: Sequence[str]) -> set[str] | None:
    """Node ids of every run recorded at one of `commits`; None: no such run recorded."""
    if not history.is_file() or not commits:
        return None
    db = store.connect(history, create=False)
    try:
        known: set[str] = set()
        runs = 0
        for start in range(0, len(commits), 500):
            chunk = list(commits[start : start + 500])
            marks = ",".join("?" * len(chunk))
            runs += db.execute(
                f"SELECT COUNT(*) FROM runs WHERE commit_sha IN ({marks})",  # noqa: S608 - marks only
                chunk,
            ).fetchone()[0]
            for table in ("results", "hunt_tests"):
                rows = db.execute(
                    f"SELECT DISTINCT t.node_id FROM {table} x JOIN tests t ON t.id = x.test_id "  # noqa: S608 - our table names
                    f"JOIN runs r ON r.id = x.run_id WHERE r.commit_sha IN ({marks})",
                    chunk,
                )
                known.update(str(row[0]) for row in rows)
    except sqlite3.Error:
        return None  # an unreadable history says nothing; the changed files still do
    finally:
        db.close()
    return known if runs else None


def changed_files(root: Path, base_commit: str) -> set[str] | None:
    """Files added or changed since the merge base (committed or not, untracked included)."""
    merge_base = _git(root, "merge-base", "HEAD", base_commit)
    if merge_base is None:
        return None
    diff = _git(root, "diff", "--name-only", "--diff-filter=d", "--relative", merge_base)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard")
    if diff is None or untracked is None:  # pragma: no cover - git just answered
        return None
    return {line for line in (diff + "\n" + untracked).splitlines() if line}


@dataclass(frozen=True)
class Selection:
    base: str
    base_commit: str
    method: str  # "history": absent from the base's runs; "changed-files": in a changed file
    new: tuple[str, ...]


def select(root: Path, base: str | None, collected: Sequence[str], history: Path) -> Selection:
    name, sha = resolve_base(root, base)
    commits = (_git(root, "rev-list", f"--max-count={HISTORY_COMMITS}", sha) or "").split()
    known = known_in_history(history, commits)
    if known is not None:
        return Selection(name, sha, "history", tuple(i for i in collected if i not in known))
    changed = changed_files(root, sha)
    if changed is None:
        raise UsageError(
            f"{root}: no history of {name} in {history} and no merge base with it; "
            "record a run of the base branch first, or name another --base"
        )
    new = tuple(i for i in collected if i.split("::", 1)[0] in changed)
    return Selection(name, sha, "changed-files", new)


def module(test_id: str) -> str:
    return test_id.split("::", 1)[0]


@dataclass
class BurnIn:
    iterations: list[Iteration]
    runs: dict[str, int]  # new test id -> planned runs
    interrupted: bool = False


def run(
    settings: hunt_mod.Settings,
    new: Sequence[str],
    options: Sequence[str],
    *,
    stop: threading.Event,
) -> BurnIn:
    """Iteration 1 runs every new test's module and measures the new tests; each later
    iteration i runs the modules of the new tests that need at least i runs, side by side."""
    work = settings.work
    work.mkdir(parents=True, exist_ok=True)
    for path in work.iterdir():
        if path.name.startswith(("run-", "classify-")):
            path.unlink()

    def at(modules: Sequence[str]) -> hunt_mod.Settings:
        return replace(settings, pytest_args=(*options, *modules))

    first_modules = sorted({module(t) for t in new})
    burn = BurnIn([], {})
    # With two jobs or more, iterations 1 and 2 start together: every test runs at least twice
    # (a test over 5 minutes too), and nobody waits for a measurement alone.
    head = 2 if settings.jobs > 1 else 1
    pool = ThreadPoolExecutor(max_workers=max(1, settings.jobs))
    try:
        first = [
            pool.submit(hunt_mod.run_iteration, at(first_modules), i, stop) for i in (1, 2)[:head]
        ]
        burn.iterations += [f.result() for f in first]
        seconds = {r.id: r.duration for r in burn.iterations[0].records}
        # a new test the first run never reached (it crashed first) gets the most runs
        burn.runs = {t: max(head, repetitions(seconds.get(t, 0.0))) for t in new}
        most = max(burn.runs.values(), default=1)
        plans = {
            i: sorted({module(t) for t, n in burn.runs.items() if n >= i})
            for i in range(head + 1, most + 1)
        }
        rest = [pool.submit(hunt_mod.run_iteration, at(m), i, stop) for i, m in plans.items()]
        burn.iterations += [f.result() for f in rest]
    except KeyboardInterrupt:
        stop.set()  # the running pytest processes are killed, not waited for
        burn.interrupted = True
    except Stopped:  # pragma: no cover - stop is set only by an interrupt
        burn.interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return burn
