//! `GET /stats/overview` and `GET /stats/timeseries` (viewer reads).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::rollup::now_minute;
use super::store::{self, Interval, Metric, Overview};
use crate::app::AppState;
use crate::auth::{Access, Permission};
use crate::http::routes::ApiRoutes;
use crate::http::ApiError;
use crate::metrics;

/// The most buckets one series answers.
pub const MAX_POINTS: i64 = 2_000;

pub fn routes(api: &mut ApiRoutes) {
    api.get(
        "/stats/overview",
        Access::Permission(Permission::Read),
        overview,
    )
    .get(
        "/stats/timeseries",
        Access::Permission(Permission::Read),
        timeseries,
    );
}

/// Computes the overview off the executor and refreshes the open-alerts gauge from it.
pub async fn current_overview(state: &AppState) -> Result<Overview, ApiError> {
    let overview = state
        .store
        .read_async(|conn| store::overview(conn, now_minute()))
        .await?;
    let open = metrics::global();
    let s = &overview.alerts.by_severity;
    for (label, n) in [
        ("low", s.low),
        ("medium", s.medium),
        ("high", s.high),
        ("critical", s.critical),
    ] {
        open.alerts_open.with_label_values(&[label]).set(n);
    }
    Ok(overview)
}

async fn overview(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(current_overview(&state).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeriesQuery {
    metric: Option<String>,
    interval: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn minute_bound(field: &str, raw: &Option<String>) -> Result<Option<i64>, ApiError> {
    raw.as_deref()
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp().div_euclid(60))
                .map_err(|_| {
                    ApiError::bad_request(format!("`{field}` must be an RFC 3339 timestamp."))
                })
        })
        .transpose()
}

async fn timeseries(
    state: web::Data<AppState>,
    q: web::Query<SeriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let metric_name = q.metric.as_deref().ok_or_else(|| {
        ApiError::bad_request("`metric` is required: transactions, alerts or blocked.")
    })?;
    let metric = Metric::parse(metric_name).ok_or_else(|| {
        ApiError::bad_request("`metric` must be transactions, alerts or blocked.")
    })?;
    let interval_name = q.interval.as_deref().unwrap_or("hour");
    let interval = Interval::parse(interval_name)
        .ok_or_else(|| ApiError::bad_request("`interval` must be minute, hour or day."))?;
    let width = interval.minutes();
    let default_buckets = match interval {
        Interval::Minute => 60,
        Interval::Hour => 24,
        Interval::Day => 30,
    };
    let to = minute_bound("to", &q.to)?.unwrap_or_else(|| now_minute() + 1);
    // Align outward to whole buckets.
    let to = to.div_euclid(width) * width + if to.rem_euclid(width) == 0 { 0 } else { width };
    let from = minute_bound("from", &q.from)?.unwrap_or(to - default_buckets * width);
    let from = from.div_euclid(width) * width;
    if from >= to {
        return Err(ApiError::bad_request("`from` must be before `to`."));
    }
    if (to - from) / width > MAX_POINTS {
        return Err(ApiError::bad_request(format!(
            "The range holds more than {MAX_POINTS} buckets; use a wider interval."
        )));
    }
    let points = state
        .store
        .read_async(move |conn| store::timeseries(conn, metric, interval, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "metric": metric_name,
        "interval": interval_name,
        "from": store::minute_rfc3339(from),
        "to": store::minute_rfc3339(to),
        "points": points,
    })))
}
