//! The SQL of alerts: the queue query with its keyset cursor, the detail view (alert,
//! transaction, account, comments, history), and the row-level changes the case workflow makes.
//! Everything here runs on a connection handed in by the caller (a read connection, or the
//! writer's inside a write job).

use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::domain::{Outcome, Severity, Status};
use crate::store::StoreError;

/// An alert as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: String,
    pub status: String,
    pub score: i64,
    pub reasons: serde_json::Value,
    pub transaction_id: Option<String>,
    pub account_id: Option<String>,
    pub budget_id: Option<String>,
    pub assignee_id: Option<String>,
    pub outcome: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub severity_rank: i64,
}

impl Alert {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Open)
    }
}

const ALERT_COLUMNS: &str = "id, type, severity, status, score, reasons, transaction_id, \
     account_ref, budget_id, assignee_id, outcome, created_at, updated_at, severity_rank";

fn map_alert(r: &Row<'_>) -> rusqlite::Result<Alert> {
    let reasons: String = r.get(5)?;
    Ok(Alert {
        id: r.get(0)?,
        kind: r.get(1)?,
        severity: r.get(2)?,
        status: r.get(3)?,
        score: r.get(4)?,
        reasons: serde_json::from_str(&reasons).unwrap_or_else(|_| json!([])),
        transaction_id: r.get(6)?,
        account_id: r.get(7)?,
        budget_id: r.get(8)?,
        assignee_id: r.get(9)?,
        outcome: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        severity_rank: r.get(13)?,
    })
}

/// Queue filters, already validated.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub severities: Vec<Severity>,
    /// `Some(None)`: unassigned only.
    pub assignee: Option<Option<String>>,
    pub account_id: Option<String>,
    pub kind: Option<String>,
    /// `created_at >= from`.
    pub from: Option<String>,
    /// `created_at < to`.
    pub to: Option<String>,
}

/// Where the previous page ended: severity rank, created_at, id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Position(pub i64, pub String, pub String);

impl Position {
    pub fn of(a: &Alert) -> Self {
        Self(a.severity_rank, a.created_at.clone(), a.id.clone())
    }
}

/// The queue: highest severity first, then oldest, then id; `limit + 1` rows at most.
pub fn list(
    conn: &Connection,
    filter: &Filter,
    after: Option<&Position>,
    limit: usize,
) -> Result<Vec<Alert>, StoreError> {
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1=1");
    let mut args: Vec<Value> = Vec::new();
    let push = |args: &mut Vec<Value>, v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    if !filter.statuses.is_empty() {
        let marks: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| push(&mut args, Value::Text(s.as_str().into())))
            .collect();
        sql.push_str(&format!(" AND status IN ({})", marks.join(",")));
    }
    if !filter.severities.is_empty() {
        let marks: Vec<String> = filter
            .severities
            .iter()
            .map(|s| push(&mut args, Value::Integer(s.rank())))
            .collect();
        sql.push_str(&format!(" AND severity_rank IN ({})", marks.join(",")));
    }
    match &filter.assignee {
        None => {}
        Some(None) => sql.push_str(" AND assignee_id IS NULL"),
        Some(Some(id)) => {
            let m = push(&mut args, Value::Text(id.clone()));
            sql.push_str(&format!(" AND assignee_id = {m}"));
        }
    }
    if let Some(a) = &filter.account_id {
        let m = push(&mut args, Value::Text(a.clone()));
        sql.push_str(&format!(" AND account_ref = {m}"));
    }
    if let Some(k) = &filter.kind {
        let m = push(&mut args, Value::Text(k.clone()));
        sql.push_str(&format!(" AND type = {m}"));
    }
    if let Some(f) = &filter.from {
        let m = push(&mut args, Value::Text(f.clone()));
        sql.push_str(&format!(" AND created_at >= {m}"));
    }
    if let Some(t) = &filter.to {
        let m = push(&mut args, Value::Text(t.clone()));
        sql.push_str(&format!(" AND created_at < {m}"));
    }
    if let Some(Position(rank, created, id)) = after {
        let r = push(&mut args, Value::Integer(*rank));
        let c = push(&mut args, Value::Text(created.clone()));
        let i = push(&mut args, Value::Text(id.clone()));
        sql.push_str(&format!(
            " AND (severity_rank < {r} OR (severity_rank = {r} AND (created_at > {c} \
             OR (created_at = {c} AND id > {i}))))"
        ));
    }
    sql.push_str(&format!(
        " ORDER BY severity_rank DESC, created_at ASC, id ASC LIMIT {}",
        limit + 1
    ));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), map_alert)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One alert.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Alert>, StoreError> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], map_alert)
        .optional()?)
}

