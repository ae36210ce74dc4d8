"""pytest plugin `-p testgate._shard_collect`: writes the collected node ids to a file.

Reading `--collect-only -q` output breaks when a project's addopts change the verbosity;
the items pytest itself collected, after every plugin's modifications, do not.
"""

from __future__ import annotations

import json
import os
from typing import Any

ENV = "TESTGATE_COLLECT_OUT"


def pytest_collection_finish(session: Any) -> None:
    out = os.environ.get(ENV)
    if out:
        config = session.config
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "rootdir": str(config.rootpath),
                    "invocation_dir": str(config.invocation_params.dir),
                    "ids": [item.nodeid for item in session.items],
                },
                handle,
            )
