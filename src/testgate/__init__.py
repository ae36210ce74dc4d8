"""testgate: budgets for an honest, fast Python test suite."""

from __future__ import annotations

__version__ = "0.2.0"
