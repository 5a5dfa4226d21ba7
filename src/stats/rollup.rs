//! Keeping the roll-ups right. Each function runs inside the write job of the change it
//! counts, so the dashboards agree with the data after any crash. (Ingestion adds its own
//! per-job tally with `transactions::store::add_stats`, keyed the same way.)
//!
//! Rows are keyed by the Unix minute the transaction was *received*: the dashboard shows what
//! arrived and was decided, whatever `occurred_at` a sender claims.

use rusqlite::{params, Connection};

use crate::store::StoreError;

/// The Unix minute of an RFC 3339 timestamp (the current minute if it does not parse).
pub fn minute_of(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp().div_euclid(60))
        .unwrap_or_else(|_| now_minute())
}

/// The current Unix minute.
pub fn now_minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

/// Counts an alert raised without a transaction of its own (budget alerts).
pub fn record_alert(conn: &Connection, minute: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO stats_minute (minute, alerts) VALUES (?1, 1) \
         ON CONFLICT(minute) DO UPDATE SET alerts = alerts + 1",
    )?
    .execute([minute])?;
    Ok(())
}

/// Adds `delta` (+1 or -1) fraud labels to the minute the labelled transaction was received.
pub fn adjust_fraud_labels(
    conn: &Connection,
    received_at: &str,
    delta: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO stats_minute (minute, fraud_labels) VALUES (?1, MAX(?2, 0)) \
         ON CONFLICT(minute) DO UPDATE SET fraud_labels = MAX(fraud_labels + ?2, 0)",
    )?
    .execute(params![minute_of(received_at), delta])?;
    Ok(())
}
