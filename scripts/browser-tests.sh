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
SERVER_PIDS=()
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ "${KEEP_WORK:-0}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
: > "$WORK/ledgerguard.toml"
# The config file goes by --config: every setting below comes from the environment.
CONFIG=(--config "$WORK/ledgerguard.toml")
export LEDGERGUARD_AUTH__BCRYPT_COST=10

# Environment for one server instance: NAME's data and logs under $WORK/NAME.
use_instance() {
  export LEDGERGUARD_SERVER__LISTEN="127.0.0.1:$2"
  export LEDGERGUARD_STORAGE__DATA_DIR="$WORK/$1/data"
  export LEDGERGUARD_LOGGING__DIR="$WORK/$1/log"
}

# Starts `serve` for the current instance, logging to $WORK/NAME.out; sets LAST_PID.
start_server() {
  "$BIN" "${CONFIG[@]}" serve >"$WORK/$1.out" 2>&1 &
  LAST_PID=$!
  SERVER_PIDS+=("$LAST_PID")
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$2/health/ready" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$LAST_PID" 2>/dev/null; then cat "$WORK/$1.out"; echo "the $1 server exited"; exit 1; fi
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$2/health/ready" >/dev/null
}

# The main instance: an admin and an ingest key made with the CLI.
PORT=$(free_port)
use_instance main "$PORT"
ADMIN_EMAIL="admin@example.com"
ADMIN_PASSWORD="correct horse battery staple lamp"
echo "== creating the first admin and an ingest key"
printf '%s\n' "$ADMIN_PASSWORD" | "$BIN" "${CONFIG[@]}" user add --email "$ADMIN_EMAIL" --name "Ada Admin" --role admin --password-stdin >/dev/null
INGEST_KEY=$("$BIN" "${CONFIG[@]}" apikey create --name "browser tests" --scopes ingest,read | tail -n 1)
case "$INGEST_KEY" in lg_*) ;; *) echo "apikey create printed no key"; exit 1 ;; esac
echo "== starting ledgerguard on 127.0.0.1:$PORT"
start_server main "$PORT"

# A second, empty instance whose first admin is made through the setup link it logs.
SETUP_PORT=$(free_port)
use_instance fresh "$SETUP_PORT"
echo "== starting an empty ledgerguard on 127.0.0.1:$SETUP_PORT for the setup page"
start_server fresh "$SETUP_PORT"
SETUP_URL=""
for _ in $(seq 1 50); do
  SETUP_URL=$(grep -o 'http://[^" ]*/setup?token=[A-Za-z0-9_-]*' "$WORK/fresh.out" | head -n 1 || true)
  [ -n "$SETUP_URL" ] && break
  sleep 0.1
done
[ -n "$SETUP_URL" ] || { echo "the empty server logged no setup URL"; cat "$WORK/fresh.out"; exit 1; }

mkdir -p test-artifacts/screenshots
echo "== node --test tests/browser"
set +e
LG_BASE_URL="http://127.0.0.1:$PORT" LG_ADMIN_EMAIL="$ADMIN_EMAIL" LG_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
  LG_INGEST_KEY="$INGEST_KEY" LG_SETUP_URL="$SETUP_URL" LG_SCREENSHOTS="$ROOT/test-artifacts/screenshots" \
  node --test --test-concurrency=1 tests/browser/
STATUS=$?
set -e
if [ $STATUS -ne 0 ]; then
  echo "== server output (last 40 lines)"
  tail -n 40 "$WORK/main.out" || true
fi
exit $STATUS
