//! Model SQL: labelled training rows from `transactions`, and the `models` table.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::logistic::LogisticModel;
use crate::scoring::model::FeatureVector;
use crate::store::StoreError;

/// `models.kind` of the logistic regression.
pub const KIND: &str = "logistic_regression";
/// Most labelled rows one training reads (the most recent ones).
pub const MAX_TRAINING_ROWS: i64 = 200_000;

/// Labelled transactions with features, oldest first (the most recent
/// [`MAX_TRAINING_ROWS`]). Rows whose features do not parse are skipped.
pub fn labelled_rows(conn: &Connection) -> Result<Vec<(FeatureVector, bool)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT features, label FROM (
            SELECT features, label, occurred_ms, id FROM transactions
            WHERE label IS NOT NULL AND features IS NOT NULL
            ORDER BY occurred_ms DESC, id DESC LIMIT ?1)
         ORDER BY occurred_ms, id",
    )?;
    let rows = stmt
        .query_map([MAX_TRAINING_ROWS], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .filter_map(|row| {
            let (features, label) = row.ok()?;
            let fv: FeatureVector = serde_json::from_str(&features).ok()?;
            Some((fv, label == "fraud"))
        })
        .collect();
    Ok(rows)
}

/// How many transactions carry each label: `(fraud, legitimate)`.
pub fn label_counts(conn: &Connection) -> Result<(u64, u64), StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(label = 'fraud'), 0), COALESCE(SUM(label = 'legitimate'), 0)
         FROM transactions WHERE label IS NOT NULL AND features IS NOT NULL",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )?)
}

/// The active model, if any.
pub fn active(conn: &Connection) -> Result<Option<LogisticModel>, StoreError> {
    let params: Option<String> = conn
        .query_row(
            "SELECT params FROM models WHERE active = 1 AND kind = ?1 ORDER BY created_at DESC LIMIT 1",
            [KIND],
            |r| r.get(0),
        )
        .optional()?;
    Ok(params.and_then(|p| serde_json::from_str(&p).ok()))
}

/// The active model's version, if any (cheap; polled to notice models trained by the CLI).
pub fn active_version(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT version FROM models WHERE active = 1 ORDER BY created_at DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// The next free version name (`lr-1`, `lr-2`, …).
pub fn next_version(conn: &Connection) -> Result<String, StoreError> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM models", [], |r| r.get(0))?;
    let mut k = n + 1;
    loop {
        let v = format!("lr-{k}");
        let taken: bool = conn
            .query_row("SELECT 1 FROM models WHERE version = ?1", [&v], |_| Ok(()))
            .optional()?
            .is_some();
        if !taken {
            return Ok(v);
        }
        k += 1;
    }
}

/// Stores a trained model; when `activate`, it becomes the only active one.
pub fn insert(
    conn: &Connection,
    model: &LogisticModel,
    metrics: &serde_json::Value,
    activate: bool,
    created_at: &str,
) -> Result<(), StoreError> {
    if activate {
        conn.execute("UPDATE models SET active = 0 WHERE active = 1", [])?;
    }
    conn.execute(
        "INSERT INTO models (version, kind, created_at, params, metrics, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            model.version,
            KIND,
            created_at,
            serde_json::to_string(model).unwrap_or_default(),
            metrics.to_string(),
            activate
        ],
    )?;
    Ok(())
}

/// A stored model as listed by `GET /api/v1/models`.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    pub version: String,
    pub kind: String,
    pub created_at: String,
    pub active: bool,
    pub metrics: serde_json::Value,
    /// Standardised weight per feature, largest magnitude first.
    pub weights: Vec<(String, f64)>,
}

/// Models newest first, after the cursor `before` (a `created_at`, `version` pair).
pub fn list(
    conn: &Connection,
    before: Option<(String, String)>,
    limit: usize,
) -> Result<Vec<ModelRow>, StoreError> {
    let (at, ver) = before.unwrap_or_else(|| ("9999".into(), String::new()));
    let mut stmt = conn.prepare_cached(
        "SELECT version, kind, created_at, active, metrics, params FROM models
         WHERE (created_at, version) < (?1, ?2)
         ORDER BY created_at DESC, version DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![at, ver, limit as i64], |r| {
            let params: String = r.get(5)?;
            let metrics: String = r.get(4)?;
            let weights = serde_json::from_str::<LogisticModel>(&params)
                .map(|m| {
                    let mut w: Vec<(String, f64)> = m.features.into_iter().zip(m.weights).collect();
                    w.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
                    w
                })
                .unwrap_or_default();
            Ok(ModelRow {
                version: r.get(0)?,
                kind: r.get(1)?,
                created_at: r.get(2)?,
                active: r.get(3)?,
                metrics: serde_json::from_str(&metrics).unwrap_or(serde_json::Value::Null),
                weights,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
