//! The accounts' SQL: listing, detail with statistics, and unfreezing (freezing is shared
//! with the ingestion path in `transactions::ingest::freeze_account`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use crate::audit::{self, Actor, Entry};
use crate::events::{self, Event};
use crate::money;
use crate::store::{now_rfc3339, StoreError};

const COLUMNS: &str =
    "account_ref, status, frozen_reason, frozen_at, created_at, updated_at, last_seen_at, txn_count";

fn account_json(r: &Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "account_id": r.get::<_, String>(0)?,
        "status": r.get::<_, String>(1)?,
        "frozen_reason": r.get::<_, Option<String>>(2)?,
        "frozen_at": r.get::<_, Option<String>>(3)?,
        "created_at": r.get::<_, String>(4)?,
        "updated_at": r.get::<_, String>(5)?,
        "last_seen_at": r.get::<_, String>(6)?,
        "txn_count": r.get::<_, i64>(7)?,
    }))
}

/// Accounts by reference after `after`, optionally by status and a substring of the reference.
pub fn list(
    conn: &Connection,
    status: Option<&str>,
    q: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Value>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM accounts WHERE account_ref > ?1");
    let mut args = vec![SqlValue::Text(after.unwrap_or("").to_owned())];
    if let Some(s) = status {
        args.push(SqlValue::Text(s.to_owned()));
        sql.push_str(&format!(" AND status = ?{}", args.len()));
    }
    if let Some(q) = q {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(SqlValue::Text(format!("%{escaped}%")));
        sql.push_str(&format!(
            " AND account_ref LIKE ?{} ESCAPE '\\'",
            args.len()
        ));
    }
    args.push(SqlValue::Integer(limit as i64 + 1));
    sql.push_str(&format!(" ORDER BY account_ref LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), account_json)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, account: &str) -> Result<Option<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE account_ref = ?1"
    ))?;
    Ok(stmt.query_row([account], account_json).optional()?)
}

/// The detail page: account, stats, 20 recent transactions and 20 recent alerts.
pub fn detail(conn: &Connection, account: &str) -> Result<Option<Value>, StoreError> {
    let Some(acc) = get(conn, account)? else {
        return Ok(None);
    };
    let mut by_decision = json!({"allow": 0, "review": 0, "block": 0});
    let mut stmt = conn.prepare_cached(
        "SELECT decision, COUNT(*) FROM transactions WHERE account_ref = ?1 GROUP BY decision",
    )?;
    for row in stmt.query_map([account], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (d, n) = row?;
        by_decision[d] = json!(n);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT currency, SUM(amount_minor), COUNT(*) FROM transactions WHERE account_ref = ?1
         GROUP BY currency ORDER BY currency",
    )?;
    let totals: Vec<Value> = stmt
        .query_map([account], |r| {
            let c: String = r.get(0)?;
            Ok(json!({"currency": c, "amount": money::format_code(r.get(1)?, &c), "count": r.get::<_, i64>(2)?}))
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM transactions WHERE account_ref = ?1 ORDER BY occurred_ms DESC, id DESC LIMIT 20",
    )?;
    let ids: Vec<String> = stmt
        .query_map([account], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut recent = Vec::new();
    for id in ids {
        if let Some(t) = crate::transactions::store::get(conn, &id)? {
            recent.push(t.view);
        }
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, type, severity, status, score, transaction_id, created_at, updated_at
         FROM alerts WHERE account_ref = ?1 ORDER BY created_at DESC, id DESC LIMIT 20",
    )?;
    let alerts: Vec<Value> = stmt
        .query_map([account], |r| {
            Ok(json!({
                "id": r.get::<_, String>(0)?, "type": r.get::<_, String>(1)?,
                "severity": r.get::<_, String>(2)?, "status": r.get::<_, String>(3)?,
                "score": r.get::<_, i64>(4)?, "transaction_id": r.get::<_, Option<String>>(5)?,
                "created_at": r.get::<_, String>(6)?, "updated_at": r.get::<_, String>(7)?,
            }))
        })?
        .collect::<Result<_, _>>()?;
    let open_alerts: i64 = conn.query_row(
        "SELECT COUNT(*) FROM alerts WHERE account_ref = ?1 AND status IN ('open', 'investigating')",
        [account],
        |r| r.get(0),
    )?;
    Ok(Some(json!({
        "account": acc,
        "stats": {
            "txn_count": acc["txn_count"],
            "decisions": by_decision,
            "totals": totals,
            "open_alerts": open_alerts,
        },
        "recent_transactions": recent,
        "alerts": alerts,
    })))
}

/// Unfreezes a frozen account with audit and `account.unfrozen`; `None` when not frozen.
pub fn unfreeze(
    conn: &Connection,
    account: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Option<Event>, StoreError> {
    let now = now_rfc3339();
    let changed = conn.execute(
        "UPDATE accounts SET status = 'active', frozen_reason = NULL, frozen_at = NULL, updated_at = ?2
         WHERE account_ref = ?1 AND status = 'frozen'",
        params![account, now],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    audit::append(
        conn,
        Entry::new(actor, "account.unfrozen")
            .target("account", account)
            .details(json!({ "reason": reason })),
    )?;
    Ok(Some(events::record(
        conn,
        "account.unfrozen",
        json!({"account_id": account, "reason": reason, "unfrozen_at": now}),
    )?))
}
