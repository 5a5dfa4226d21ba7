//! `GET /api/v1/expenses/summary?from&to&group_by=category|department`: expense spend per
//! category or department and currency over a window (default: the current month in
//! `expenses.timezone`). Sums are exact integer minor units, one item per key and currency.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::budgets::period::{self, Period};
use crate::http::ApiError;
use crate::money;
use crate::store::StoreError;

/// What to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Category,
    Department,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub group_by: Option<GroupBy>,
}

/// One row of the summary (`key` is null for expenses without a category or department).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryItem {
    pub key: Option<String>,
    pub amount: String,
    pub currency: String,
    pub count: i64,
}

/// Sums expenses in `[from_ms, to_ms)` by `group_by` and currency, largest count first.
pub fn summarize(
    conn: &Connection,
    from_ms: i64,
    to_ms: i64,
    group_by: GroupBy,
) -> Result<Vec<SummaryItem>, StoreError> {
    // The column name comes from a closed enum, never from input.
    let column = match group_by {
        GroupBy::Category => "category",
        GroupBy::Department => "department",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column}, currency, SUM(amount_minor), COUNT(*) FROM transactions
         WHERE kind = 'expense' AND occurred_ms >= ?1 AND occurred_ms < ?2
         GROUP BY {column}, currency ORDER BY COUNT(*) DESC, {column}, currency"
    ))?;
    let rows = stmt
        .query_map(params![from_ms, to_ms], |r| {
            let currency: String = r.get(1)?;
            let sum: i64 = r.get(2)?;
            Ok(SummaryItem {
                key: r.get(0)?,
                amount: money::format_code(sum, &currency),
                currency,
                count: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::bad_request(format!("`{field}` must be an RFC 3339 timestamp.")))
}

/// `GET /api/v1/expenses/summary`.
pub async fn summary(
    state: web::Data<AppState>,
    q: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let tz = period::timezone(&state.settings.expenses.timezone);
    let month = Period::Monthly.window(Utc::now(), tz);
    let from = match &q.from {
        Some(v) => parse_time("from", v)?,
        None => month.start,
    };
    let to = match &q.to {
        Some(v) => parse_time("to", v)?,
        None => month.end,
    };
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`."));
    }
    let group_by = q.group_by.unwrap_or(GroupBy::Category);
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let items = state
        .store
        .read_async(move |conn| summarize(conn, from_ms, to_ms, group_by))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "from": from.to_rfc3339_opts(SecondsFormat::Millis, true),
        "to": to.to_rfc3339_opts(SecondsFormat::Millis, true),
        "group_by": match group_by { GroupBy::Category => "category", GroupBy::Department => "department" },
        "items": items,
    })))
}
