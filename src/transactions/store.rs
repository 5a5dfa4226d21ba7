//! The transactions' SQL: the stored row and its JSON view, the idempotency lookup, the
//! insert of a scored transaction with its account, alert, roll-up and event rows (all in
//! the caller's write job), and the filtered, cursor-paginated listing.

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::input::NewTransaction;
use crate::money;
use crate::scoring::Outcome;
use crate::store::StoreError;

/// A stored transaction, as read back.
#[derive(Debug, Clone)]
pub struct StoredTransaction {
    pub id: String,
    pub payload_hash: String,
    pub view: Value,
    pub score: i64,
    pub decision: String,
    pub severity: String,
    pub reasons: Value,
    pub alert_id: Option<String>,
    pub model_version: Option<String>,
    pub occurred_ms: i64,
}

impl StoredTransaction {
    /// The scoring answer: `{transaction, score, decision, severity, reasons, alert_id, model_version}`.
    pub fn result_json(&self) -> Value {
        json!({
            "transaction": self.view,
            "score": self.score,
            "decision": self.decision,
            "severity": self.severity,
            "reasons": self.reasons,
            "alert_id": self.alert_id,
            "model_version": self.model_version,
        })
    }
}

const COLUMNS: &str =
    "id, payload_hash, external_id, account_ref, amount_minor, currency, occurred_at,
    received_at, kind, merchant, merchant_category, country, channel, device_id, ip, email,
    description, category, category_source, category_confidence, department, submitted_by,
    metadata, score, decision, severity, reasons, model_version, alert_id, label, label_source,
    labelled_at, occurred_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredTransaction> {
    let currency: String = r.get(5)?;
    let amount: i64 = r.get(4)?;
    let metadata: Option<String> = r.get(22)?;
    let reasons: String = r.get(26)?;
    let reasons: Value = serde_json::from_str(&reasons).unwrap_or(Value::Array(vec![]));
    let score: i64 = r.get(23)?;
    let decision: String = r.get(24)?;
    let severity: String = r.get(25)?;
    let model_version: Option<String> = r.get(27)?;
    let alert_id: Option<String> = r.get(28)?;
    let id: String = r.get(0)?;
    let view = json!({
        "id": id,
        "external_id": r.get::<_, String>(2)?,
        "account_id": r.get::<_, String>(3)?,
        "amount": money::format_code(amount, &currency),
        "currency": currency,
        "occurred_at": r.get::<_, String>(6)?,
        "received_at": r.get::<_, String>(7)?,
        "kind": r.get::<_, String>(8)?,
        "merchant": r.get::<_, Option<String>>(9)?,
        "merchant_category": r.get::<_, Option<String>>(10)?,
        "country": r.get::<_, Option<String>>(11)?,
        "channel": r.get::<_, Option<String>>(12)?,
        "device_id": r.get::<_, Option<String>>(13)?,
        "ip": r.get::<_, Option<String>>(14)?,
        "email": r.get::<_, Option<String>>(15)?,
        "description": r.get::<_, Option<String>>(16)?,
        "category": r.get::<_, Option<String>>(17)?,
        "category_source": r.get::<_, Option<String>>(18)?,
        "category_confidence": r.get::<_, Option<f64>>(19)?,
        "department": r.get::<_, Option<String>>(20)?,
        "submitted_by": r.get::<_, Option<String>>(21)?,
        "metadata": metadata.and_then(|m| serde_json::from_str::<Value>(&m).ok()),
        "score": score,
        "decision": decision,
        "severity": severity,
        "reasons": reasons,
        "model_version": model_version,
        "alert_id": alert_id,
        "label": r.get::<_, Option<String>>(29)?,
        "label_source": r.get::<_, Option<String>>(30)?,
        "labelled_at": r.get::<_, Option<String>>(31)?,
    });
    Ok(StoredTransaction {
        id,
        payload_hash: r.get(1)?,
        view,
        score,
        decision,
        severity,
        reasons,
        alert_id,
        model_version,
        occurred_ms: r.get(32)?,
    })
}

