#!/usr/bin/env bash
# The test suite: set-up (idempotent, seconds when already done), then pytest over the labs
# (validate mode, real daemons) and the harness's own unit and integration tests.
# Around the suite, this machine's state (firewall rules, mounts, links, Docker and libvirt objects:
# scripts/machine-state.sh) is written before and after: a difference fails the run, because
# everything a run creates must be gone when it ends. Run it alone on the machine, or set
# LH_MACHINE_CHECK=0 when other work changes these things at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "${LH_MACHINE_CHECK:-1}" = 0 ]; then
  exec .venv/bin/pytest -p no:cacheprovider "$@"
fi
state=$(mktemp -d /tmp/lh-machine-state.XXXXXX)
scripts/machine-state.sh > "$state/before"
rc=0
.venv/bin/pytest -p no:cacheprovider "$@" || rc=$?
scripts/machine-state.sh > "$state/after"
if ! diff -u "$state/before" "$state/after" > "$state/diff"; then
  echo "test.sh: the suite left this machine changed ($state/diff; - before, + after):" >&2
  cat "$state/diff" >&2
  [ "$rc" -ne 0 ] || rc=1
else
  echo "test.sh: this machine is as the suite found it (firewall, mounts, links, docker and libvirt objects)"
  rm -rf "$state"
fi
exit "$rc"
