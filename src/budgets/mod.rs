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

/// A threshold a budget has reached in its current period without an alert yet.
pub struct Pending {
    pub budget: Budget,
    pub usage: Usage,
    pub threshold: f64,
    pub key: String,
}

/// The crossings [`evaluate_at`] would raise (read-only).
pub fn pending(conn: &Connection, now: DateTime<Utc>, tz: Tz) -> Result<Vec<Pending>, StoreError> {
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
            out.push(Pending {
                budget: b.clone(),
                usage: u.clone(),
                threshold: t,
                key,
            });
        }
    }
    Ok(out)
}

/// [`evaluate`] at a given instant in a given time zone.
pub fn evaluate_at(
    conn: &Connection,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Event>, StoreError> {
    let mut out = Vec::new();
    for p in pending(conn, now, tz)? {
        out.extend(raise(conn, &p.budget, &p.usage, p.threshold, &p.key)?);
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

/// Runs [`evaluate`] once and publishes its events. Looks on a read connection first, so the
/// writer is only taken when a threshold was actually crossed.
pub async fn evaluate_now(state: &AppState) -> Result<usize, StoreError> {
    let tz = period::timezone(&state.settings.expenses.timezone);
    let now = Utc::now();
    let found = state
        .store
        .read_async(move |conn| Ok(!pending(conn, now, tz)?.is_empty()))
        .await?;
    if !found {
        return Ok(0);
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::store::Store;

    fn store(dir: &std::path::Path) -> Store {
        let mut s = Settings::default();
        s.storage.data_dir = dir.join("data");
        Store::open(&s).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn expense(conn: &Connection, id: &str, amount: i64, when: &str) {
        conn.execute(
            "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor, currency,
                occurred_at, occurred_ms, received_at, kind, category, score, decision, severity, reasons)
             VALUES (?1, 's', ?1, 'h', 'a', ?2, 'EUR', ?3, ?4, ?3, 'expense', 'meals', 0, 'allow', 'low', '[]')",
            rusqlite::params![id, amount, when, at(when).timestamp_millis()],
        )
        .unwrap();
    }

    #[test]
    fn each_period_alerts_anew_in_the_configured_time_zone() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let events = store
            .writer
            .write_blocking(move |conn| {
                let fields: domain::BudgetFields = serde_json::from_value::<domain::CreateBudget>(
                    serde_json::json!({"name": "Meals", "category": "meals", "period": "monthly", "limit": "100", "currency": "EUR", "thresholds": [1.0]}),
                )
                .unwrap()
                .validate()
                .unwrap();
                store::insert(conn, &fields)?;
                // 23:30 UTC on 30 November is already December in Berlin.
                expense(conn, "nov", 10_000, "2026-11-15T12:00:00Z");
                expense(conn, "dec", 10_000, "2026-11-30T23:30:00Z");
                let nov = evaluate_at(conn, at("2026-11-20T00:00:00Z"), berlin)?;
                let nov_again = evaluate_at(conn, at("2026-11-25T00:00:00Z"), berlin)?;
                let dec = evaluate_at(conn, at("2026-12-02T00:00:00Z"), berlin)?;
                let dec_utc = evaluate_at(conn, at("2026-12-02T00:00:00Z"), Tz::UTC)?;
                Ok((nov.len(), nov_again.len(), dec, dec_utc.len()))
            })
            .unwrap();
        assert_eq!(events.0, 2, "alert.created + budget.threshold_crossed");
        assert_eq!(events.1, 0, "once per period");
        assert_eq!(events.2.len(), 2, "a new period alerts again");
        assert_eq!(events.2[1].data["period_key"], "2026-12");
        assert_eq!(
            events.3, 0,
            "in UTC the December expense is still November's"
        );
    }
}