/// The stored view of a transaction just written, built in memory (same shape as a row read
/// back), so the writer does not re-read what it wrote.
pub fn fresh(
    id: String,
    t: &NewTransaction,
    hash: String,
    received_at: &str,
    outcome: &Outcome,
    alert_id: Option<String>,
    with_view: bool,
) -> StoredTransaction {
    let reasons = json!(outcome.reasons);
    let view = if with_view {
        json!({
            "id": id,
            "external_id": t.external_id,
            "account_id": t.account_ref,
            "amount": money::format_code(t.amount_minor, t.currency),
            "currency": t.currency,
            "occurred_at": t.occurred_at,
            "received_at": received_at,
            "kind": t.kind,
            "merchant": t.merchant,
            "merchant_category": t.merchant_category,
            "country": t.country,
            "channel": t.channel,
            "device_id": t.device_id,
            "ip": t.ip,
            "email": t.email,
            "description": t.description,
            "category": t.category,
            "category_source": null,
            "category_confidence": null,
            "department": t.department,
            "submitted_by": t.submitted_by,
            "metadata": t.metadata,
            "score": outcome.score,
            "decision": outcome.decision.as_str(),
            "severity": outcome.severity.as_str(),
            "reasons": reasons,
            "model_version": outcome.model_version,
            "alert_id": alert_id,
            "label": null,
            "label_source": null,
            "labelled_at": null,
        })
    } else {
        Value::Null
    };
    StoredTransaction {
        id,
        payload_hash: hash,
        view,
        score: i64::from(outcome.score),
        decision: outcome.decision.as_str().into(),
        severity: outcome.severity.as_str().into(),
        reasons,
        alert_id,
        model_version: outcome.model_version.clone(),
        occurred_ms: t.occurred_ms,
    }
}

/// The transaction a sender stored under `external_id`, if any.
pub fn find_by_external(
    conn: &Connection,
    sender: &str,
    external_id: &str,
) -> Result<Option<StoredTransaction>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE sender = ?1 AND external_id = ?2"
    ))?;
    Ok(stmt
        .query_row(params![sender, external_id], from_row)
        .optional()?)
}

/// Payload hash of what a sender stored under `external_id` (the cheap idempotency check).
pub fn existing_hash(
    conn: &Connection,
    sender: &str,
    external_id: &str,
) -> Result<Option<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT payload_hash FROM transactions WHERE sender = ?1 AND external_id = ?2",
    )?;
    Ok(stmt
        .query_row(params![sender, external_id], |r| r.get(0))
        .optional()?)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<StoredTransaction>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM transactions WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

/// Records the account seen on a transaction (created on first sight); returns its status.
///
/// Plain statements on purpose: an `ON CONFLICT … RETURNING` upsert runs as a multi-write
/// statement with its own statement journal, which cost more than the insert of the
/// transaction itself inside a large group commit.
pub fn touch_account(conn: &Connection, account: &str, now: &str) -> Result<String, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM accounts WHERE account_ref = ?1")?
        .query_row([account], |r| r.get(0))
        .optional()?;
    match status {
        Some(status) => {
            conn.prepare_cached(
                "UPDATE accounts SET last_seen_at = ?2, txn_count = txn_count + 1
                 WHERE account_ref = ?1",
            )?
            .execute(params![account, now])?;
            Ok(status)
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO accounts (account_ref, status, created_at, updated_at, last_seen_at, txn_count)
                 VALUES (?1, 'active', ?2, ?2, ?2, 1)",
            )?
            .execute(params![account, now])?;
            Ok("active".into())
        }
    }
}

/// Only the non-zero features, rounded, to keep rows small (absent means 0). Written by
/// hand: it runs in the single writer for every transaction.
pub fn features_json(outcome: &Outcome) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(40 * 16);
    out.push('{');
    for (k, v) in outcome.features.iter() {
        if *v == 0.0 || !v.is_finite() {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        if k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            out.push('"');
            out.push_str(k);
            out.push('"');
        } else {
            out.push_str(&Value::from(k.as_str()).to_string());
        }
        let _ = write!(out, ":{:?}", (v * 10_000.0).round() / 10_000.0);
    }
    out.push('}');
    out
}

/// Inserts a scored transaction.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    id: &str,
    sender: &str,
    t: &NewTransaction,
    hash: &str,
    received_at: &str,
    outcome: &Outcome,
    alert_id: Option<&str>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor,
            currency, occurred_at, occurred_ms, received_at, kind, merchant, merchant_category,
            country, channel, device_id, ip, email, description, category, department,
            submitted_by, metadata, features, score, decision, severity, reasons, model_version,
            alert_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
            ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
    )?;
    let metadata = t
        .metadata
        .as_ref()
        .map(|m| Value::Object(m.clone()).to_string());
    let reasons = serde_json::to_string(&outcome.reasons).unwrap_or_else(|_| "[]".into());
    stmt.execute(params![
        id,
        sender,
        t.external_id,
        hash,
        t.account_ref,
        t.amount_minor,
        t.currency,
        t.occurred_at,
        t.occurred_ms,
        received_at,
        t.kind,
        t.merchant,
        t.merchant_category,
        t.country,
        t.channel,
        t.device_id,
        t.ip,
        t.email,
        t.description,
        t.category,
        t.department,
        t.submitted_by,
        metadata,
        features_json(outcome),
        i64::from(outcome.score),
        outcome.decision.as_str(),
        outcome.severity.as_str(),
        reasons,
        outcome.model_version,
        alert_id,
    ])?;
    Ok(())
}

