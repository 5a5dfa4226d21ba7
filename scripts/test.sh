#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real server on random ports), then the
# browser tests when a Chromium is installed. Installs nothing itself except what the
# browser harness needs; see .ci/run for a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (unit + integration)"
cargo test --lib --bins --tests -- --test-threads "${TEST_THREADS:-4}"

if [ -x scripts/browser-tests.sh ] && command -v chromium >/dev/null 2>&1; then
  echo "== browser tests"
  bash scripts/browser-tests.sh
elif [ -x scripts/browser-tests.sh ]; then
  echo "== browser tests skipped: chromium is not installed (apt-get install chromium chromium-driver)"
fi
