#!/usr/bin/env bash
# Installs what the pipeline tests need besides Python packages: rsync (Debian) and
# gitlab-ci-local (npm; 4.50.x is the line that runs on Node 20). Idempotent; safe to re-run.
set -euo pipefail

GITLAB_CI_LOCAL_VERSION="${GITLAB_CI_LOCAL_VERSION:-4.50.1}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v rsync >/dev/null 2>&1; then
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq rsync >/dev/null
fi

if ! command -v gitlab-ci-local >/dev/null 2>&1 \
  || [ "$(gitlab-ci-local --version 2>/dev/null)" != "$GITLAB_CI_LOCAL_VERSION" ]; then
  as_root npm install --global --no-audit --no-fund --loglevel=error \
    "gitlab-ci-local@${GITLAB_CI_LOCAL_VERSION}"
fi

rsync --version | sed -n 1p
echo "gitlab-ci-local $(gitlab-ci-local --version)"
