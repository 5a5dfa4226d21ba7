#!/usr/bin/env bash
# Builds target/debian/ledgerguard_<version>_amd64.deb with cargo-deb (installed on first use).
# The package is described in Cargo.toml [package.metadata.deb]; maintainer scripts are in
# packaging/debian/. Extra arguments go to `cargo deb` (e.g. --no-build after a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if ! cargo deb --version >/dev/null 2>&1; then
  echo "== installing cargo-deb"
  cargo install --locked cargo-deb
fi
if [ ! -f README.md ]; then
  echo "README.md is missing; the package ships it as its documentation" >&2
  exit 1
fi
echo "== cargo deb (release build)"
cargo deb --locked "$@"
ls -1t target/debian/ledgerguard_*_amd64.deb | head -1
