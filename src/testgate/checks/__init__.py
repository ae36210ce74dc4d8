"""Checks: pure functions from (data, budget) to a `CheckResult` (defined in the model)."""

from __future__ import annotations

from testgate.model.results import Annotation, CheckResult, GateResult, Status

__all__ = ["Annotation", "CheckResult", "GateResult", "Status"]
