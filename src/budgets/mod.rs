//! Budgets: spending limits per category and/or department over calendar periods in the
//! configured time zone, their usage (spent, remaining, projected), and budget alerts.
//!
//! [`evaluate`] raises one `budget` alert per budget, period and threshold (guarded by
//! `budget_crossings`), records `budget.threshold_crossed` and `alert.created` events in the
//! same transaction, and runs every 10 s from [`spawn_evaluator`]; ingestion may also call it
//! after writing expenses. This module does not ingest expenses.

pub mod domain;
pub mod period;
pub mod routes;
pub mod store;

use std::sync::RwLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde_json::json;

use crate::app::AppState;
use crate::events::{self, Event};
use crate::money;
use crate::store::StoreError;
pub use domain::{Budget, Usage};
pub use period::Period;

/// How often the background task evaluates budgets.
pub const EVALUATE_EVERY: Duration = Duration::from_secs(10);

/// A budget's usage in the period containing `now`.
pub fn usage(
    conn: &Connection,
    b: &Budget,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Usage, StoreError> {
    let window = b.period.window(now, tz);
    let spent = store::spent(conn, b, &window)?;
    Ok(Usage {
        period_start: window
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        period_end: window
            .end
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        spent_minor: spent,
        remaining_minor: b.limit_minor.saturating_sub(spent),
        projected_minor: domain::project(
            spent,
            window.start_ms(),
            window.end_ms(),
            now.timestamp_millis(),
        ),
        period_key: window.key,
    })
}

/// The time zone [`evaluate`] aligns periods to: `expenses.timezone`, installed by
/// [`spawn_evaluator`] at start-up (UTC until then).
static TIMEZONE: RwLock<Tz> = RwLock::new(Tz::UTC);

fn configured_timezone() -> Tz {
    TIMEZONE.read().map(|g| *g).unwrap_or(Tz::UTC)
}

/// Checks every budget's current period and raises the alerts of newly crossed thresholds.
/// Runs inside a write job; returns the events to publish once it has committed.
pub fn evaluate(conn: &Connection) -> Result<Vec<Event>, StoreError> {
    evaluate_at(conn, Utc::now(), configured_timezone())
}

/// [`evaluate`] at a given instant in a given time zone.
pub fn evaluate_at(
    conn: &Connection,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Event>, StoreError> {
    let mut out = Vec::new();
    for b in store::all(conn)? {
        let u = usage(conn, &b, now, tz)?;
        for &t in &b.thresholds {
            if !domain::crossed(u.spent_minor, b.limit_minor, t) {
                continue;
            }
            let key = domain::threshold_key(t);
            if store::has_crossing(conn, &b.id, &u.period_key, &key)? {
                continue;
            }
            out.extend(raise(conn, &b, &u, t, &key)?);
        }
    }
    Ok(out)
}

fn raise(
    conn: &Connection,
    b: &Budget,
    u: &Usage,
    t: f64,
    key: &str,
) -> Result<Vec<Event>, StoreError> {
    let (severity, rank) = if t >= 1.0 { ("high", 3) } else { ("medium", 2) };
    let spent = money::format_code(u.spent_minor, &b.currency);
    let limit = money::format_code(b.limit_minor, &b.currency);
    let percent = (t * 100.0).round() as i64;
    let reasons = json!([{
        "code": "budget_threshold",
        "message": format!(
            "Budget \"{}\" reached {percent}% of its {} limit for {} ({spent} of {limit} {}).",
            b.name, b.period.as_str(), u.period_key, b.currency
        ),
        "weight": 0,
    }]);
    let used = if b.limit_minor > 0 {
        (i128::from(u.spent_minor) * 100 / i128::from(b.limit_minor)).min(100) as i64
    } else {
        100
    };
    let (alert_id, now) = store::insert_crossing_alert(
        conn,
        &b.id,
        &u.period_key,
        key,
        severity,
        rank,
        used,
        &reasons.to_string(),
    )?;
    conn.execute(
        "INSERT INTO stats_minute (minute, alerts) VALUES (?1, 1)
         ON CONFLICT(minute) DO UPDATE SET alerts = alerts + 1",
        [Utc::now().timestamp() / 60],
    )?;
    crate::metrics::global()
        .alerts_created_total
        .with_label_values(&["budget", severity])
        .inc();
    let alert = json!({
        "id": alert_id, "type": "budget", "severity": severity, "status": "open", "score": used,
        "reasons": reasons, "budget_id": b.id, "created_at": now,
    });
    let crossed = json!({
        "budget_id": b.id, "name": b.name, "threshold": t, "period": b.period.as_str(),
        "period_key": u.period_key, "spent": spent, "limit": limit, "currency": b.currency,
        "alert_id": alert_id,
    });
    Ok(vec![
        events::record(conn, "alert.created", alert)?,
        events::record(conn, "budget.threshold_crossed", crossed)?,
    ])
}

/// Runs [`evaluate`] once through the writer and publishes its events.
pub async fn evaluate_now(state: &AppState) -> Result<usize, StoreError> {
    let tz = period::timezone(&state.settings.expenses.timezone);
    let events = state
        .store
        .writer
        .write(move |conn| evaluate_at(conn, Utc::now(), tz))
        .await?;
    let n = events.len();
    for e in events {
        state.events.publish_event(e);
    }
    Ok(n)
}

/// Starts the background task that evaluates budgets every [`EVALUATE_EVERY`].
pub fn spawn_evaluator(state: AppState) {
    if let Ok(mut tz) = TIMEZONE.write() {
        *tz = period::timezone(&state.settings.expenses.timezone);
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVALUATE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if state.lifecycle.is_stopping() {
                break;
            }
            if let Err(e) = evaluate_now(&state).await {
                if matches!(e, StoreError::WriterGone) {
                    break;
                }
                tracing::warn!(error = %e, "budget evaluation failed");
            }
        }
    });
}
