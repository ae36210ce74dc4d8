"""One module per `testgate` command: `add_parser(subparsers)` and `run(args) -> int`."""
