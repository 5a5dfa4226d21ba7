//! Ordered schema migrations. Version 1 is `schema.sql`; each later entry moves the schema
//! one version forward. They run at start-up, all pending ones in one transaction, so a failed
//! migration leaves the database exactly as it was. A database newer than this binary is refused.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

/// Every schema version's SQL, index 0 being version 1. Append only; never edit a shipped one.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../schema.sql"),
    // 2: find labelled transactions fast for model training and merchant risk.
    "CREATE INDEX transactions_label ON transactions(labelled_at) WHERE label IS NOT NULL;",
];

/// The schema version this binary writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The schema version stored in the database (`PRAGMA user_version`); 0 for a new file.
pub fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
    /// The safety copy taken before migrating a non-empty database.
    pub backup: Option<std::path::PathBuf>,
}

/// Brings the database to [`latest_version`], taking a backup first when it holds data.
pub fn migrate(conn: &mut Connection, backup_dir: &Path) -> Result<Migrated, StoreError> {
    let from = current_version(conn)?;
    let mut backup = None;
    if from > 0 && from < latest_version() {
        backup = Some(pre_migration_backup(conn, backup_dir)?);
    }
    migrate_with(conn, MIGRATIONS)?;
    if from < latest_version() {
        tracing::info!(from, to = latest_version(), "database schema migrated");
    }
    Ok(Migrated {
        from,
        to: latest_version(),
        backup,
    })
}

/// Applies `migrations` (version n at index n-1) that the database lacks.
pub fn migrate_with(conn: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let supported = migrations.len() as i64;
    let from = current_version(conn)?;
    if from > supported {
        return Err(StoreError::TooNew {
            found: from,
            supported,
        });
    }
    if from == supported {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    for (index, sql) in migrations.iter().enumerate().skip(from as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

fn pre_migration_backup(
    conn: &Connection,
    backup_dir: &Path,
) -> Result<std::path::PathBuf, StoreError> {
    super::ensure_private_dir(backup_dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut target = backup_dir.join(format!("ledgerguard-{stamp}.db"));
    let mut n = 1;
    while target.exists() {
        target = backup_dir.join(format!("ledgerguard-{stamp}-{n}.db"));
        n += 1;
    }
    let target_str = target
        .to_str()
        .ok_or_else(|| StoreError::Other("backup path is not UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [target_str])?;
    tracing::info!(path = %target.display(), "took a backup before migrating");
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Connection {
        Connection::open_in_memory().unwrap()
    }

    #[test]
    fn empty_database_reaches_latest_version() {
        let mut c = conn();
        migrate_with(&mut c, MIGRATIONS).unwrap();
        assert_eq!(current_version(&c).unwrap(), latest_version());
    }

    #[test]
    fn every_earlier_version_migrates_to_latest() {
        for start in 1..=latest_version() {
            let mut c = conn();
            migrate_with(&mut c, &MIGRATIONS[..start as usize]).unwrap();
            assert_eq!(current_version(&c).unwrap(), start);
            migrate_with(&mut c, MIGRATIONS).unwrap();
            assert_eq!(current_version(&c).unwrap(), latest_version());
        }
    }

    #[test]
    fn newer_database_is_refused() {
        let mut c = conn();
        c.pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();
        let err = migrate_with(&mut c, MIGRATIONS).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("newer"));
    }

    #[test]
    fn failed_migration_leaves_database_unchanged() {
        let mut c = conn();
        migrate_with(&mut c, &MIGRATIONS[..1]).unwrap();
        let broken: Vec<&str> = vec![
            MIGRATIONS[0],
            "CREATE TABLE half_done (x INTEGER);",
            "THIS IS NOT SQL",
        ];
        assert!(migrate_with(&mut c, &broken).is_err());
        assert_eq!(current_version(&c).unwrap(), 1);
        let exists: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(exists, 0);
    }
}
