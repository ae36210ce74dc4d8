"""Read coverage data (.coverage files, coverage.json, Cobertura XML) into `CoverageData`.

(The foundation issue implements it.)
"""

from __future__ import annotations

import os
from pathlib import Path

from testgate.model import CoverageData


def read_coverage(path: str | os.PathLike[str], *, root: Path | None = None) -> CoverageData:
    raise NotImplementedError
