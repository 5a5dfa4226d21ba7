//! The tamper-evident audit trail: an append-only table where each row carries the SHA-256 of
//! the previous row, written in the same transaction as the change it records, and mirrored
//! to `audit.log.*`.
//!
//! Feature code calls [`append`] inside its write job. [`verify`] walks the chain (used by
//! `ledgerguard audit verify`). The HTTP listing lives in `routes.rs`.

pub mod routes;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::logging::AUDIT_TARGET;
use crate::store::{new_id, now_rfc3339, StoreError};

/// The hash the first row chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did it.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub kind: String,
    pub id: Option<String>,
    pub label: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn principal(p: &Principal, ip: Option<std::net::IpAddr>) -> Self {
        Self {
            kind: p.kind().into(),
            id: Some(p.id().into()),
            label: Some(p.label().into()),
            ip: ip.map(|i| i.to_string()),
        }
    }
    /// An unauthenticated caller (failed login, setup).
    pub fn anonymous(label: Option<String>, ip: Option<std::net::IpAddr>) -> Self {
        Self {
            kind: "anonymous".into(),
            id: None,
            label,
            ip: ip.map(|i| i.to_string()),
        }
    }
    /// The shell (`ledgerguard user add`, `restore`, …).
    pub fn cli() -> Self {
        let user = std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok();
        Self {
            kind: "cli".into(),
            id: None,
            label: user,
            ip: None,
        }
    }
    /// The server itself (schedules, automatic freezes).
    pub fn system() -> Self {
        Self {
            kind: "system".into(),
            id: None,
            label: Some("ledgerguard".into()),
            ip: None,
        }
    }
}

/// One audit event to append.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub details: serde_json::Value,
}

impl<'a> Entry<'a> {
    pub fn new(actor: &'a Actor, action: &'a str) -> Self {
        Self {
            actor,
            action,
            target_type: None,
            target_id: None,
            details: serde_json::json!({}),
        }
    }
    pub fn target(mut self, kind: &'a str, id: &'a str) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id);
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored audit row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub seq: i64,
    pub id: String,
    pub at: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub actor_label: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

fn row_hash(prev: &str, r: &Row) -> String {
    // A JSON array gives an unambiguous encoding of the fields.
    let canonical = serde_json::json!([
        r.id,
        r.at,
        r.actor_type,
        r.actor_id,
        r.actor_label,
        r.action,
        r.target_type,
        r.target_id,
        r.ip,
        r.details.to_string()
    ]);
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(canonical.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Appends `entry` on `conn`, which must be inside the change's write transaction.
pub fn append(conn: &Connection, entry: Entry<'_>) -> Result<(), StoreError> {
    let prev: String = conn
        .query_row(
            "SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_else(|| GENESIS.to_owned());
    let mut row = Row {
        seq: 0,
        id: new_id(),
        at: now_rfc3339(),
        actor_type: entry.actor.kind.clone(),
        actor_id: entry.actor.id.clone(),
        actor_label: entry.actor.label.clone(),
        action: entry.action.to_owned(),
        target_type: entry.target_type.map(str::to_owned),
        target_id: entry.target_id.map(str::to_owned),
        ip: entry.actor.ip.clone(),
        details: entry.details,
        prev_hash: prev.clone(),
        hash: String::new(),
    };
    row.hash = row_hash(&prev, &row);
    conn.execute(
        "INSERT INTO audit_log (id, at, actor_type, actor_id, actor_label, action, target_type, target_id, ip, details, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            row.id, row.at, row.actor_type, row.actor_id, row.actor_label, row.action, row.target_type,
            row.target_id, row.ip, row.details.to_string(), row.prev_hash, row.hash
        ],
    )?;
    tracing::info!(target: AUDIT_TARGET, event = %row.action, audit_id = %row.id, actor_type = %row.actor_type,
        actor_id = row.actor_id.as_deref().unwrap_or(""), actor = row.actor_label.as_deref().unwrap_or(""),
        target_type = row.target_type.as_deref().unwrap_or(""), target_id = row.target_id.as_deref().unwrap_or(""),
        ip = row.ip.as_deref().unwrap_or(""), details = %row.details, hash = %row.hash, "audit");
    Ok(())
}

pub(crate) fn map_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let details: String = r.get("details")?;
    Ok(Row {
        seq: r.get("seq")?,
        id: r.get("id")?,
        at: r.get("at")?,
        actor_type: r.get("actor_type")?,
        actor_id: r.get("actor_id")?,
        actor_label: r.get("actor_label")?,
        action: r.get("action")?,
        target_type: r.get("target_type")?,
        target_id: r.get("target_id")?,
        ip: r.get("ip")?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
    })
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Intact {
        rows: u64,
    },
    /// The first row that does not fit, and why.
    Broken {
        seq: i64,
        id: String,
        reason: String,
    },
}

/// Walks the whole chain in order and reports the first break: an altered row (its hash does
/// not match its content), a deleted or reordered row (its `prev_hash` is not the previous
/// row's hash, or its sequence number skips).
pub fn verify(conn: &Connection) -> Result<Verdict, StoreError> {
    let mut stmt = conn.prepare("SELECT * FROM audit_log ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_seq: Option<i64> = None;
    let mut count = 0u64;
    while let Some(r) = rows.next()? {
        let row = map_row(r)?;
        let broken = |reason: &str| Verdict::Broken {
            seq: row.seq,
            id: row.id.clone(),
            reason: reason.to_owned(),
        };
        if let Some(p) = prev_seq {
            if row.seq != p + 1 {
                return Ok(broken("a row before this one was deleted (sequence gap)"));
            }
        }
        if row.prev_hash != prev_hash {
            return Ok(broken(
                "prev_hash does not match the previous row (deleted or reordered rows)",
            ));
        }
        if row_hash(&prev_hash, &row) != row.hash {
            return Ok(broken(
                "the row's content does not match its hash (altered)",
            ));
        }
        prev_hash = row.hash.clone();
        prev_seq = Some(row.seq);
        count += 1;
    }
    Ok(Verdict::Intact { rows: count })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate_with(&mut c, crate::store::migrations::MIGRATIONS)
            .unwrap();
        let actor = Actor::cli();
        for i in 0..5 {
            append(
                &c,
                Entry::new(&actor, "test.event").details(serde_json::json!({"i": i})),
            )
            .unwrap();
        }
        c
    }

    fn tamper(c: &Connection, sql: &str) {
        c.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap();
        c.execute_batch(sql).unwrap();
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&db()).unwrap(), Verdict::Intact { rows: 5 });
    }

    #[test]
    fn updates_and_deletes_are_refused_by_the_database() {
        let c = db();
        assert!(c
            .execute("UPDATE audit_log SET action = 'x' WHERE seq = 2", [])
            .is_err());
        assert!(c
            .execute("DELETE FROM audit_log WHERE seq = 2", [])
            .is_err());
    }

    #[test]
    fn altered_row_is_named() {
        let c = db();
        tamper(
            &c,
            "UPDATE audit_log SET details = '{\"i\":99}' WHERE seq = 3",
        );
        assert!(matches!(
            verify(&c).unwrap(),
            Verdict::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn deleted_row_is_found() {
        let c = db();
        tamper(&c, "DELETE FROM audit_log WHERE seq = 2");
        assert!(matches!(
            verify(&c).unwrap(),
            Verdict::Broken { seq: 3, .. }
        ));
    }

    #[test]
    fn reordered_rows_are_found() {
        let c = db();
        tamper(&c, "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 100;");
        assert!(matches!(
            verify(&c).unwrap(),
            Verdict::Broken { seq: 2, .. }
        ));
    }
}
