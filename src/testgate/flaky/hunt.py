"""N iterations, each a fresh pytest process with its own seed, run J at a time.

Parallelism is across iterations, never inside one: each process runs its whole order alone
(xdist is switched off in it by our plugin), so the order a seed names is the order that ran
and a failure stays reproducible from its seed. Every finished iteration is saved at once
under `reports/flaky/`, which is what `--resume` and Ctrl-C rely on.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from testgate import _atomic
from testgate._safeio import MANIFEST_BYTES, read_json
from testgate.errors import InputError, UsageError
from testgate.flaky.aggregate import Iteration
from testgate.flaky.classify import seed_args
from testgate.flaky.report import write_run_junit
from testgate.flaky.runner import run_pytest
from testgate.flaky.until import Until, settled_prefix
from testgate.model.flaky import COMPLETED

STATE_FORMAT = 1


@dataclass(frozen=True)
class Settings:
    root: Path
    reports_dir: Path
    count: int
    seed: int
    jobs: int
    timeout: float
    pytest_args: tuple[str, ...] = ()
    slice: tuple[int, int] | None = None  # (K, M): only iterations K, K+M, K+2M, ...
    until: tuple[float, float] | None = None  # (RATE, CONFIDENCE): stop once every test settled
    folder: str = "flaky"  # under reports_dir: the iterations' files

    @property
    def work(self) -> Path:
        return self.reports_dir / self.folder

    @property
    def planned(self) -> list[int]:
        """The iteration numbers this machine runs, out of the seeded plan of `count`."""
        if self.slice is None:
            return list(range(1, self.count + 1))
        k, m = self.slice
        return list(range(k, self.count + 1, m))

    @property
    def state_path(self) -> Path:
        return self.work / "state.json"

    def name(self, iteration: int) -> str:
        return f"run-{iteration:0{max(2, len(str(self.count)))}d}"

    def state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "seed": self.seed,
            "count": self.count,
            "timeout": self.timeout,
            "pytest_args": list(self.pytest_args),
            "slice": None if self.slice is None else list(self.slice),
            "until": None if self.until is None else list(self.until),
        }


@dataclass
class Hunt:
    iterations: list[Iteration] = field(default_factory=list)
    interrupted: bool = False
    settled: int | None = None  # --until: the iterations after which every test was settled

    @property
    def ordered(self) -> list[Iteration]:
        return sorted(self.iterations, key=lambda i: i.iteration)


def derive_seed(base: int, iteration: int) -> int:
    """Iteration i's seed from the hunt's seed: the same --seed replays the same orders."""
    digest = hashlib.sha256(f"testgate-flaky:{base}:{iteration}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def load_state(work: Path) -> dict[str, Any]:
    path = work / "state.json"
    if not path.exists():
        raise UsageError(
            f"{path}: no interrupted hunt to resume; run testgate flaky without --resume"
        )
    try:
        state = read_json(path, limit=MANIFEST_BYTES)
    except InputError as exc:
        raise InputError(
            f"{exc.message}: unreadable hunt state; start over without --resume"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: not a testgate hunt state; start over without --resume")
    return state


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _clear(work: Path) -> None:
    if not work.is_dir():
        return
    for path in work.iterdir():
        if path.name in ("state.json", "slice.json") or path.name.startswith(("run-", "classify-")):
            path.unlink()


def finished(settings: Settings) -> list[Iteration]:
    """Iterations already saved by an earlier, interrupted run of the same hunt."""
    done = []
    for i in settings.planned:
        path = settings.work / f"{settings.name(i)}.json"
        if not path.exists():
            continue
        try:
            done.append(Iteration.from_json(read_json(path)))
        except (InputError, ValueError, KeyError, TypeError, AttributeError):
            path.unlink()  # half a record is no record: that iteration runs again
    return done


def run_iteration(settings: Settings, iteration: int, stop: threading.Event) -> Iteration:
    name = settings.name(iteration)
    xml = settings.work / f"{name}.xml"
    xml.unlink(missing_ok=True)
    seed = derive_seed(settings.seed, iteration)
    run = run_pytest(
        [*seed_args(seed), f"--junitxml={xml}", *settings.pytest_args],
        root=settings.root,
        log=settings.work / f"{name}.jsonl",
        timeout=settings.timeout,
        output=settings.work / f"{name}.log",
        stop=stop,
    )
    if run.exit_code == 5 and not run.records:
        raise UsageError(
            f"pytest collected no tests in iteration {iteration}; run testgate flaky in the "
            "project root or name the tests after --"
        )
    if run.exit_code in (3, 4) and not run.records:
        tail = _tail(settings.work / f"{name}.log")
        raise UsageError(f"pytest exited {run.exit_code} in iteration {iteration}: {tail}")
    if run.status != COMPLETED or not xml.is_file():
        write_run_junit(xml, run.records, seconds=run.seconds)
    result = Iteration(
        iteration,
        seed,
        run.status,
        run.exit_code,
        _relative(xml, settings.root),
        run.seconds,
        run.records,
        run.order,
    )
    _atomic.write_json(settings.work / f"{name}.json", result.to_json())
    return result


def _tail(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:  # pragma: no cover - we wrote it a moment ago
        return "no output"
    return lines[-1].strip() if lines else "no output"


def run(
    settings: Settings,
    *,
    resume: bool = False,
    progress: TextIO | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Hunt:
    """Run the iterations not yet finished; Ctrl-C stops cleanly with what is done.

    With `settings.until`, the iterations after the first prefix 1..k in which every test is
    settled are stopped (or never started) and dropped: a seed gives one length however many
    ran at once.
    """
    stop = stop or threading.Event()
    # what stops the running iterations: an interrupt, or with --until the hunt settling
    halt = stop if settings.until is None else threading.Event()
    if not resume:
        _clear(settings.work)
    settings.work.mkdir(parents=True, exist_ok=True)
    _atomic.write_json(settings.state_path, settings.state())
    hunt = Hunt(finished(settings) if resume else [])
    until = Until(*settings.until) if settings.until is not None else None
    if until is not None:
        hunt.settled = settled_prefix(hunt.iterations, until)
    done_ids = {i.iteration for i in hunt.iterations}
    todo = [] if hunt.settled else [i for i in settings.planned if i not in done_ids]
    start = clock()
    ran = 0
    pool = ThreadPoolExecutor(max_workers=max(1, min(settings.jobs, len(todo) or 1)))
    submitted: list[Future[Iteration]] = []
    taken: set[Future[Iteration]] = set()
    try:
        submitted = [pool.submit(run_iteration, settings, i, halt) for i in todo]
        pending = set(submitted)
        while pending:
            ready, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in ready:
                taken.add(future)
                if future.cancelled() or (hunt.settled and future.exception()):
                    continue  # stopped because the hunt had settled
                it = future.result()
                hunt.iterations.append(it)
                ran += 1
                if progress is not None:
                    progress.write(_progress_line(it, ran, len(todo), clock() - start) + "\n")
                    progress.flush()
            if until is not None and hunt.settled is None:
                hunt.settled = settled_prefix(hunt.iterations, until)
                if hunt.settled is not None:
                    halt.set()
                    for future in pending:
                        future.cancel()
    except KeyboardInterrupt:
        stop.set()
        halt.set()
        hunt.interrupted = True
        # Every iteration not taken yet: the running ones and those that finished together
        # with the one being reported (their results are saved: they count).
        rest = [f for f in submitted if f not in taken]
        for future in rest:
            future.cancel()
        for future in rest:
            try:
                hunt.iterations.append(future.result())
            except Exception:  # noqa: S112 - an interrupted iteration is void
                continue
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if hunt.settled is not None:
        _drop_after(settings, hunt, hunt.settled)
    return hunt


def _drop_after(settings: Settings, hunt: Hunt, settled: int) -> None:
    """Forget the iterations past the settled prefix, files and all: a later --resume or
    report sees the same hunt a single job would have run."""
    hunt.iterations = [it for it in hunt.iterations if it.iteration <= settled]
    for i in range(settled + 1, settings.count + 1):
        for suffix in (".json", ".xml", ".jsonl", ".log"):
            (settings.work / f"{settings.name(i)}{suffix}").unlink(missing_ok=True)


def _progress_line(it: Iteration, done: int, total: int, elapsed: float) -> str:
    eta = elapsed / done * (total - done)
    return (
        f"testgate flaky: [{done}/{total}] iteration {it.iteration} seed {it.seed} "
        f"{it.status} ({len(it.records)} tests, {it.seconds:.1f} s); "
        f"elapsed {_clock(elapsed)}, ETA {_clock(eta)}"
    )


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}" if minutes else f"{secs} s"
