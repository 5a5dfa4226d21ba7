//! The `backups` table: one row per backup taken into the backup dir, written in the same
//! transaction as its audit row and its `backup.completed` event.

use rusqlite::{params, Connection};
use serde_json::json;

use super::file::BackupFile;
use crate::audit::{self, Actor, Entry};
use crate::events::{self, Event};
use crate::store::StoreError;

/// Records a finished backup (and the pruning that followed it) with its audit row and event.
/// `listed` is false for a copy written outside the backup dir (`backup --out`), which gets an
/// audit row but no `backups` row (the API lists and serves only the backup dir).
pub fn record(
    conn: &Connection,
    backup: &BackupFile,
    pruned: &[String],
    listed: bool,
    actor: &Actor,
    location: &str,
) -> Result<Event, StoreError> {
    if listed {
        conn.execute(
            "INSERT INTO backups (name, size, sha256, created_at, integrity) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(name) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
                 created_at = excluded.created_at, integrity = excluded.integrity",
            params![
                backup.name,
                backup.size as i64,
                backup.sha256.as_deref().unwrap_or(""),
                backup.created_at,
                backup.integrity
            ],
        )?;
    }
    for name in pruned {
        conn.execute("DELETE FROM backups WHERE name = ?1", [name])?;
    }
    audit::append(
        conn,
        Entry::new(actor, "backup.created")
            .target("backup", &backup.name)
            .details(json!({
                "size": backup.size,
                "sha256": backup.sha256,
                "location": location,
                "pruned": pruned,
            })),
    )?;
    events::record(
        conn,
        "backup.completed",
        serde_json::to_value(backup).unwrap_or_default(),
    )
}

/// Records a download of a backup.
pub fn record_download(conn: &Connection, name: &str, actor: &Actor) -> Result<(), StoreError> {
    audit::append(
        conn,
        Entry::new(actor, "backup.downloaded").target("backup", name),
    )
}

/// Records a restore in the restored database.
pub fn record_restore(
    conn: &Connection,
    source: &str,
    sha256: &str,
    replaced: Option<&str>,
    actor: &Actor,
) -> Result<(), StoreError> {
    audit::append(
        conn,
        Entry::new(actor, "backup.restored")
            .target("backup", source)
            .details(json!({
                "sha256": sha256,
                "replaced": replaced,
            })),
    )
}
