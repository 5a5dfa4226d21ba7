#!/usr/bin/env bash
# Compares the glibc build (the .deb's) with the static musl build (the tarball's) on the
# ingest benchmark, in alternating rounds so a busy machine hurts both alike.
#
#   bash scripts/bench-builds.sh            # 2 rounds, 200 000 stored, 8 s per phase
#   ROUNDS=3 BENCH_PRELOAD=1000000 BENCH_SECONDS=10 bash scripts/bench-builds.sh
#
# Builds whatever is missing first (the musl build through scripts/release-tarball.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
rounds=${ROUNDS:-2}
export BENCH_PRELOAD=${BENCH_PRELOAD:-200000}
export BENCH_SECONDS=${BENCH_SECONDS:-8}

glibc=target/release/ledgerguard
musl=target/x86_64-unknown-linux-musl/release/ledgerguard
cargo build --release --locked --bins
[ -x "$musl" ] || bash scripts/release-tarball.sh
cargo bench --locked --bench ingest --no-run

for round in $(seq 1 "$rounds"); do
  for build in glibc musl; do
    echo "== $build build, round $round"
    BENCH_BINARY=${!build} cargo bench --locked --bench ingest 2>/dev/null
  done
done
