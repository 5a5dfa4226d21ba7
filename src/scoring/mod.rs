//! The real-time scoring engine: features from in-memory profiles and windows
//! ([`state`], [`features`]), CEL rules (`crate::rules`), list hits (`crate::lists`) and, when
//! one is active, the fraud model ([`model`]) combine into a score, a decision, a severity and
//! the reasons behind them ([`decision`]). [`engine::Engine`] holds it all; `store.rs` rebuilds
//! the state from SQLite at start.

pub mod decision;
pub mod engine;
pub mod features;
pub mod geo;
pub mod model;
pub mod state;
pub mod store;
#[cfg(test)]
mod tests;

pub use decision::{Decision, Outcome, Reason, Severity};
pub use engine::Engine;

/// Every feature name the engine computes (stable; stored with each transaction).
pub const FEATURE_NAMES: &[&str] = &[
    "amount",
    "amount_log",
    "amount_z",
    "account_txn_count",
    "new_account",
    "account_1m_count",
    "account_1m_sum",
    "account_1h_count",
    "account_1h_sum",
    "account_24h_count",
    "account_24h_sum",
    "account_7d_count",
    "account_7d_avg",
    "account_30d_count",
    "account_30d_avg",
    "device_1h_count",
    "device_1h_sum",
    "device_24h_count",
    "device_24h_sum",
    "ip_1h_count",
    "ip_1h_sum",
    "ip_24h_count",
    "ip_24h_sum",
    "email_1h_count",
    "email_1h_sum",
    "email_24h_count",
    "email_24h_sum",
    "new_device",
    "new_ip",
    "new_country",
    "new_merchant",
    "travel_kmh",
    "impossible_travel",
    "hour",
    "weekday",
    "night_time",
    "unusual_hour",
    "weekend",
    "round_amount",
    "structuring",
    "near_threshold_24h",
    "near_approval_limit",
    "duplicate_claim",
    "split_claim",
    "list_block_hit",
    "list_allow_hit",
    "merchant_fraud_rate_1d",
    "merchant_fraud_rate_7d",
    "merchant_fraud_rate_30d",
    "mcc_high_risk",
    "mcc_personal",
];

/// Builds the engine at start-up: seeds the default rule pack on a fresh database, compiles
/// the rules, loads the lists and merchant labels, and replays recent transactions into the
/// in-memory windows. Blocking; run it off the async executor.
pub fn start(
    settings: &crate::config::Settings,
    store: &crate::store::Store,
    model: model::ModelSlot,
) -> Result<std::sync::Arc<Engine>, crate::store::StoreError> {
    let engine = Engine::new(settings, model);
    store
        .writer
        .write_blocking(crate::rules::store::seed_defaults)?;
    let conn = store.read()?;
    reload_rules(&engine, &conn)?;
    engine.set_lists(crate::lists::store::load(&conn)?);
    engine.set_merchant_risk(store::merchant_risk(
        &conn,
        chrono::Utc::now().timestamp_millis(),
    )?);
    engine.replace_state(store::rebuild_state(&conn, &engine.thresholds())?);
    // The replay filled this connection's page cache; hand that memory back.
    conn.execute_batch("PRAGMA shrink_memory")?;
    Ok(std::sync::Arc::new(engine))
}

/// Recompiles the rule cache from the store (after every rule change).
pub fn reload_rules(
    engine: &Engine,
    conn: &rusqlite::Connection,
) -> Result<(), crate::store::StoreError> {
    let defs = crate::rules::store::all(conn)?
        .into_iter()
        .map(|r| r.def)
        .collect();
    engine.set_rules(crate::rules::RuleSet::compile(defs));
    Ok(())
}

/// Refreshes the merchant fraud-label table every 30 s, so labels recorded since start
/// (chargebacks, resolved alerts) feed merchant risk.
pub fn spawn_refresh(engine: std::sync::Arc<Engine>, store: crate::store::Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = chrono::Utc::now().timestamp_millis();
            match store
                .read_async(move |c| store::merchant_risk(c, now))
                .await
            {
                Ok(risk) => engine.set_merchant_risk(risk),
                Err(e) => tracing::warn!(error = %e, "cannot refresh merchant risk"),
            }
        }
    });
}
