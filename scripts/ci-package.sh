#!/usr/bin/env bash
# CI for the Debian package, on a Debian machine as root (no systemd needed):
#   build the .deb; install it with dpkg -i; check the user, directories, conffile and unit;
#   run `systemd-analyze verify` and `systemd-analyze security --offline=true` (<= 2.0);
#   start the INSTALLED binary as the ledgerguard user with the packaged config; wait for
#   /health/ready; check a live /metrics scrape and the alert rules with promtool; take and
#   list a backup with the installed CLI while it runs; stop it with SIGTERM (clean exit);
#   reinstall (upgrade) and remove, both keeping the data; purge, which removes it.
# Idempotent: a package left installed by an earlier run of this script is purged first; a
# real installation (data without this script's marker) is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
export CARGO_TERM_COLOR=never
PORT="${LEDGERGUARD_CI_PORT:-18181}"
MARKER=/var/lib/ledgerguard/.installed-by-ci-package
WORK=$(mktemp -d)
SERVER_PID=""

step() { echo "== $*"; }
fail() { echo "ci-package: FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  fail "run as root (dpkg -i and the ledgerguard system user need it)"
fi

installed() { dpkg-query -W -f='${Status}' ledgerguard 2>/dev/null | grep -q "install ok installed\|config-files"; }

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if installed && [ -f "$MARKER" -o ! -d /var/lib/ledgerguard ]; then
    dpkg --purge ledgerguard >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -d /var/lib/ledgerguard ] && [ ! -f "$MARKER" ]; then
  fail "/var/lib/ledgerguard exists and was not made by this script; refusing to touch a real installation"
fi
if installed; then
  step "purging the package left by an earlier run"
  dpkg --purge ledgerguard >/dev/null
fi

step "tools: promtool (prometheus), curl, systemd-analyze, setpriv"
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v adduser >/dev/null 2>&1 || missing+=(adduser)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The prometheus package may start a server of its own; this script needs only promtool.
if [ -d /run/systemd/system ] && systemctl is-active --quiet prometheus 2>/dev/null; then
  echo "   (a prometheus service is running; leaving it alone)"
fi

step "build the .deb"
bash scripts/package-deb.sh >"$WORK/package.log" 2>&1 || { tail -40 "$WORK/package.log"; fail "cargo deb"; }
DEB=$(ls -1t target/debian/ledgerguard_*_amd64.deb | head -1)
case "$(basename "$DEB")" in
  ledgerguard_*_amd64.deb) echo "   $DEB ($(du -h "$DEB" | cut -f1))" ;;
  *) fail "unexpected package name $DEB" ;;
esac
dpkg-deb --contents "$DEB" | awk '{print "   " $6}' | grep -E "usr/bin/ledgerguard$|lib/systemd/system/ledgerguard.service$|etc/ledgerguard/ledgerguard.toml$" \
  || fail "the package lacks the binary, the unit or the config"

step "dpkg -i"
dpkg -i "$DEB" >/dev/null
touch "$MARKER"
getent passwd ledgerguard >/dev/null || fail "no ledgerguard user"
[ "$(stat -c '%U %a' /var/lib/ledgerguard)" = "ledgerguard 700" ] || fail "/var/lib/ledgerguard is $(stat -c '%U %a' /var/lib/ledgerguard)"
[ "$(stat -c '%U' /var/log/ledgerguard)" = "ledgerguard" ] || fail "/var/log/ledgerguard is not owned by ledgerguard"
[ "$(stat -c '%G %a' /etc/ledgerguard/ledgerguard.toml)" = "ledgerguard 640" ] || fail "config permissions $(stat -c '%G %a' /etc/ledgerguard/ledgerguard.toml)"
dpkg-query -W -f='${Conffiles}\n' ledgerguard | grep -q "/etc/ledgerguard/ledgerguard.toml" || fail "the config is not a conffile"
[ -f /lib/systemd/system/ledgerguard.service ] || [ -f /usr/lib/systemd/system/ledgerguard.service ] || fail "no unit installed"
/usr/bin/ledgerguard --version

step "systemd-analyze verify and security (<= 2.0)"
UNIT=/lib/systemd/system/ledgerguard.service
[ -f "$UNIT" ] || UNIT=/usr/lib/systemd/system/ledgerguard.service
verify_out=$(systemd-analyze verify "$UNIT" 2>&1 || true)
if [ -n "$verify_out" ]; then
  echo "$verify_out"
  fail "systemd-analyze verify is not clean"
