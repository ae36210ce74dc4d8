#!/usr/bin/env bash
# Everything a fresh machine needs before `nox -s gate` or `nox -s unit integration`: nox and uv
# from PyPI, and the system tools the integration tests use for real (they fail, never skip,
# without them): headless Chromium, rsync and gitlab-ci-local. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install --quiet nox uv
bash ci/install-browser.sh
bash ci/install-test-tools.sh
