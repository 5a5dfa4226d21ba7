//! `ledgerguard backup [--out DIR]` and `ledgerguard backup list`. Both work while a server
//! runs: the copy is an online read snapshot on this process's own connection, and the list
//! reads the backup dir and the checksum sidecars, not the database.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::audit::Actor;
use crate::backup::{self, file, store as backup_store};
use crate::config::Settings;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// Write the backup into DIR instead of `backup.dir` (no pruning there).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// List the backups in `backup.dir`, newest first.
    List,
}

pub fn run(settings: &Settings, args: BackupArgs) -> anyhow::Result<()> {
    match args.command {
        Some(BackupCommand::List) => list(settings),
        None => take(settings, args.out),
    }
}

fn list(settings: &Settings) -> anyhow::Result<()> {
    let dir = settings.backup_dir();
    let backups = file::list(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    if backups.is_empty() {
        writeln!(out, "no backups in {}", dir.display())?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<38} {:>12}  {:<20}  {:<10}  SHA-256",
        "NAME", "SIZE", "CREATED", "INTEGRITY"
    )?;
    for b in backups {
        writeln!(
            out,
            "{:<38} {:>12}  {:<20}  {:<10}  {}",
            b.name,
            b.size,
            b.created_at,
            b.integrity,
            b.sha256.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

fn take(settings: &Settings, out: Option<PathBuf>) -> anyhow::Result<()> {
    let dir = out.unwrap_or_else(|| settings.backup_dir());
    let db = settings.database_path();
    let started = Instant::now();
    eprintln!(
        "backup: copying {} (online snapshot) into {}",
        db.display(),
        dir.display()
    );
    let (taken, pruned) = backup::take_blocking(settings, &dir).context("backup failed")?;
    eprintln!(
        "backup: integrity ok, {} bytes, sha256 {} ({:.1} s)",
        taken.size,
        taken.sha256.as_deref().unwrap_or("-"),
        started.elapsed().as_secs_f64()
    );
    for name in &pruned {
        eprintln!(
            "backup: pruned {name} (backup.keep = {})",
            settings.backup.keep
        );
    }
    let listed = backup::same_dir(&dir, &settings.backup_dir());
    if let Err(e) = record(settings, &taken, &pruned, listed, &dir) {
        eprintln!("backup: warning: the backup is complete but could not be recorded in the database: {e:#}");
    }
    println!("{}", dir.join(&taken.name).display());
    Ok(())
}

/// Writes the `backups` row, audit row and event on this process's own connection; an
/// IMMEDIATE transaction keeps the audit chain in order beside a running server's writer.
fn record(
    settings: &Settings,
    taken: &file::BackupFile,
    pruned: &[String],
    listed: bool,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let mut conn = crate::store::open_connection(&settings.database_path(), &settings.storage)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    backup_store::record(
        &tx,
        taken,
        pruned,
        listed,
        &Actor::cli(),
        &dir.display().to_string(),
    )?;
    tx.commit()?;
    Ok(())
}
