"""The CLI's own cost: `testgate --version`, and `testgate junit --json` on a 100,000-case file
against a bare `lxml.etree.parse` of it, each in a fresh process.

    .venv/bin/python bench/cli_startup.py [--cases N] [--rounds R] [--testgate LABEL=PATH ...]

Every contender is a new process timed from outside (interpreter start-up included), run in
turn round after round; the tables print medians and ratios. `--testgate` adds another installed
`testgate` script (say a checkout of an older commit) to compare side by side; the default is the
one beside this interpreter. Targets: `--version` median <= 0.15 s; `junit --json` <= 2.5x the
bare parse. The file is bench/junit_read.py's realistic pytest-shaped one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import compare, run_command
from junit_read import OUT, generate

BARE_PARSE = (
    "import sys\nfrom lxml import etree\n"
    "etree.parse(sys.argv[1], etree.XMLParser(resolve_entities=False, no_network=True,"
    " load_dtd=False))"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument(
        "--testgate",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a testgate script to time (repeatable; default: the one beside this python)",
    )
    args = ap.parse_args()
    scripts = dict(item.split("=", 1) for item in args.testgate) or {
        "testgate": str(Path(sys.executable).parent / "testgate")
    }
    path = OUT / f"junit-{args.cases}.xml"
    if not path.exists():
        generate(path, args.cases, light=False)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, {args.cases} cases")

    floor = {"python -c pass": run_command([sys.executable, "-c", "pass"])}
    startup = {
        f"{label} --version": run_command([script, "--version"])
        for label, script in scripts.items()
    }
    compare({**floor, **startup}, reference="python -c pass", rounds=args.rounds)
    print()
    reading = {
        "lxml.etree.parse (fresh process)": run_command(
            [sys.executable, "-c", BARE_PARSE, str(path)]
        )
    }
    reading.update(
        {
            f"{label} junit --json": run_command([script, "junit", "--json", str(path)])
            for label, script in scripts.items()
        }
    )
    compare(reading, reference="lxml.etree.parse (fresh process)", rounds=args.rounds)


if __name__ == "__main__":
    main()