fi
systemd-analyze security --offline=true --threshold=20 "$UNIT" >"$WORK/security.txt" 2>&1 \
  || { tail -5 "$WORK/security.txt"; fail "exposure above 2.0"; }
grep "Overall exposure level" "$WORK/security.txt" | sed 's/^/   /'

step "check-config of the packaged config as the ledgerguard user"
setpriv --reuid=ledgerguard --regid=ledgerguard --init-groups \
  /usr/bin/ledgerguard --config /etc/ledgerguard/ledgerguard.toml check-config >/dev/null

step "start the installed binary as ledgerguard on 127.0.0.1:$PORT"
LEDGERGUARD_SERVER__LISTEN="127.0.0.1:$PORT" setpriv --reuid=ledgerguard --regid=ledgerguard --init-groups \
  /usr/bin/ledgerguard --config /etc/ledgerguard/ledgerguard.toml serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=""
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
[ -n "$ready" ] || { tail -20 "$WORK/server.log"; fail "/health/ready never answered 200"; }
[ "$(stat -c '%U' /var/lib/ledgerguard/ledgerguard.db)" = "ledgerguard" ] || fail "the database is not owned by ledgerguard"
echo "   ready: $(curl -fsS "http://127.0.0.1:$PORT/health")"

step "promtool check metrics (live scrape) and rules"
curl -fsS "http://127.0.0.1:$PORT/api/openapi.json" >/dev/null || fail "/api/openapi.json"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
grep -q "^ledgerguard_http_requests_total" "$WORK/metrics.txt" || fail "no request metrics in the scrape"
promtool check metrics <"$WORK/metrics.txt" || fail "promtool check metrics"
promtool check rules packaging/prometheus-rules.yml
promtool check rules /usr/share/ledgerguard/prometheus-rules.yml >/dev/null

step "backup and backup list with the installed CLI while the server runs"
as_service() { setpriv --reuid=ledgerguard --regid=ledgerguard --init-groups /usr/bin/ledgerguard --config /etc/ledgerguard/ledgerguard.toml "$@"; }
backup_file=$(as_service backup 2>"$WORK/backup.err") || { cat "$WORK/backup.err"; fail "ledgerguard backup"; }
[ -f "$backup_file" ] || fail "backup printed $backup_file, which does not exist"
(cd "$(dirname "$backup_file")" && sha256sum -c --quiet "$(basename "$backup_file").sha256") || fail "the backup's checksum sidecar does not verify"
as_service backup list | grep -q "$(basename "$backup_file")" || fail "backup list does not show $backup_file"
if as_service restore "$backup_file" --yes >/dev/null 2>&1; then fail "restore ran while the server held the data dir"; fi

step "SIGTERM: graceful stop"
kill -TERM "$SERVER_PID"
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=""
[ "$status" -eq 0 ] || { tail -20 "$WORK/server.log"; fail "the server exited with $status after SIGTERM"; }

step "upgrade (reinstall) keeps the data"
before=$(sha256sum /var/lib/ledgerguard/ledgerguard.db | cut -d' ' -f1)
dpkg -i "$DEB" >/dev/null
[ "$(sha256sum /var/lib/ledgerguard/ledgerguard.db | cut -d' ' -f1)" = "$before" ] || fail "the upgrade changed the database"
[ -f "$backup_file" ] || fail "the upgrade lost the backup"

step "remove keeps the data, purge removes it"
dpkg -r ledgerguard >/dev/null
[ -f /var/lib/ledgerguard/ledgerguard.db ] || fail "dpkg -r removed the database"
[ ! -e /usr/bin/ledgerguard ] || fail "dpkg -r left the binary"
dpkg --purge ledgerguard >/dev/null
[ ! -e /var/lib/ledgerguard ] || fail "purge left /var/lib/ledgerguard"
[ ! -e /var/log/ledgerguard ] || fail "purge left /var/log/ledgerguard"
[ ! -e /etc/ledgerguard/ledgerguard.toml ] || fail "purge left the config"
if getent passwd ledgerguard >/dev/null; then fail "purge left the ledgerguard user"; fi

echo "ci-package: OK"
