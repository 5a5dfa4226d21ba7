#!/usr/bin/env bash
# Browser tests: Debian's Chromium driven by playwright-core (tests/browser), against a real
# `ledgerguard serve` on a free loopback port with a throwaway data dir. Installs what is
# missing (chromium from apt, the npm packages from tests/browser/package-lock.json), builds
# the debug binary, creates an admin and an ingest key with the CLI, runs `node --test`, and
# stops the server. Screenshots land in test-artifacts/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "== installing nodejs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  echo "== installing playwright-core and axe-core (npm ci)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== building the debug binary"
cargo build --quiet --bin ledgerguard
BIN="$ROOT/target/debug/ledgerguard"

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_WORK:-0}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
: > "$WORK/ledgerguard.toml"
# The config file goes by --config: every setting below comes from the environment.
CONFIG=(--config "$WORK/ledgerguard.toml")
export LEDGERGUARD_SERVER__LISTEN="127.0.0.1:$PORT"
export LEDGERGUARD_STORAGE__DATA_DIR="$WORK/data"
export LEDGERGUARD_LOGGING__DIR="$WORK/log"
export LEDGERGUARD_AUTH__BCRYPT_COST=10

ADMIN_EMAIL="admin@example.com"
ADMIN_PASSWORD="correct horse battery staple lamp"
echo "== creating the first admin and an ingest key"
printf '%s\n' "$ADMIN_PASSWORD" | "$BIN" "${CONFIG[@]}" user add --email "$ADMIN_EMAIL" --name "Ada Admin" --role admin --password-stdin >/dev/null
INGEST_KEY=$("$BIN" "${CONFIG[@]}" apikey create --name "browser tests" --scopes ingest,read | tail -n 1)
case "$INGEST_KEY" in lg_*) ;; *) echo "apikey create printed no key"; exit 1 ;; esac

echo "== starting ledgerguard on 127.0.0.1:$PORT"
"$BIN" "${CONFIG[@]}" serve >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.out"; echo "the server exited"; exit 1; fi
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null

mkdir -p test-artifacts/screenshots
echo "== node --test tests/browser"
set +e
LG_BASE_URL="http://127.0.0.1:$PORT" LG_ADMIN_EMAIL="$ADMIN_EMAIL" LG_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  LG_INGEST_KEY="$INGEST_KEY" LG_SCREENSHOTS="$ROOT/test-artifacts/screenshots" \
  node --test --test-concurrency=1 tests/browser/
STATUS=$?
set -e
if [ $STATUS -ne 0 ]; then
  echo "== server output (last 40 lines)"
  tail -n 40 "$WORK/server.out" || true
fi
exit $STATUS
