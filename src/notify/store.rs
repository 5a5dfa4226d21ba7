//! The SQL of webhooks: endpoints, the delivery outbox (`webhook_deliveries`, rows written by
//! [`crate::events::record`] in the cause's transaction) and the attempt log.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::store::{new_id, StoreError};

/// How long a delivery keeps being retried.
pub const RETRY_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// An endpoint as listed (the secret is shown only when created).
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: String,
}

fn map_webhook(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    let events: String = r.get(2)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        created_at: r.get(3)?,
    })
}

pub fn insert_webhook(
    conn: &Connection,
    url: &str,
    events: &[String],
    secret: &str,
    now: &str,
) -> Result<Webhook, StoreError> {
    let id = new_id();
    conn.execute(
        "INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            url,
            serde_json::to_string(events).unwrap_or_else(|_| "[]".into()),
            secret,
            now
        ],
    )?;
    Ok(Webhook {
        id,
        url: url.to_owned(),
        events: events.to_vec(),
        created_at: now.to_owned(),
    })
}

pub fn list_webhooks(conn: &Connection) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT id, url, events, created_at FROM webhooks ORDER BY created_at, id")?;
    let rows = stmt
        .query_map([], map_webhook)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get_webhook(conn: &Connection, id: &str) -> Result<Option<Webhook>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, url, events, created_at FROM webhooks WHERE id = ?1",
            [id],
            map_webhook,
        )
        .optional()?)
}

/// Deletes an endpoint with its deliveries and attempts; false if there was none.
pub fn delete_webhook(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    conn.execute(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
         (SELECT id FROM webhook_deliveries WHERE webhook_id = ?1)",
        [id],
    )?;
    conn.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?1", [id])?;
    Ok(conn.execute("DELETE FROM webhooks WHERE id = ?1", [id])? > 0)
}

/// Queues one message for one endpoint (test pings); returns the delivery id.
pub fn enqueue(
    conn: &Connection,
    webhook_id: &str,
    event_type: &str,
    payload: &str,
    now: &str,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = new_id();
    conn.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, status, attempts, \
         next_attempt_ms, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?6)",
        params![id, webhook_id, event_type, payload, now_ms, now],
    )?;
    Ok(id)
}

/// A delivery due for an attempt, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub payload: String,
    pub attempts: i64,
    pub retry_until_ms: i64,
}

/// Pending deliveries whose time has come, oldest due first.
pub fn due(conn: &Connection, now_ms: i64, limit: usize) -> Result<Vec<Due>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.id, w.url, w.secret, d.payload, d.attempts, d.retry_until_ms, d.created_at \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1 \
         ORDER BY d.next_attempt_ms LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![now_ms, limit as i64], |r| {
            let created: String = r.get(6)?;
            let until: Option<i64> = r.get(5)?;
            let created_ms = chrono::DateTime::parse_from_rfc3339(&created)
                .map(|t| t.timestamp_millis())
                .unwrap_or(now_ms);
            Ok(Due {
                id: r.get(0)?,
                url: r.get(1)?,
                secret: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
                retry_until_ms: until.unwrap_or(created_ms + RETRY_WINDOW_MS),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

/// Logs an attempt and moves the delivery on: `delivered`, back to `pending` at
/// `next_attempt_ms`, or `failed` when `next_attempt_ms` is `None`.
pub fn record_attempt(
    conn: &Connection,
    delivery_id: &str,
    result: &AttemptResult,
    delivered: bool,
    next_attempt_ms: Option<i64>,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO webhook_attempts (id, delivery_id, at, status_code, latency_ms, error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        new_id(),
        delivery_id,
        now,
        result.status_code,
        result.latency_ms,
        result.error
    ])?;
    let status = match (delivered, next_attempt_ms) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, \
         next_attempt_ms = COALESCE(?3, next_attempt_ms), updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![delivery_id, status, next_attempt_ms, now])?;
    Ok(())
}

/// One attempt as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at: String,
    pub status_code: Option<u16>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
}

/// One message to one endpoint, with its attempts.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub status: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
    pub attempts: Vec<Attempt>,
}

/// Where a page of deliveries ended: created_at, id (newest first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Position(pub String, pub String);

const DELIVERY_COLUMNS: &str = "id, webhook_id, event_type, status, attempts, next_attempt_ms, \
     payload, created_at, updated_at";

fn map_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = r.get(3)?;
    let next: i64 = r.get(5)?;
    let payload: String = r.get(6)?;
    Ok(Delivery {
        id: r.get(0)?,
        webhook_id: r.get(1)?,
        event_type: r.get(2)?,
        next_attempt_at: (status == "pending").then(|| {
            chrono::DateTime::from_timestamp_millis(next)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        }),
        status,
        attempt_count: r.get(4)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        attempts: Vec::new(),
    })
}

fn attach_attempts(conn: &Connection, d: &mut Delivery) -> Result<(), StoreError> {
    d.attempts = conn
        .prepare_cached(
            "SELECT at, status_code, latency_ms, error FROM webhook_attempts \
             WHERE delivery_id = ?1 ORDER BY at, id",
        )?
        .query_map([&d.id], |r| {
            Ok(Attempt {
                at: r.get(0)?,
                status_code: r.get(1)?,
                latency_ms: r.get(2)?,
                error: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(())
}

/// An endpoint's deliveries, newest first, each with its attempts; `limit + 1` at most.
pub fn deliveries(
    conn: &Connection,
    webhook_id: &str,
    before: Option<&Position>,
    limit: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let (after_created, after_id) = match before {
        Some(Position(c, i)) => (Some(c.as_str()), Some(i.as_str())),
        None => (None, None),
    };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = ?1 \
         AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4"
    );
    let mut rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![webhook_id, after_created, after_id, (limit + 1) as i64],
            map_delivery,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    for d in &mut rows {
        attach_attempts(conn, d)?;
    }
    Ok(rows)
}

/// One delivery of an endpoint, with its attempts.
pub fn delivery(
    conn: &Connection,
    webhook_id: &str,
    id: &str,
) -> Result<Option<Delivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1 AND webhook_id = ?2"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row(params![id, webhook_id], map_delivery)
        .optional()?;
    match found {
        Some(mut d) => {
            attach_attempts(conn, &mut d)?;
            Ok(Some(d))
        }
        None => Ok(None),
    }
}

/// Queues a delivery again now, with a fresh retry schedule and window.
pub fn redeliver(
    conn: &Connection,
    webhook_id: &str,
    id: &str,
    now: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?3, \
         retry_until_ms = ?4, updated_at = ?5 WHERE id = ?1 AND webhook_id = ?2",
        params![id, webhook_id, now_ms, now_ms + RETRY_WINDOW_MS, now],
    )? > 0)
}