/// A comment on a case.
#[derive(Debug, Clone, Serialize)]
pub struct Comment {
    pub id: String,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: String,
}

/// One entry of a case's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub id: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub detail: serde_json::Value,
    pub at: String,
}

/// `GET /alerts/{id}`: the alert with its transaction, account summary, comments and history.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub alert: Alert,
    pub transaction: Option<serde_json::Value>,
    pub account: Option<serde_json::Value>,
    pub comments: Vec<Comment>,
    pub history: Vec<HistoryEntry>,
}

pub fn detail(conn: &Connection, id: &str) -> Result<Option<Detail>, StoreError> {
    let Some(alert) = get(conn, id)? else {
        return Ok(None);
    };
    let transaction = match &alert.transaction_id {
        Some(t) => transaction_json(conn, t)?,
        None => None,
    };
    let account = match &alert.account_id {
        Some(a) => account_json(conn, a)?,
        None => None,
    };
    let comments = conn
        .prepare_cached(
            "SELECT c.id, c.author_id, u.name, c.body, c.created_at FROM alert_comments c \
             LEFT JOIN users u ON u.id = c.author_id WHERE c.alert_id = ?1 \
             ORDER BY c.created_at, c.id",
        )?
        .query_map([id], |r| {
            Ok(Comment {
                id: r.get(0)?,
                author_id: r.get(1)?,
                author_name: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let history = conn
        .prepare_cached(
            "SELECT id, actor_id, action, detail, at FROM alert_history WHERE alert_id = ?1 \
             ORDER BY at, id",
        )?
        .query_map([id], |r| {
            let detail: String = r.get(3)?;
            Ok(HistoryEntry {
                id: r.get(0)?,
                actor_id: r.get(1)?,
                action: r.get(2)?,
                detail: serde_json::from_str(&detail).unwrap_or_else(|_| json!({})),
                at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Detail {
        alert,
        transaction,
        account,
        comments,
        history,
    }))
}

fn transaction_json(conn: &Connection, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
    conn.prepare_cached(
        "SELECT id, external_id, account_ref, amount_minor, currency, occurred_at, received_at, \
         kind, merchant, merchant_category, country, channel, device_id, ip, email, description, \
         category, department, submitted_by, metadata, score, decision, severity, reasons, \
         model_version, alert_id, label, label_source, labelled_at FROM transactions WHERE id = ?1",
    )?
    .query_row([id], |r| {
        let currency: String = r.get(4)?;
        let metadata: Option<String> = r.get(19)?;
        let reasons: String = r.get(23)?;
        Ok(json!({
            "id": r.get::<_, String>(0)?,
            "external_id": r.get::<_, String>(1)?,
            "account_id": r.get::<_, String>(2)?,
            "amount": crate::money::format_code(r.get(3)?, &currency),
            "currency": currency,
            "occurred_at": r.get::<_, String>(5)?,
            "received_at": r.get::<_, String>(6)?,
            "kind": r.get::<_, String>(7)?,
            "merchant": r.get::<_, Option<String>>(8)?,
            "merchant_category": r.get::<_, Option<String>>(9)?,
            "country": r.get::<_, Option<String>>(10)?,
            "channel": r.get::<_, Option<String>>(11)?,
            "device_id": r.get::<_, Option<String>>(12)?,
            "ip": r.get::<_, Option<String>>(13)?,
            "email": r.get::<_, Option<String>>(14)?,
            "description": r.get::<_, Option<String>>(15)?,
            "category": r.get::<_, Option<String>>(16)?,
            "department": r.get::<_, Option<String>>(17)?,
            "submitted_by": r.get::<_, Option<String>>(18)?,
            "metadata": metadata.and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok()),
            "score": r.get::<_, i64>(20)?,
            "decision": r.get::<_, String>(21)?,
            "severity": r.get::<_, String>(22)?,
            "reasons": serde_json::from_str::<serde_json::Value>(&reasons).unwrap_or_else(|_| json!([])),
            "model_version": r.get::<_, Option<String>>(24)?,
            "alert_id": r.get::<_, Option<String>>(25)?,
            "label": r.get::<_, Option<String>>(26)?,
            "label_source": r.get::<_, Option<String>>(27)?,
            "labelled_at": r.get::<_, Option<String>>(28)?,
        }))
    })
    .optional()
    .map_err(StoreError::from)
}

fn account_json(conn: &Connection, account: &str) -> Result<Option<serde_json::Value>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT account_ref, status, frozen_reason, frozen_at, created_at, last_seen_at, \
             txn_count FROM accounts WHERE account_ref = ?1",
        )?
        .query_row([account], |r| {
            Ok(json!({
                "account_id": r.get::<_, String>(0)?,
                "status": r.get::<_, String>(1)?,
                "frozen_reason": r.get::<_, Option<String>>(2)?,
                "frozen_at": r.get::<_, Option<String>>(3)?,
                "created_at": r.get::<_, String>(4)?,
                "last_seen_at": r.get::<_, String>(5)?,
                "transaction_count": r.get::<_, i64>(6)?,
            }))
        })
        .optional()?;
    let Some(mut row) = row else {
        return Ok(None);
    };
    let (open, total): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(status IN ('open', 'investigating')), 0), COUNT(*) \
             FROM alerts WHERE account_ref = ?1",
        )?
        .query_row([account], |r| Ok((r.get(0)?, r.get(1)?)))?;
    row["unresolved_alerts"] = json!(open);
    row["alerts"] = json!(total);
    Ok(Some(row))
}

/// The role of an enabled user, for assignment checks.
pub fn assignable_user_role(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT role FROM users WHERE id = ?1 AND disabled = 0")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Sets status, assignee and outcome in one statement.
pub fn update(
    conn: &Connection,
    id: &str,
    status: Status,
    assignee_id: Option<&str>,
    outcome: Option<Outcome>,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE alerts SET status = ?2, assignee_id = ?3, outcome = COALESCE(?4, outcome), \
         updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![
        id,
        status.as_str(),
        assignee_id,
        outcome.map(Outcome::as_str),
        now
    ])?;
    Ok(())
}

/// Appends to the case's history.
pub fn add_history(
    conn: &Connection,
    alert_id: &str,
    actor_id: Option<&str>,
    action: &str,
    detail: &serde_json::Value,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO alert_history (id, alert_id, actor_id, action, detail, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        crate::store::new_id(),
        alert_id,
        actor_id,
        action,
        detail.to_string(),
        now
    ])?;
    Ok(())
}

