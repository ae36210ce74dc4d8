"""The flake hunt: N randomized pytest processes, aggregated, classified and reported."""

from __future__ import annotations
