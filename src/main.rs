//! The `ledgerguard` binary: parses the command line and hands over to the library.

/// The static release build swaps musl's allocator for mimalloc (see scripts/release-tarball.sh).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ledgerguard::cli::run()
}