/// Stores a comment and returns it.
pub fn add_comment(
    conn: &Connection,
    alert_id: &str,
    author_id: Option<&str>,
    body: &str,
    now: &str,
) -> Result<Comment, StoreError> {
    let id = crate::store::new_id();
    conn.prepare_cached(
        "INSERT INTO alert_comments (id, alert_id, author_id, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, alert_id, author_id, body, now])?;
    let author_name = match author_id {
        Some(a) => conn
            .prepare_cached("SELECT name FROM users WHERE id = ?1")?
            .query_row([a], |r| r.get(0))
            .optional()?,
        None => None,
    };
    Ok(Comment {
        id,
        author_id: author_id.map(str::to_owned),
        author_name,
        body: body.to_owned(),
        created_at: now.to_owned(),
    })
}

/// Labels a transaction with an analyst's outcome and returns the label it had before and
/// the time it was received (for the fraud roll-up).
pub fn label_transaction(
    conn: &Connection,
    transaction_id: &str,
    outcome: Outcome,
    now: &str,
) -> Result<Option<(Option<String>, String)>, StoreError> {
    let before = conn
        .prepare_cached("SELECT label, received_at FROM transactions WHERE id = ?1")?
        .query_row([transaction_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if before.is_some() {
        conn.prepare_cached(
            "UPDATE transactions SET label = ?2, label_source = 'analyst', labelled_at = ?3 \
             WHERE id = ?1",
        )?
        .execute(params![transaction_id, outcome.as_str(), now])?;
    }
    Ok(before)
}
