#!/usr/bin/env bash
# The test suite: set-up (idempotent, seconds when already done), then pytest over the labs
# (validate mode, real daemons) and the harness's own unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pytest -p no:cacheprovider "$@"
