"""What kind of machine a run happened on: CPU model, usable cores, Python version.

Durations are only comparable between runs on the same kind of machine. The hostname is left
out on purpose: CI runners get a new one for every job, and two laptops of the same model are
the same kind of machine.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from testgate._cpu import usable_cores

CPUINFO = Path("/proc/cpuinfo")


def cpu_model(cpuinfo: Path = CPUINFO) -> str:
    """The CPU's model name as Linux reports it; elsewhere what `platform` knows."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if (
            sep
            and key.strip() in ("model name", "Model", "Hardware", "cpu model")
            and value.strip()
        ):
            return " ".join(value.split())
    return platform.processor() or platform.machine() or "unknown CPU"


def fingerprint(cpuinfo: Path = CPUINFO) -> str:
    """E.g. `Intel(R) Xeon(R) CPU @ 2.20GHz; 2 cores; CPython 3.11`."""
    python = f"{platform.python_implementation()} {sys.version_info[0]}.{sys.version_info[1]}"
    return f"{cpu_model(cpuinfo)}; {usable_cores()} cores; {python}"
