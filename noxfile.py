"""testgate's own sessions (placeholder; the foundation issue writes the real ones)."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"


@nox.session
def unit(session: nox.Session) -> None:
    """Unit tests."""
    session.install("-e", ".", "--group", "test")
    session.run("pytest", "tests/unit", *session.posargs)
