"""`testgate shard`: the node ids of one group of a duration-balanced split of the suite."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from testgate import _atomic, config, shard
from testgate._safeio import MAX_SPLITS
from testgate.errors import UsageError


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "shard",
        help="the test node ids of group K of N, balanced by recorded durations",
        description=(
            "Collect the suite with pytest in the current directory and split it into N groups"
            " of about equal time, using the durations of a previous run (default: the JUnit"
            " files in REPORTS/junit, else pytest-split's .test_durations, else"
            " REPORTS/history.sqlite). Prints the node ids of group K, one per line, for"
            " 'pytest @FILE'."
        ),
    )
    parser.add_argument("--splits", type=int, required=True, metavar="N", help="number of groups")
    parser.add_argument("--group", type=int, metavar="K", help="which group to print (1..N)")
    parser.add_argument(
        "--durations",
        nargs="+",
        action="extend",
        type=Path,
        metavar="SRC",
        help="JUnit XML files or folders, a pytest-split .test_durations file, history.sqlite",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the node ids here")
    parser.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE",
        help="also write a JSON note of the split (put it next to the shard's JUnit file as"
        " junit/<session>-<K>.json so the gate can tell a shard is missing)",
    )
    parser.add_argument(
        "--plan", action="store_true", help="print the expected time per group and the imbalance"
    )
    parser.add_argument("--reports", type=Path, metavar="DIR", help="reports folder")
    parser.add_argument("--config", type=Path, metavar="FILE", help="pyproject.toml to read")
    parser.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="passed to pytest's collection"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    splits: int = args.splits
    group: int | None = args.group
    if not 1 <= splits <= MAX_SPLITS:
        raise UsageError(f"--splits must be between 1 and {MAX_SPLITS}, not {splits}")
    if group is None and not args.plan:
        raise UsageError("--group K is required (or --plan to see every group)")
    if group is not None and not 1 <= group <= splits:
        raise UsageError(f"--group {group} is out of range for --splits {splits} (use 1..{splits})")
    if args.manifest is not None and group is None:
        raise UsageError("--manifest needs --group K")
    project = config.find_project(args.config)
    root = project.root
    pytest_args = list(args.pytest_args)  # argparse has taken the "--" away

    if args.durations:
        sources = list(args.durations)
        looked = " ".join(str(p) for p in sources)
    else:
        reports = config.given_reports(args.reports) or project.reports_dir
        sources = shard.default_sources(reports, root)
        looked = (
            f"{reports / 'junit' / '*.xml'}, {shard.SPLIT_DURATIONS}, {reports / 'history.sqlite'}"
        )
    durations = shard.read_durations(sources, root=root)
    node_ids = shard.collect(root, pytest_args)
    plan = shard.split(node_ids, splits, durations.seconds)

    if not plan.balanced:
        print(
            f"testgate shard: no recorded duration for any of the {plan.total} collected tests"
            f" (looked in {looked}); splitting them into equal counts",
            file=sys.stderr,
        )
    if args.plan:
        sys.stdout.write(shard.format_plan(plan))
    if group is None:
        return 0
    ids = plan.groups[group - 1].node_ids
    if not ids:
        # `pytest @FILE` on an empty file would run the whole suite, not nothing
        raise UsageError(
            f"group {group} of {splits} would be empty: only {plan.total} tests were collected;"
            f" use --splits {plan.total} or fewer"
        )
    if args.manifest is not None:
        _atomic.write_json(args.manifest, shard.manifest(plan, group))
    text = "".join(f"{node}\n" for node in ids)
    if args.output is not None:
        _atomic.write_text(args.output, text)
    elif not args.plan:
        sys.stdout.write(text)
    return 0
