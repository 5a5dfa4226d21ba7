//! `ledgerguard restore FILE [--yes]`: replaces the database with a verified backup.
//!
//! Refuses while a server holds the data dir. The file is first copied next to the database
//! and the copy is verified (checksum sidecar when present, `PRAGMA integrity_check`, a schema
//! version this binary can run), so what is swapped in is exactly what was checked. The
//! current database is checkpointed and kept as `ledgerguard.db.replaced-<timestamp>`, stale
//! `-wal`/`-shm` files are removed, and the copy is renamed into place. Any failure before
//! that rename leaves the data dir as it was.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

use crate::audit::Actor;
use crate::backup::{file, store as backup_store};
use crate::config::Settings;
use crate::store::{self, DataDirLock};

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file to restore (a `ledgerguard-*.db` file or any Ledgerguard database).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    pub yes: bool,
}

pub fn run(settings: &Settings, args: RestoreArgs) -> anyhow::Result<()> {
    if !args.yes && !std::io::stdin().is_terminal() {
        eprintln!("ledgerguard: restore replaces the database; pass --yes to confirm when not on a terminal");
        std::process::exit(i32::from(super::EXIT_USAGE));
    }
    let source = args.file;
    if !source.is_file() {
        bail!("{} is not a file", source.display());
    }
    let data_dir = settings.data_dir().to_path_buf();
    store::ensure_private_dir(&data_dir)?;
    let _lock = DataDirLock::acquire(&data_dir).map_err(|e| {
        anyhow::anyhow!(
            "refusing to restore: {e}; stop the server first (systemctl stop ledgerguard)"
        )
    })?;

    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let db = settings.database_path();
    let staged = data_dir.join(format!(".ledgerguard.db.restoring-{}", store::new_id()));
    let mut staged_guard = Staged(Some(staged.clone()));

    eprintln!(
        "restore: copying {} into {}",
        source.display(),
        data_dir.display()
    );
    fs::copy(&source, &staged).with_context(|| format!("cannot copy {}", source.display()))?;
    fs::File::open(&staged)?.sync_all()?;
    eprintln!("restore: verifying checksum, integrity and schema version");
    let verified = file::verify_copy(&staged, &source).map_err(|e| {
        anyhow::anyhow!(
            "refusing to restore {}: {e}; nothing was changed",
            source.display()
        )
    })?;
    eprintln!(
        "restore: {} is sound: integrity ok, schema version {}, {} bytes, sha256 {}",
        source.display(),
        verified.schema_version,
        verified.size,
        verified.sha256
    );

    if !args.yes && !confirm(&db, &source)? {
        bail!("restore cancelled; nothing was changed");
    }

    let replaced = if db.exists() {
        let replaced = free_name(&data_dir, &format!("ledgerguard.db.replaced-{stamp}"));
        set_aside(&db, &replaced)?;
        eprintln!(
            "restore: the current database is kept as {}",
            replaced.display()
        );
        Some(replaced)
    } else {
        None
    };
    file::match_owner(&data_dir, &[&staged]);
    fs::rename(&staged, &db)
        .with_context(|| format!("cannot move the restored database into {}", db.display()))?;
    staged_guard.0 = None;
    file::sync_dir(&data_dir);
    eprintln!(
        "restore: {} restored into {}",
        source.display(),
        db.display()
    );

    // The audit trail of the restored database records the restore itself.
    let source_label = source.display().to_string();
    let replaced_label = replaced.as_ref().map(|p| p.display().to_string());
    let audited = (|| -> anyhow::Result<()> {
        let mut conn = store::open_connection(&db, &settings.storage)?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        backup_store::record_restore(
            &tx,
            &source_label,
            &verified.sha256,
            replaced_label.as_deref(),
            &Actor::cli(),
        )?;
        tx.commit()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    })();
    if let Err(e) = audited {
        eprintln!("restore: warning: could not write the audit row: {e:#}");
    }
    file::match_owner(
        &data_dir,
        &[&db, &sidecar_path(&db, "-wal"), &sidecar_path(&db, "-shm")],
    );
    println!(
        "restored {} (schema version {}); start the server to serve it",
        source.display(),
        verified.schema_version
    );
    Ok(())
}

/// Removes the staged copy unless it was moved into place.
struct Staged(Option<PathBuf>);

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

fn confirm(db: &Path, source: &Path) -> anyhow::Result<bool> {
    eprint!(
        "Replace the database {} with {}? The current one is kept aside. [y/N] ",
        db.display(),
        source.display()
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn sidecar_path(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// `base`, or `base-1`, `base-2`, … whichever does not exist yet.
fn free_name(dir: &Path, base: &str) -> PathBuf {
    let mut candidate = dir.join(base);
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

/// Folds the current database's WAL into it, keeps it under `replaced` (a hard link, so the
/// live name is never missing until the rename replaces it), and clears its `-wal`/`-shm`.
/// A WAL that cannot be folded in (a damaged database) is kept beside the replaced copy.
fn set_aside(db: &Path, replaced: &Path) -> anyhow::Result<()> {
    let wal = sidecar_path(db, "-wal");
    let shm = sidecar_path(db, "-shm");
    let checkpointed = rusqlite::Connection::open(db)
        .and_then(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|busy| busy == 0)
        .unwrap_or(false);
    fs::hard_link(db, replaced)
        .or_else(|_| fs::copy(db, replaced).map(|_| ()))
        .with_context(|| format!("cannot keep the current database as {}", replaced.display()))?;
    if wal.exists() {
        let empty = fs::metadata(&wal).map(|m| m.len() == 0).unwrap_or(false);
        if checkpointed || empty {
            fs::remove_file(&wal)?;
        } else {
            let kept = sidecar_path(replaced, "-wal");
            fs::rename(&wal, &kept)?;
            eprintln!(
                "restore: warning: the old write-ahead log could not be checkpointed; kept as {}",
                kept.display()
            );
        }
    }
    if shm.exists() {
        fs::remove_file(&shm)?;
    }
    Ok(())
}
