"""What `nox -s unit -R` costs over running the same pytest command directly (goal: <= 1 s).

Both contenders run the unit session's exact command in the session's own venv (.nox/unit,
created by one `nox -s unit` beforehand): coverage.py around pytest with xdist workers, JUnit
and coverage data into reports/ (this overwrites reports/junit/unit.xml and the unit data).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from _common import compare, run_command

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="after --, given to both (e.g. -- -k version: a small selection keeps the noise of"
        " a loaded machine out of the difference)",
    )
    args = parser.parse_args()
    venv_python = ROOT / ".nox" / "unit" / "bin" / "python"
    if not venv_python.exists():
        raise SystemExit("no .nox/unit venv: run `nox -s unit` once first")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    # pytest run directly as a user would, in the activated venv (tests find its executables)
    direct_env = {
        **env,
        "VIRTUAL_ENV": str(venv_python.parent.parent),
        "PATH": f"{venv_python.parent}{os.pathsep}{env.get('PATH', '')}",
    }
    reports = ROOT / "reports"
    direct = [
        str(venv_python),
        "-m",
        "coverage",
        "run",
        "--parallel-mode",
        f"--data-file={reports / 'coverage' / '.coverage.unit'}",
        "-m",
        "pytest",
        "tests/unit",
        f"--junitxml={reports / 'junit' / 'unit.xml'}",
        "-n",
        "auto",
        *args.pytest_args,
    ]
    medians = compare(
        {
            "pytest directly": run_command(direct, cwd=ROOT, env=direct_env),
            "nox -s unit -R": run_command(
                [sys.executable, "-m", "nox", "-s", "unit", "-R", "--", *args.pytest_args],
                cwd=ROOT,
                env=env,
            ),
        },
        reference="pytest directly",
        rounds=args.rounds,
    )
    overhead = medians["nox -s unit -R"] - medians["pytest directly"]
    print(f"nox overhead: {overhead:+.2f} s per run (goal <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