/// Inserts the `transaction` alert of a review/block decision; returns its JSON for events.
pub fn insert_alert(
    conn: &Connection,
    alert_id: &str,
    transaction_id: &str,
    account: &str,
    outcome: &Outcome,
    now: &str,
) -> Result<Value, StoreError> {
    let reasons = serde_json::to_string(&outcome.reasons).unwrap_or_else(|_| "[]".into());
    let mut stmt = conn.prepare_cached(
        "INSERT INTO alerts (id, type, severity, severity_rank, status, score, reasons,
            transaction_id, account_ref, created_at, updated_at)
         VALUES (?1, 'transaction', ?2, ?3, 'open', ?4, ?5, ?6, ?7, ?8, ?8)",
    )?;
    stmt.execute(params![
        alert_id,
        outcome.severity.as_str(),
        outcome.severity.rank(),
        i64::from(outcome.score),
        reasons,
        transaction_id,
        account,
        now,
    ])?;
    Ok(json!({
        "id": alert_id,
        "type": "transaction",
        "severity": outcome.severity.as_str(),
        "status": "open",
        "score": outcome.score,
        "reasons": outcome.reasons,
        "transaction_id": transaction_id,
        "account_id": account,
        "created_at": now,
    }))
}

/// Per-minute roll-up of one write job.
#[derive(Debug, Default, Clone)]
pub struct MinuteTally {
    pub transactions: i64,
    pub allow: i64,
    pub review: i64,
    pub block: i64,
    pub alerts: i64,
    /// Blocked amount per currency.
    pub blocked: std::collections::BTreeMap<&'static str, i64>,
}

/// Adds a job's tally to `stats_minute` / `stats_blocked_minute` (minute of receipt).
pub fn add_stats(conn: &Connection, minute: i64, t: &MinuteTally) -> Result<(), StoreError> {
    if t.transactions == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO stats_minute (minute, transactions, allow, review, block, alerts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(minute) DO UPDATE SET transactions = transactions + excluded.transactions,
             allow = allow + excluded.allow, review = review + excluded.review,
             block = block + excluded.block, alerts = alerts + excluded.alerts",
    )?
    .execute(params![
        minute,
        t.transactions,
        t.allow,
        t.review,
        t.block,
        t.alerts
    ])?;
    for (currency, amount) in &t.blocked {
        conn.prepare_cached(
            "INSERT INTO stats_blocked_minute (minute, currency, amount_minor) VALUES (?1, ?2, ?3)
             ON CONFLICT(minute, currency) DO UPDATE SET amount_minor = amount_minor + excluded.amount_minor",
        )?
        .execute(params![minute, currency, amount])?;
    }
    Ok(())
}

/// Filters of the transaction list (all optional).
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub account: Option<String>,
    pub decision: Option<String>,
    pub min_score: Option<i64>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub q: Option<String>,
    pub kind: Option<String>,
    pub submitted_by: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
}

