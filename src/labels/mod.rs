//! Outcome labels: `POST /api/v1/labels` marks transactions as fraud or legitimate in bulk
//! (chargebacks, customer reports, analyst decisions, historical imports) so the fraud model
//! and the merchant-risk features learn from them.
//!
//! Whose transactions a caller may label: an API key labels only transactions sent under its
//! own namespace (`principal.sender()`). A user (analyst or admin) labels in their own
//! namespace first and otherwise any sender's transaction with that `external_id`, as long as
//! exactly one sender has it; an `external_id` several senders share is reported back as
//! `ambiguous` and left alone. This module also offers [`apply`] to other features (resolving
//! an alert labels its transaction).

pub mod routes;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::store::StoreError;

/// The outcome of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fraud,
    Legitimate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fraud => "fraud",
            Outcome::Legitimate => "legitimate",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fraud" => Some(Outcome::Fraud),
            "legitimate" => Some(Outcome::Legitimate),
            _ => None,
        }
    }
}

/// Where a label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Chargeback,
    CustomerReport,
    Analyst,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Chargeback => "chargeback",
            Source::CustomerReport => "customer_report",
            Source::Analyst => "analyst",
            Source::Import => "import",
        }
    }
    /// The source assumed when an item names none: `analyst` for users, `import` for keys.
    pub fn default_for(p: &Principal) -> Self {
        match p {
            Principal::User { .. } => Source::Analyst,
            Principal::ApiKey { .. } => Source::Import,
        }
    }
}

/// Which transactions a caller may label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Only this sender namespace (API keys).
    Own(String),
    /// This namespace first, else the one sender holding the id (users).
    OwnThenAny(String),
}

impl Scope {
    pub fn for_principal(p: &Principal) -> Self {
        match p {
            Principal::User { .. } => Scope::OwnThenAny(p.sender()),
            Principal::ApiKey { .. } => Scope::Own(p.sender()),
        }
    }
}

/// What became of one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Labelled,
    Unknown,
    Ambiguous,
}

/// Finds the transaction an `external_id` names within `scope`.
fn resolve(
    conn: &Connection,
    scope: &Scope,
    external_id: &str,
) -> Result<Result<String, Applied>, StoreError> {
    let own = match scope {
        Scope::Own(s) | Scope::OwnThenAny(s) => s,
    };
    let mut stmt =
        conn.prepare_cached("SELECT id FROM transactions WHERE sender = ?1 AND external_id = ?2")?;
    if let Some(id) = stmt
        .query_row(params![own, external_id], |r| r.get::<_, String>(0))
        .optional()?
    {
        return Ok(Ok(id));
    }
    if matches!(scope, Scope::Own(_)) {
        return Ok(Err(Applied::Unknown));
    }
    let mut stmt =
        conn.prepare_cached("SELECT id FROM transactions WHERE external_id = ?1 LIMIT 2")?;
    let ids = stmt
        .query_map([external_id], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match ids.len() {
        0 => Err(Applied::Unknown),
        1 => Ok(ids.into_iter().next().unwrap_or_default()),
        _ => Err(Applied::Ambiguous),
    })
}

/// Labels the transaction with id `transaction_id` (inside a write job) and keeps
/// `stats_minute.fraud_labels` of the transaction's minute in step. Returns false when no
/// such transaction exists.
pub fn apply(
    conn: &Connection,
    transaction_id: &str,
    outcome: Outcome,
    source: Source,
    labelled_at: &str,
) -> Result<bool, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT label, occurred_ms FROM transactions WHERE id = ?1")?;
    let Some((old, occurred_ms)) = stmt
        .query_row([transaction_id], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
    else {
        return Ok(false);
    };
    conn.prepare_cached(
        "UPDATE transactions SET label = ?2, label_source = ?3, labelled_at = ?4 WHERE id = ?1",
    )?
    .execute(params![
        transaction_id,
        outcome.as_str(),
        source.as_str(),
        labelled_at
    ])?;
    let was_fraud = old.as_deref() == Some("fraud");
    let delta = match (was_fraud, outcome) {
        (false, Outcome::Fraud) => 1,
        (true, Outcome::Legitimate) => -1,
        _ => 0,
    };
    if delta != 0 {
        conn.prepare_cached(
            "INSERT INTO stats_minute (minute, fraud_labels) VALUES (?1, MAX(?2, 0))
             ON CONFLICT(minute) DO UPDATE SET fraud_labels = MAX(fraud_labels + ?2, 0)",
        )?
        .execute(params![occurred_ms.div_euclid(60_000), delta])?;
    }
    Ok(true)
}

/// One validated label.
#[derive(Debug, Clone)]
pub struct Label {
    pub external_id: String,
    pub outcome: Outcome,
    pub source: Source,
    pub labelled_at: String,
}

/// The result of a batch.
#[derive(Debug, Default, Clone, Serialize)]
pub struct BatchResult {
    pub labelled: usize,
    pub unknown: Vec<String>,
    pub ambiguous: Vec<String>,
}

/// Applies a batch of labels within `scope` (inside one write job).
pub fn apply_batch(
    conn: &Connection,
    scope: &Scope,
    labels: &[Label],
) -> Result<BatchResult, StoreError> {
    let mut result = BatchResult::default();
    for l in labels {
        match resolve(conn, scope, &l.external_id)? {
            Ok(id) => {
                if apply(conn, &id, l.outcome, l.source, &l.labelled_at)? {
                    result.labelled += 1;
                } else {
                    result.unknown.push(l.external_id.clone());
                }
            }
            Err(Applied::Ambiguous) => result.ambiguous.push(l.external_id.clone()),
            Err(_) => result.unknown.push(l.external_id.clone()),
        }
    }
    Ok(result)
}
