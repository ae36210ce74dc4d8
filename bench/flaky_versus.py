"""Why it flakes, head to head: testgate flaky vs whyflaky vs pytest-flakedoctor.

On the planted suite of tests/integration/planted_why.py (three polluters leaking an
environment variable, the working directory and a module global; a test failing when run twice
in one process; tests flaky through `random`, `secrets`, string hashing, the wall clock and a
thread race), each tool runs as a user runs it, in its own fresh copy, side by side in one run:

- testgate: `testgate flaky --count 10` (found, classified, explained, fixes verified);
- whyflaky: `whyflaky scan . --verify` (found, classified, explained, fixes verified);
- flakedoctor: `pytest ID --doctor` once per planted test (it diagnoses one test a run and
  finds none itself: it is told every planted id, and each victim's polluter, a help the other
  two do not get); its order axis needs the pair, so a victim is run as `pytest POLLUTER
  VICTIM --doctor` with the order kept.

Per planted test: right kind, right cause, right leaked state, a deterministic repro; per
tool: wall time and pytest processes started (counted by a tiny plugin every pytest process
loads through PYTEST_PLUGINS). Several rounds (`--rounds`) give medians.

Usage: python bench/flaky_versus.py [--rounds 1] [--only testgate,whyflaky,flakedoctor]
(needs the `bench` dependency group)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))

import planted_why as planted  # noqa: E402 - the planted suite lives with the tests

Row = dict[str, Any]  # per test: kind, cause, leaked, deterministic
COUNTER = "_bench_pytest_counter"
CAUSE_OF = {
    "flaky-rng": "random", "flaky-hashseed": "hash-seed", "flaky-time": "time",
    "flaky-network": "network", "flaky-interleave": "concurrency", "flaky-race": "concurrency",
    "flaky-unattributed": "unknown",
}  # fmt: skip


def _env(counter: Path) -> dict[str, str]:
    plugin_dir = counter.parent / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / f"{COUNTER}.py").write_text(
        "import os\n\n\ndef pytest_configure(config):\n"
        "    with open(os.environ['BENCH_PYTEST_COUNT'], 'a') as f:\n"
        "        f.write('1\\n')\n"
    )
    path = os.pathsep.join(filter(None, [str(plugin_dir), os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": path,
        "PYTEST_PLUGINS": COUNTER,
        "BENCH_PYTEST_COUNT": str(counter),
    }


def _count(counter: Path) -> int:
    try:
        return len(counter.read_text().splitlines())
    except FileNotFoundError:
        return 0


def run_testgate(root: Path, env: Mapping[str, str]) -> dict[str, Row]:
    subprocess.run(
        [sys.executable, "-m", "testgate", "flaky", "--count", "10"],
        cwd=root, env=dict(env), capture_output=True, check=False,
    )  # fmt: skip
    report = json.loads((root / "reports" / "flaky.json").read_text())
    return {
        t["id"]: {
            "kind": t["kind"],
            "cause": t.get("cause"),
            "culprit": t.get("polluter") or t.get("state_setter"),
            "leaked": tuple(t.get("leaked") or ()),
            "deterministic": bool(t.get("repro_deterministic")),
            "fix": (t.get("fix") or {}).get("verified"),
        }
        for t in report["tests"]
        if t["verdict"] == "flaky"
    }


def run_whyflaky(root: Path, env: Mapping[str, str]) -> dict[str, Row]:
    out = root / "whyflaky.json"
    subprocess.run(
        [str(Path(sys.executable).parent / "whyflaky"), "scan", ".", "--verify", "--json",
         str(out), "-q"],
        cwd=root, env=dict(env), capture_output=True, check=False,
    )  # fmt: skip
    report = json.loads(out.read_text())
    return {str(f["test_id"]): _whyflaky_row(f) for f in report.get("flakes", [])}


def _whyflaky_row(flake: Mapping[str, Any]) -> Row:
    kind = str(flake.get("kind") or "")
    diag = flake.get("diagnosis") or {}
    implicated = [str(d) for d in diag.get("implicated") or ()]
    cause = None
    if kind.startswith("non-order"):
        cause = (
            "hash-seed" if implicated == ["hashseed"]
            else "random" if len(implicated) == 1
            else "unknown"
        )  # fmt: skip
    patch = flake.get("patch") or {}
    polluters = diag.get("polluters") or []
    return {
        "kind": "order-dependent"
        if kind.startswith("order-dependent")
        else "non-deterministic"
        if kind.startswith("non-order")
        else None,
        "cause": cause,
        "culprit": polluters[0] if polluters else None,
        "leaked": tuple(str(s) for s in diag.get("polluted_state") or ()),
        "deterministic": False,  # it prints no repro command
        "fix": patch.get("verified"),
    }


def run_flakedoctor(root: Path, env: Mapping[str, str]) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for test_id, (_kind, _cause, culprit, _leaked) in planted.TRUTH.items():
        out = root / f"doctor-{len(rows)}.json"
        ids = [culprit, test_id] if culprit else [test_id]
        subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:randomly", *ids, "--doctor",
             f"--doctor-json={out}"],
            cwd=root, env=dict(env), capture_output=True, check=False,
        )  # fmt: skip
        try:
            report = json.loads(out.read_text())
        except (OSError, ValueError):
            rows[test_id] = {"kind": None, "cause": None, "culprit": None, "leaked": (),
                             "deterministic": False, "fix": None}  # fmt: skip
            continue
        verdict = str(report.get("verdict") or "")
        repro = report.get("repro") or {}
        verify = (report.get("stats") or {}).get("verify") or {}
        order = "order" in verdict or repro.get("axis") == "order"
        rows[test_id] = {
            "kind": "order-dependent"
            if order
            else ("non-deterministic" if verdict.startswith("flaky") else None),
            "cause": None if order else CAUSE_OF.get(verdict),
            "culprit": culprit if order else None,
            "leaked": (),
            "deterministic": bool(verify) and verify.get("failed") == verify.get("runs"),
            "fix": None,
        }
    return rows


def score(rows: Mapping[str, Row]) -> dict[str, tuple[bool, bool, bool, bool]]:
    """Per planted test: (kind, cause, leaked state, deterministic repro) right."""
    got: dict[str, tuple[bool, bool, bool, bool]] = {}
    for test_id, (kind, cause, _culprit, leaked) in planted.TRUTH.items():
        row = rows.get(test_id) or {}
        got[test_id] = (
            row.get("kind") == kind,
            cause is None or row.get("cause") == cause,
            not leaked or set(leaked) <= set(row.get("leaked") or ()),
            bool(row.get("deterministic")),
        )
    return got


TOOLS: dict[str, Callable[[Path, Mapping[str, str]], dict[str, Row]]] = {
    "testgate": run_testgate,
    "whyflaky": run_whyflaky,
    "flakedoctor": run_flakedoctor,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default=",".join(TOOLS))
    parser.add_argument("--json", type=Path, help="write every measurement here too")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    seconds: dict[str, list[float]] = {n: [] for n in names}
    runs: dict[str, list[int]] = {n: [] for n in names}
    scores: dict[str, dict[str, tuple[bool, bool, bool, bool]]] = {}
    raw: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="flaky-versus-") as tmp:
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                base = Path(tmp) / f"{name}-{round_}"
                root = planted.make(base / "project")
                counter = base / "count"
                start = time.perf_counter()
                rows = TOOLS[name](root, _env(counter))
                seconds[name].append(time.perf_counter() - start)
                runs[name].append(_count(counter))
                scores[name] = score(rows)  # the last round's answers
                raw[name] = {k: {**v, "raw": None} for k, v in rows.items()}
                print(f"{name}: round {round_ + 1}: {seconds[name][-1]:.0f} s", file=sys.stderr)
                if args.json is not None:  # what is done so far survives a later failure
                    _dump(args.json, seconds, runs, raw)
    print(table(names, scores, seconds, runs))
    return 0


def _dump(path: Path, seconds: object, runs: object, rows: object) -> None:
    data = {"seconds": seconds, "runs": runs, "rows": rows}
    path.write_text(json.dumps(data, indent=2, default=list))


def table(
    names: list[str],
    scores: Mapping[str, Mapping[str, tuple[bool, bool, bool, bool]]],
    seconds: Mapping[str, list[float]],
    runs: Mapping[str, list[int]],
) -> str:
    def mark(ok: bool) -> str:
        return "yes" if ok else "no"

    lines = [
        "| planted test (truth) | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for test_id, (kind, cause, _c, leaked) in planted.TRUTH.items():
        truth = f"{kind}" + (f", {cause}" if cause else "") + (f", {leaked[0]}" if leaked else "")
        cells = []
        for n in names:
            k, c, lk, d = scores[n][test_id]
            cells.append(
                f"kind {mark(k)}"
                + ("" if cause is None else f", cause {mark(c)}")
                + ("" if not leaked else f", leaked {mark(lk)}")
                + f", det. repro {mark(d)}"
            )
        lines.append(f"| `{test_id.split('::')[-1]}` ({truth}) | " + " | ".join(cells) + " |")
    totals = []
    for n in names:
        right = sum(all(v[:3]) for v in scores[n].values())
        det = sum(v[3] for v in scores[n].values())
        totals.append(f"{right}/{len(planted.TRUTH)} right, {det} det. repros")
    lines.append("| **all right (kind, cause, leaked)** | " + " | ".join(totals) + " |")
    med = {n: statistics.median(seconds[n]) for n in names}
    lines.append("| wall time, median s | " + " | ".join(f"{med[n]:.0f}" for n in names) + " |")
    if "whyflaky" in med:
        lines.append(
            "| ratio to whyflaky | "
            + " | ".join(f"{med[n] / med['whyflaky']:.2f}x" for n in names)
            + " |"
        )
    lines.append(
        "| pytest processes, median | "
        + " | ".join(f"{statistics.median(runs[n]):.0f}" for n in names)
        + " |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
