//! Verified online backups of the SQLite database: taking them (now, on the cron schedule, or
//! from the CLI), listing, pruning to `backup.keep`, downloading, and checking a file before a
//! restore.
//!
//! `file` owns the files (copy, verify, hash, sidecar, prune); `store` the `backups` table and
//! its audit rows; `schedule` the cron job; `routes` the admin API. The `restore` command
//! itself lives in `cli/restore.rs` because it must run with the server stopped.

pub mod file;
pub mod naming;
pub mod routes;
pub mod schedule;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

pub use file::{BackupFile, Verified};

use crate::app::AppState;
use crate::audit::Actor;
use crate::config::Settings;
use crate::metrics;

/// Why a backup or a restore check failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("the integrity check failed: {0}")]
    Integrity(String),
    #[error("the file is not a SQLite database")]
    NotSqlite,
    #[error("the checksum does not match its .sha256 file (expected {expected}, found {actual})")]
    Checksum { expected: String, actual: String },
    #[error("the database has schema version {found}; this ledgerguard supports 1 to {supported}")]
    SchemaVersion { found: i64, supported: i64 },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// One backup at a time per process; a second request waits for the first.
fn in_progress() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// Takes a backup into the backup dir from inside the server, prunes, records it (row, audit,
/// event) and updates the metrics.
pub async fn take_now(state: &AppState, actor: Actor) -> Result<BackupFile, BackupError> {
    let _one_at_a_time = in_progress().lock().await;
    let started = Instant::now();
    let settings = state.settings.clone();
    let (backup, pruned) = tokio::task::spawn_blocking(move || {
        let dir = settings.backup_dir();
        let backup = file::take(&settings.database_path(), &settings.storage, &dir)?;
        let pruned = file::prune(&dir, settings.backup.keep as usize)?;
        Ok::<_, BackupError>((backup, pruned))
    })
    .await
    .map_err(|e| BackupError::Other(format!("backup task failed: {e}")))??;
    let recorded = backup.clone();
    let location = state.settings.backup_dir().display().to_string();
    let event = state
        .store
        .writer
        .write(move |conn| store::record(conn, &recorded, &pruned, true, &actor, &location))
        .await?;
    state.events.publish_event(event);
    observe_success(started);
    tracing::info!(name = %backup.name, size = backup.size, "backup taken and verified");
    Ok(backup)
}

/// Records a successful backup's duration and time in the metrics.
pub fn observe_success(started: Instant) {
    let m = metrics::global();
    m.backup_duration_seconds
        .observe(started.elapsed().as_secs_f64());
    m.backup_last_success_timestamp_seconds
        .set(chrono::Utc::now().timestamp());
}

/// Sets the last-success gauge from the newest verified backup on disk (at start-up and
/// periodically, so backups taken by the CLI count too). Never moves the gauge backwards.
pub fn refresh_last_success(dir: &Path) {
    let newest = file::list(dir).ok().and_then(|list| {
        list.into_iter()
            .find(|b| b.integrity == "ok")
            .and_then(|b| chrono::DateTime::parse_from_rfc3339(&b.created_at).ok())
    });
    if let Some(at) = newest {
        let gauge = &metrics::global().backup_last_success_timestamp_seconds;
        if at.timestamp() > gauge.get() {
            gauge.set(at.timestamp());
        }
    }
}

/// The blocking flow of `ledgerguard backup`: copy into `dir`, prune when `dir` is the backup
/// dir, and return what was taken and pruned.
pub fn take_blocking(
    settings: &Settings,
    dir: &Path,
) -> Result<(BackupFile, Vec<String>), BackupError> {
    let backup = file::take(&settings.database_path(), &settings.storage, dir)?;
    let pruned = if same_dir(dir, &settings.backup_dir()) {
        file::prune(dir, settings.backup.keep as usize)?
    } else {
        Vec::new()
    };
    Ok((backup, pruned))
}

/// True when both paths name the same existing directory.
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
