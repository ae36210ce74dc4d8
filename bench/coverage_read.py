"""Reading the coverage of a synthetic 2,000-file project: testgate vs `coverage report`.

The script writes a project of N source files (branches, loops, excluded lines) and a
.coverage data file made with coverage.py's CoverageData API (the arcs of a partial run,
from coverage.py's own parser), checks that testgate's total equals `coverage report`'s, then
times, interleaved:
  coverage report         `python -m coverage report` on the data (the reference)
  testgate read (proc)    the same work in a fresh process: `read_coverage(.coverage)`
  testgate read           `read_coverage(.coverage)` in this process
  testgate read json      `read_coverage(coverage.json)` (what the gate reads when fresh)
  testgate read xml       `read_coverage(coverage.xml)` (Cobertura)

    .venv/bin/python bench/coverage_read.py [--files 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

import coverage
from coverage.parser import PythonParser

sys.path.insert(0, str(Path(__file__).parent))
from _common import compare, run_command

from testgate.model import display_percent
from testgate.read.coverage import read_coverage

OUT = Path(__file__).parent / "out" / "coverage_read"

FUNCTION = """\
def f{i}(x, items):
    if x > {i}:
        total = 0
        for item in items:
            if item is None:
                continue
            total += item
        return total
    elif x < -{i}:
        return [y for y in items if y]
    try:
        return int(x)
    except ValueError:  # pragma: no cover
        return None


"""


def make_project(files: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)  # noqa: S311 - deterministic synthetic data, not security
    shutil.rmtree(OUT, ignore_errors=True)
    src = OUT / "src" / "pkg"
    src.mkdir(parents=True)
    (OUT / "pyproject.toml").write_text(
        "[tool.coverage.run]\nbranch = true\n[tool.coverage.report]\nprecision = 2\n"
    )
    data = coverage.CoverageData(basename=str(OUT / ".coverage"))
    arcs: dict[str, list[tuple[int, int]]] = {}
    for n in range(files):
        folder = src / f"sub{n % 40:02d}"
        folder.mkdir(exist_ok=True)
        path = folder / f"mod{n:04d}.py"
        text = "".join(FUNCTION.format(i=i) for i in range(rng.randint(2, 8)))
        path.write_text(text)
        parser = PythonParser(text=text, filename=str(path))
        parser.parse_source()
        possible = sorted(parser.arcs())
        ran = rng.random()  # some files barely run, some fully
        arcs[str(path.resolve())] = [a for a in possible if rng.random() < ran] or possible[:1]
    data.add_arcs(arcs)
    data.write()
    return OUT, OUT / ".coverage"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--files", type=int, default=2000)
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--seed", type=int, default=2026)
    opts = args.parse_args()

    root, data_file = make_project(opts.files, opts.seed)
    python = sys.executable
    cli = [python, "-m", "coverage"]
    for fmt in (["json", "-o", "coverage.json"], ["xml", "-o", "coverage.xml"]):
        subprocess.run([*cli, *fmt, f"--data-file={data_file}"], cwd=root, check=True)
    total = subprocess.run(
        [*cli, "report", f"--data-file={data_file}", "--format=total"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    data = read_coverage(data_file, root=root)
    ours = display_percent(data.totals.percent, data.precision)
    assert len(data.files) == opts.files, len(data.files)
    assert ours == total, (ours, total)
    for other in ("coverage.json", "coverage.xml"):
        assert display_percent(read_coverage(root / other, root=root).totals.percent, 2) == total
    t = data.totals
    print(f"{opts.files} files, {t.statements} statements, {t.branches} branches, total {total}%")

    in_proc = (
        "from pathlib import Path; from testgate.read.coverage import read_coverage; "
        f"read_coverage(Path({str(data_file)!r}), root=Path({str(root)!r}))"
    )
    compare(
        {
            "coverage report": run_command([*cli, "report", f"--data-file={data_file}"], cwd=root),
            "testgate read (proc)": run_command([python, "-c", in_proc], cwd=root),
            "testgate read": lambda: read_coverage(data_file, root=root),
            "testgate read json": lambda: read_coverage(root / "coverage.json", root=root),
            "testgate read xml": lambda: read_coverage(root / "coverage.xml", root=root),
        },
        reference="coverage report",
        rounds=opts.rounds,
    )


if __name__ == "__main__":
    main()
