//! Budget SQL: the `budgets` table, spend over a window, and `budget_crossings`.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::domain::{Budget, BudgetFields};
use super::period::{Period, Window};
use crate::store::{new_id, now_rfc3339, StoreError};

const COLUMNS: &str =
    "id, name, category, department, period, limit_minor, currency, thresholds, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Budget> {
    let period: String = r.get(4)?;
    let thresholds: String = r.get(7)?;
    Ok(Budget {
        id: r.get(0)?,
        name: r.get(1)?,
        category: r.get(2)?,
        department: r.get(3)?,
        period: Period::parse(&period).unwrap_or(Period::Monthly),
        limit_minor: r.get(5)?,
        currency: r.get(6)?,
        thresholds: serde_json::from_str(&thresholds).unwrap_or_default(),
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

fn thresholds_json(t: &[f64]) -> String {
    serde_json::to_string(t).unwrap_or_else(|_| "[]".into())
}

pub fn insert(conn: &Connection, f: &BudgetFields) -> Result<Budget, StoreError> {
    let now = now_rfc3339();
    let b = Budget {
        id: new_id(),
        name: f.name.clone(),
        category: f.category.clone(),
        department: f.department.clone(),
        period: f.period,
        limit_minor: f.limit_minor,
        currency: f.currency.clone(),
        thresholds: f.thresholds.clone(),
        created_at: now.clone(),
        updated_at: now,
    };
    conn.execute(
        &format!(
            "INSERT INTO budgets ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            b.id,
            b.name,
            b.category,
            b.department,
            b.period.as_str(),
            b.limit_minor,
            b.currency,
            thresholds_json(&b.thresholds),
            b.created_at,
            b.updated_at
        ],
    )?;
    Ok(b)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Budget>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM budgets WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Budgets ordered by id (UUIDv7, so by creation), after `after`, at most `limit`.
pub fn list(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<Budget>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM budgets WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![after.unwrap_or(""), limit as i64], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every budget (for evaluation).
pub fn all(conn: &Connection) -> Result<Vec<Budget>, StoreError> {
    list(conn, None, i64::MAX as usize)
}

pub fn update(conn: &Connection, id: &str, f: &BudgetFields) -> Result<Option<Budget>, StoreError> {
    let now = now_rfc3339();
    let n = conn.execute(
        "UPDATE budgets SET name = ?2, category = ?3, department = ?4, period = ?5, limit_minor = ?6,
            currency = ?7, thresholds = ?8, updated_at = ?9 WHERE id = ?1",
        params![
            id,
            f.name,
            f.category,
            f.department,
            f.period.as_str(),
            f.limit_minor,
            f.currency,
            thresholds_json(&f.thresholds),
            now
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// Deletes a budget; its crossings go with it (the alerts stay, as history).
pub fn delete(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    conn.execute("DELETE FROM budget_crossings WHERE budget_id = ?1", [id])?;
    Ok(conn.execute("DELETE FROM budgets WHERE id = ?1", [id])? > 0)
}

/// Expense spend in the budget's currency, category and department within `window`.
pub fn spent(conn: &Connection, b: &Budget, window: &Window) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE(SUM(amount_minor), 0) FROM transactions
         WHERE kind = 'expense' AND occurred_ms >= ?1 AND occurred_ms < ?2 AND currency = ?3
           AND (?4 IS NULL OR category = ?4) AND (?5 IS NULL OR department = ?5)",
    )?;
    Ok(stmt.query_row(
        params![
            window.start_ms(),
            window.end_ms(),
            b.currency,
            b.category,
            b.department
        ],
        |r| r.get(0),
    )?)
}

/// True when this budget already alerted for this threshold in this period.
pub fn has_crossing(
    conn: &Connection,
    budget_id: &str,
    period_key: &str,
    threshold: &str,
) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM budget_crossings WHERE budget_id = ?1 AND period_key = ?2 AND threshold = ?3",
    )?;
    Ok(stmt
        .query_row(params![budget_id, period_key, threshold], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Records a crossing and its `budget` alert.
#[allow(clippy::too_many_arguments)]
pub fn insert_crossing_alert(
    conn: &Connection,
    budget_id: &str,
    period_key: &str,
    threshold: &str,
    severity: &str,
    severity_rank: i64,
    score: i64,
    reasons: &str,
) -> Result<(String, String), StoreError> {
    let alert_id = new_id();
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO alerts (id, type, severity, severity_rank, status, score, reasons, budget_id, created_at, updated_at)
         VALUES (?1, 'budget', ?2, ?3, 'open', ?4, ?5, ?6, ?7, ?7)",
        params![alert_id, severity, severity_rank, score, reasons, budget_id, now],
    )?;
    conn.execute(
        "INSERT INTO budget_crossings (budget_id, period_key, threshold, alert_id, crossed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![budget_id, period_key, threshold, alert_id, now],
    )?;
    Ok((alert_id, now))
}
