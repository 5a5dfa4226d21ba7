#!/usr/bin/env bash
# Builds the release tarball around a static binary: x86_64-unknown-linux-musl with mimalloc
# as the global allocator (musl's own allocator is slow for a threaded server), plus the
# systemd unit, the default config, the Grafana dashboard, the Prometheus rules and README.
# Output: target/dist/ledgerguard-<version>-x86_64-linux-musl.tar.gz and its .sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
TARGET=x86_64-unknown-linux-musl

if ! rustup target list --installed | grep -qx "$TARGET"; then
  echo "== rustup target add $TARGET"
  rustup target add "$TARGET"
fi
if ! command -v musl-gcc >/dev/null 2>&1; then
  echo "== apt-get install musl-tools"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools >/dev/null
fi

echo "== cargo build --release --target $TARGET --features mimalloc"
cargo build --release --locked --target "$TARGET" --features mimalloc

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
name="ledgerguard-${version}-x86_64-linux-musl"
dist=target/dist
stage="$dist/$name"
rm -rf "$stage"
mkdir -p "$stage"
install -m 0755 "target/$TARGET/release/ledgerguard" "$stage/ledgerguard"
install -m 0644 systemd/ledgerguard.service "$stage/ledgerguard.service"
install -m 0644 packaging/ledgerguard.toml "$stage/ledgerguard.toml"
install -m 0644 packaging/grafana-dashboard.json packaging/prometheus-rules.yml "$stage/"
install -m 0644 README.md "$stage/README.md"

# The binary must not need a dynamic loader.
if command -v file >/dev/null 2>&1; then
  file "$stage/ledgerguard"
  if file "$stage/ledgerguard" | grep -q "dynamically linked"; then
    echo "the musl binary is dynamically linked" >&2
    exit 1
  fi
fi
"$stage/ledgerguard" --version

tar -C "$dist" -czf "$dist/$name.tar.gz" --owner=0 --group=0 "$name"
(cd "$dist" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$dist/$name.tar.gz"
