//! The `ledgerguard` binary: parses the command line and hands over to the library.

/// mimalloc is the global allocator of every release build (feature `mimalloc`, on by
/// default): measured on the ingest benchmark it serves about a third more requests than
/// glibc's malloc, and musl's own allocator is far slower still.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    ledgerguard::cli::run()
}
