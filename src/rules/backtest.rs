//! Backtest: evaluates an expression over stored history (with the features each transaction
//! had when it was scored) and compares matches with fraud labels, so an analyst sees what a
//! rule would have caught before enabling it.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::cel::{self, AccountFacts, Variables};
use crate::app::AppState;
use crate::http::error::{ApiError, FieldError};
use crate::http::extract::JsonBody;
use crate::transactions::store::replay;

/// Most transactions one backtest evaluates.
pub const MAX_EVALUATED: usize = 200_000;
/// Matching ids returned as a sample.
const SAMPLE: usize = 20;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestBody {
    expression: String,
    from: String,
    to: String,
}

/// Counts of one backtest.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub evaluated: usize,
    pub matched: usize,
    pub matched_fraud: usize,
    pub matched_legitimate: usize,
    pub fraud_total: usize,
    pub labelled_total: usize,
    pub sample_ids: Vec<String>,
}

impl Tally {
    pub fn to_json(&self) -> serde_json::Value {
        let labelled_matches = self.matched_fraud + self.matched_legitimate;
        let precision = (self.labelled_total > 0 && labelled_matches > 0)
            .then(|| self.matched_fraud as f64 / labelled_matches as f64);
        let recall =
            (self.fraud_total > 0).then(|| self.matched_fraud as f64 / self.fraud_total as f64);
        json!({
            "evaluated": self.evaluated,
            "matched": self.matched,
            "matched_fraud": self.matched_fraud,
            "matched_legitimate": self.matched_legitimate,
            "precision": precision,
            "recall": recall,
            "sample_ids": self.sample_ids,
        })
    }
}

fn time(field: &str, v: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    match chrono::DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errors.push(FieldError::new(field, "must be an RFC 3339 timestamp"));
            None
        }
    }
}

pub async fn backtest(
    state: web::Data<AppState>,
    body: JsonBody<BacktestBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors: Vec<FieldError> = cel::validate(&b.expression)
        .into_iter()
        .map(|e| FieldError::new("expression", e.message))
        .collect();
    let from = time("from", &b.from, &mut errors);
    let to = time("to", &b.to, &mut errors);
    let (Some(from), Some(to), true) = (from, to, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    if to <= from {
        return Err(ApiError::invalid("to", "must be after from"));
    }
    let program = cel::compile(&b.expression)
        .map_err(|_| ApiError::invalid("expression", "does not compile"))?;
    let needs = cel::Needs::of([&program]);
    let lists = state.engine.lists();
    let tally = state
        .store
        .read_async(move |conn| {
            let mut t = Tally::default();
            replay(conn, from, to, MAX_EVALUATED, |r| {
                let vars = Variables {
                    txn: &r.txn,
                    features: &r.features,
                    account: AccountFacts {
                        status: "active",
                        txn_count: r.features.get("account_txn_count").copied().unwrap_or(0.0)
                            as u64,
                        ..Default::default()
                    },
                    lists: Arc::clone(&lists),
                };
                let ctx = cel::context(&vars, &needs, true);
                let hit = cel::matches(&program, &ctx);
                t.evaluated += 1;
                let fraud = r.label.as_deref() == Some("fraud");
                let legit = r.label.as_deref() == Some("legitimate");
                t.fraud_total += usize::from(fraud);
                t.labelled_total += usize::from(fraud || legit);
                if hit {
                    t.matched += 1;
                    t.matched_fraud += usize::from(fraud);
                    t.matched_legitimate += usize::from(legit);
                    if t.sample_ids.len() < SAMPLE {
                        t.sample_ids.push(r.id.clone());
                    }
                }
            })?;
            Ok(t)
        })
        .await?;
    Ok(HttpResponse::Ok().json(tally.to_json()))
}
