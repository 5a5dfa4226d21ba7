//! Reads of the dashboard figures. Every query is bounded by the roll-up's minute key or an
//! index, so its cost does not grow with the number of stored transactions.

use chrono::{Datelike, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::money::format_code;
use crate::store::StoreError;

const DAY_MINUTES: i64 = 24 * 60;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TransactionCounts {
    pub last_24h: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decisions {
    pub allow: i64,
    pub review: i64,
    pub block: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BySeverity {
    pub low: i64,
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertCounts {
    pub open: i64,
    pub by_severity: BySeverity,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountCounts {
    pub active: i64,
    pub frozen: i64,
}

/// Money kept out by blocks, one entry per currency.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Amount {
    pub amount: String,
    pub currency: String,
}

/// `GET /stats/overview`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Overview {
    pub transactions: TransactionCounts,
    pub decisions_24h: Decisions,
    pub alerts: AlertCounts,
    pub accounts: AccountCounts,
    pub blocked_amount_24h: Vec<Amount>,
    /// Fraud labels over transactions received in the last 30 days; `null` without any.
    pub fraud_rate_30d: Option<f64>,
    pub budgets_over_threshold: i64,
    pub as_of: String,
}

/// Computes the overview as of `now_minute` (a Unix minute).
pub fn overview(conn: &Connection, now_minute: i64) -> Result<Overview, StoreError> {
    let since_24h = now_minute - DAY_MINUTES + 1;
    let (last_24h, allow, review, block) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(transactions), 0), COALESCE(SUM(allow), 0), \
             COALESCE(SUM(review), 0), COALESCE(SUM(block), 0) FROM stats_minute \
             WHERE minute >= ?1",
        )?
        .query_row([since_24h], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    // Transactions are never deleted, so the largest rowid is their count: O(log n).
    let total: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM transactions")?
        .query_row([], |r| r.get(0))?;
    let (txns_30d, fraud_30d): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(transactions), 0), COALESCE(SUM(fraud_labels), 0) \
             FROM stats_minute WHERE minute >= ?1",
        )?
        .query_row([now_minute - 30 * DAY_MINUTES + 1], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let mut by_severity = BySeverity {
        low: 0,
        medium: 0,
        high: 0,
        critical: 0,
    };
    {
        let mut stmt = conn.prepare_cached(
            "SELECT severity_rank, COUNT(*) FROM alerts WHERE status = 'open' \
             GROUP BY severity_rank",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (rank, n) = row?;
            match rank {
                1 => by_severity.low = n,
                2 => by_severity.medium = n,
                3 => by_severity.high = n,
                _ => by_severity.critical += n,
            }
        }
    }
    let open = by_severity.low + by_severity.medium + by_severity.high + by_severity.critical;
    // Accounts are never deleted either: all of them minus the frozen (an index range).
    let all_accounts: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM accounts")?
        .query_row([], |r| r.get(0))?;
    let frozen: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM accounts WHERE status = 'frozen'")?
        .query_row([], |r| r.get(0))?;
    let blocked_amount_24h = conn
        .prepare_cached(
            "SELECT currency, SUM(amount_minor) FROM stats_blocked_minute WHERE minute >= ?1 \
             GROUP BY currency ORDER BY currency",
        )?
        .query_map([since_24h], |r| {
            let currency: String = r.get(0)?;
            Ok(Amount {
                amount: format_code(r.get(1)?, &currency),
                currency,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Overview {
        transactions: TransactionCounts { last_24h, total },
        decisions_24h: Decisions {
            allow,
            review,
            block,
        },
        alerts: AlertCounts { open, by_severity },
        accounts: AccountCounts {
            active: (all_accounts - frozen).max(0),
            frozen,
        },
        blocked_amount_24h,
        fraud_rate_30d: (txns_30d > 0).then(|| fraud_30d as f64 / txns_30d as f64),
        budgets_over_threshold: budgets_over_threshold(conn, now_minute)?,
        as_of: crate::store::now_rfc3339(),
    })
}

/// Budgets that crossed at least one threshold in their current period (UTC calendar).
fn budgets_over_threshold(conn: &Connection, now_minute: i64) -> Result<i64, StoreError> {
    let now = Utc
        .timestamp_opt(now_minute * 60, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let start = |month: u32| {
        Utc.with_ymd_and_hms(now.year(), month, 1, 0, 0, 0)
            .single()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
    };
    let month = start(now.month());
    let quarter = start((now.month0() / 3) * 3 + 1);
    let year = start(1);
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(DISTINCT c.budget_id) FROM budget_crossings c \
             JOIN budgets b ON b.id = c.budget_id WHERE c.crossed_at >= CASE b.period \
             WHEN 'monthly' THEN ?1 WHEN 'quarterly' THEN ?2 ELSE ?3 END",
        )?
        .query_row(params![month, quarter, year], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// What a time series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Transactions,
    Alerts,
    Blocked,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "transactions" => Some(Metric::Transactions),
            "alerts" => Some(Metric::Alerts),
            "blocked" => Some(Metric::Blocked),
            _ => None,
        }
    }
    fn column(self) -> &'static str {
        match self {
            Metric::Transactions => "transactions",
            Metric::Alerts => "alerts",
            Metric::Blocked => "block",
        }
    }
}

/// A time series' bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Minute,
    Hour,
    Day,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "minute" => Some(Interval::Minute),
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }
    /// Bucket width in minutes.
    pub fn minutes(self) -> i64 {
        match self {
            Interval::Minute => 1,
            Interval::Hour => 60,
            Interval::Day => DAY_MINUTES,
        }
    }
}

/// One bucket of a series.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    pub t: String,
    pub value: i64,
}

/// Buckets `[from, to)` (Unix minutes, already aligned to the interval), every bucket present,
/// empty ones as 0.
pub fn timeseries(
    conn: &Connection,
    metric: Metric,
    interval: Interval,
    from: i64,
    to: i64,
) -> Result<Vec<Point>, StoreError> {
    let width = interval.minutes();
    let sql = format!(
        "SELECT minute / ?1 AS bucket, SUM({}) FROM stats_minute \
         WHERE minute >= ?2 AND minute < ?3 GROUP BY bucket",
        metric.column()
    );
    let mut counts = std::collections::HashMap::new();
    {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params![width, from, to], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (bucket, value) = row?;
            counts.insert(bucket, value);
        }
    }
    let mut points = Vec::new();
    let mut bucket = from.div_euclid(width);
    while bucket * width < to {
        points.push(Point {
            t: minute_rfc3339(bucket * width),
            value: counts.get(&bucket).copied().unwrap_or(0),
        });
        bucket += 1;
    }
    Ok(points)
}

/// A Unix minute as RFC 3339 UTC.
pub fn minute_rfc3339(minute: i64) -> String {
    Utc.timestamp_opt(minute * 60, 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
