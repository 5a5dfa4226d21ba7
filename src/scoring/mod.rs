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
    "device_24h_count",
    "ip_1h_count",
    "ip_24h_count",
    "email_1h_count",
    "email_24h_count",
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
