//! The engine's SQL: rebuilding the in-memory state from stored transactions at start, and
//! the merchant fraud-label table (labels already known, by merchant, over 1/7/30 days).

use rusqlite::Connection;

use super::features::{just_under, MerchantLabels, MerchantRisk, Thresholds};
use super::state::{ScoringState, DAY_MS, RETENTION_MS};
use crate::money::Currency;
use crate::store::StoreError;
use crate::transactions::NewTransaction;

/// Replays the last 30 days of transactions (by `occurred_at`, relative to the newest one)
/// into a fresh state, and loads the frozen accounts.
pub fn rebuild_state(conn: &Connection, th: &Thresholds) -> Result<ScoringState, StoreError> {
    let mut state = ScoringState::default();
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(occurred_ms) FROM transactions", [], |r| {
            r.get(0)
        })?;
    if let Some(newest) = newest {
        let mut stmt = conn.prepare(
            "SELECT account_ref, amount_minor, currency, occurred_ms, kind, merchant, country,
                    device_id, ip, email, submitted_by
             FROM transactions WHERE occurred_ms > ?1 ORDER BY occurred_ms",
        )?;
        let mut rows = stmt.query([newest - RETENTION_MS])?;
        while let Some(r) = rows.next()? {
            let currency: String = r.get(2)?;
            let Some(currency) = Currency::parse(&currency) else {
                continue;
            };
            let kind: String = r.get(4)?;
            let kind = crate::transactions::input::KINDS
                .iter()
                .find(|k| **k == kind)
                .copied()
                .unwrap_or("payment");
            let t = NewTransaction {
                external_id: String::new(),
                account_ref: r.get(0)?,
                amount_minor: r.get(1)?,
                currency: currency.code,
                occurred_at: String::new(),
                occurred_ms: r.get(3)?,
                kind,
                merchant: r.get(5)?,
                merchant_category: None,
                country: r.get(6)?,
                channel: None,
                device_id: r.get(7)?,
                ip: r.get(8)?,
                email: r.get(9)?,
                description: None,
                category: None,
                department: None,
                submitted_by: r.get(10)?,
                metadata: None,
            };
            let near = just_under(t.amount_minor, t.currency, th.reporting_threshold);
            state.observe(&t, near, th.duplicate_window_ms);
        }
    }
    let mut stmt = conn.prepare("SELECT account_ref FROM accounts WHERE status = 'frozen'")?;
    for a in stmt.query_map([], |r| r.get::<_, String>(0))? {
        state.frozen.insert(a?);
    }
    Ok(state)
}

/// Fraud labels per merchant over the last 1, 7 and 30 days (by `occurred_at`), counting only
/// labels recorded up to `now`.
pub fn merchant_risk(conn: &Connection, now_ms: i64) -> Result<MerchantRisk, StoreError> {
    let now = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut stmt = conn.prepare_cached(
        "SELECT merchant, occurred_ms, label FROM transactions
         WHERE label IS NOT NULL AND merchant IS NOT NULL AND labelled_at <= ?1
           AND occurred_ms > ?2",
    )?;
    let mut risk = MerchantRisk::new();
    let mut rows = stmt.query(rusqlite::params![now, now_ms - 30 * DAY_MS])?;
    while let Some(r) = rows.next()? {
        let merchant: String = r.get(0)?;
        let ms: i64 = r.get(1)?;
        let fraud = r.get::<_, String>(2)? == "fraud";
        let entry: &mut MerchantLabels = risk.entry(merchant).or_default();
        for (i, days) in [1, 7, 30].iter().enumerate() {
            if ms > now_ms - days * DAY_MS {
                entry.labelled[i] += 1;
                entry.fraud[i] += u32::from(fraud);
            }
        }
    }
    Ok(risk)
}