/// Newest first by `occurred_at`, then id; `after` is the last row of the previous page.
pub fn list(
    conn: &Connection,
    f: &ListFilter,
    after: Option<(i64, String)>,
    limit: usize,
) -> Result<Vec<StoredTransaction>, StoreError> {
    let mut sql = format!("SELECT {COLUMNS} FROM transactions WHERE 1 = 1");
    let mut args: Vec<SqlValue> = Vec::new();
    let mut eq = |sql: &mut String, col: &str, v: &Option<String>| {
        if let Some(v) = v {
            args.push(SqlValue::Text(v.clone()));
            sql.push_str(&format!(" AND {col} = ?{}", args.len()));
        }
    };
    eq(&mut sql, "account_ref", &f.account);
    eq(&mut sql, "decision", &f.decision);
    eq(&mut sql, "kind", &f.kind);
    eq(&mut sql, "submitted_by", &f.submitted_by);
    eq(&mut sql, "department", &f.department);
    eq(&mut sql, "category", &f.category);
    if let Some(s) = f.min_score {
        args.push(SqlValue::Integer(s));
        sql.push_str(&format!(" AND score >= ?{}", args.len()));
    }
    if let Some(t) = f.from_ms {
        args.push(SqlValue::Integer(t));
        sql.push_str(&format!(" AND occurred_ms >= ?{}", args.len()));
    }
    if let Some(t) = f.to_ms {
        args.push(SqlValue::Integer(t));
        sql.push_str(&format!(" AND occurred_ms < ?{}", args.len()));
    }
    if let Some(q) = &f.q {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(SqlValue::Text(format!("%{escaped}%")));
        let n = args.len();
        sql.push_str(&format!(
            " AND (external_id LIKE ?{n} ESCAPE '\\' OR merchant LIKE ?{n} ESCAPE '\\'
               OR description LIKE ?{n} ESCAPE '\\' OR account_ref LIKE ?{n} ESCAPE '\\')"
        ));
    }
    if let Some((ms, id)) = after {
        args.push(SqlValue::Integer(ms));
        args.push(SqlValue::Text(id));
        let n = args.len();
        sql.push_str(&format!(
            " AND (occurred_ms < ?{} OR (occurred_ms = ?{} AND id < ?{n}))",
            n - 1,
            n - 1
        ));
    }
    args.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(500) + 1));
    sql.push_str(&format!(
        " ORDER BY occurred_ms DESC, id DESC LIMIT ?{}",
        args.len()
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A stored transaction rebuilt for re-evaluation (backtests).
pub struct Replayed {
    pub id: String,
    pub txn: NewTransaction,
    pub features: crate::scoring::model::FeatureVector,
    pub label: Option<String>,
}

/// Calls `f` for stored transactions with `from_ms <= occurred_ms < to_ms`, oldest first, at
/// most `limit` of them; returns how many were visited.
pub fn replay(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    limit: usize,
    mut f: impl FnMut(Replayed),
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, external_id, account_ref, amount_minor, currency, occurred_at, occurred_ms, kind,
                merchant, merchant_category, country, channel, device_id, ip, email, description,
                category, department, submitted_by, metadata, features, label
         FROM transactions WHERE occurred_ms >= ?1 AND occurred_ms < ?2
         ORDER BY occurred_ms LIMIT ?3",
    )?;
    let mut rows = stmt.query(params![from_ms, to_ms, limit as i64])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let currency: String = r.get(4)?;
        let Some(currency) = money::Currency::parse(&currency) else {
            continue;
        };
        let kind: String = r.get(7)?;
        let channel: Option<String> = r.get(11)?;
        let metadata: Option<String> = r.get(19)?;
        let features: Option<String> = r.get(20)?;
        let txn = NewTransaction {
            external_id: r.get(1)?,
            account_ref: r.get(2)?,
            amount_minor: r.get(3)?,
            currency: currency.code,
            occurred_at: r.get(5)?,
            occurred_ms: r.get(6)?,
            kind: super::input::KINDS
                .iter()
                .find(|k| **k == kind)
                .copied()
                .unwrap_or("payment"),
            merchant: r.get(8)?,
            merchant_category: r.get(9)?,
            country: r.get(10)?,
            channel: channel
                .and_then(|c| super::input::CHANNELS.iter().find(|k| **k == c).copied()),
            device_id: r.get(12)?,
            ip: r.get(13)?,
            email: r.get(14)?,
            description: r.get(15)?,
            category: r.get(16)?,
            department: r.get(17)?,
            submitted_by: r.get(18)?,
            metadata: metadata.and_then(|m| serde_json::from_str(&m).ok()),
        };
        f(Replayed {
            id: r.get(0)?,
            txn,
            features: features
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
            label: r.get(21)?,
        });
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{Decision, Severity};

    #[test]
    fn features_json_keeps_non_zero_finite_values_rounded() {
        let features = [
            ("amount", 125.5),
            ("zero", 0.0),
            ("amount_z", -1.234_567_89),
            ("nan", f64::NAN),
            ("huge", 1e300),
            ("odd \"key\"", 2.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let outcome = Outcome {
            score: 0,
            decision: Decision::Allow,
            severity: Severity::Low,
            reasons: Vec::new(),
            features,
            model_version: None,
            freeze: false,
        };
        let parsed: Value = serde_json::from_str(&features_json(&outcome)).unwrap();
        assert_eq!(
            parsed,
            json!({"amount": 125.5, "amount_z": -1.2346, "huge": 1e300, "odd \"key\"": 2.0})
        );
    }
}
