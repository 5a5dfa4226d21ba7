//! `/health`, `/health/live`, `/health/ready` and `/metrics`.
//!
//! Liveness says the process answers; readiness says it will serve (started, not shutting
//! down, database answering); `/health` reports each check so an operator sees why.

use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, SystemTime};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::http::ApiError;
use crate::metrics;

/// Where the process is in its life; `/health/ready` answers 200 only in `Ready`.
#[derive(Debug, Default)]
pub struct Lifecycle(AtomicU8);

impl Lifecycle {
    const STARTING: u8 = 0;
    const READY: u8 = 1;
    const STOPPING: u8 = 2;

    pub fn set_ready(&self) {
        let _ = self.0.compare_exchange(
            Self::STARTING,
            Self::READY,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
    pub fn set_stopping(&self) {
        self.0.store(Self::STOPPING, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == Self::READY
    }
    pub fn is_stopping(&self) -> bool {
        self.0.load(Ordering::SeqCst) == Self::STOPPING
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/health/live", web::get().to(live))
        .route("/health/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics_text));
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.lifecycle.is_stopping() {
        return Err(ApiError::unavailable("The service is shutting down."));
    }
    if !state.lifecycle.is_ready() {
        return Err(ApiError::unavailable("The service is starting."));
    }
    let db = database_check(&state).await;
    if db["status"] != "ok" {
        return Err(ApiError::unavailable("The database is not answering."));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

async fn health(state: web::Data<AppState>) -> HttpResponse {
    let database = database_check(&state).await;
    let disk = disk_check(state.settings.data_dir());
    let backup = backup_check(&state.settings.backup_dir(), state.backup_interval());
    let worst = [&database, &disk, &backup]
        .iter()
        .map(|c| match c["status"].as_str() {
            Some("fail") => 2,
            Some("warn") => 1,
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    let status = ["ok", "degraded", "fail"][worst];
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs(),
        "checks": {"database": database, "disk": disk, "backup": backup},
    });
    if worst == 2 {
        HttpResponse::ServiceUnavailable().json(body)
    } else {
        HttpResponse::Ok().json(body)
    }
}

async fn database_check(state: &AppState) -> serde_json::Value {
    let started = std::time::Instant::now();
    let pool = state.store.pool.clone();
    let state_gauge = &metrics::global().db_pool_connections;
    let pool_state = pool.state();
    state_gauge
        .with_label_values(&["idle"])
        .set(i64::from(pool_state.idle_connections));
    state_gauge.with_label_values(&["in_use"]).set(i64::from(
        pool_state.connections - pool_state.idle_connections,
    ));
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::task::spawn_blocking(move || -> Result<i64, String> {
            let conn = pool.get().map_err(|e| e.to_string())?;
            conn.query_row("SELECT 1", [], |r| r.get(0))
                .map_err(|e| e.to_string())
        }),
    )
    .await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(Ok(Ok(1))) => {
            json!({"status": "ok", "latency_ms": (latency_ms * 1000.0).round() / 1000.0})
        }
        Ok(Ok(Err(e))) => {
            tracing::error!(error = %e, "database health check failed");
            json!({"status": "fail", "message": "the database does not answer"})
        }
        _ => json!({"status": "fail", "message": "the database check timed out"}),
    }
}

/// Free space on the data dir's file system: warn under 1 GiB or 5 %, fail under 100 MiB.
pub fn disk_check(dir: &Path) -> serde_json::Value {
    match free_space(dir) {
        Some((free, total)) => {
            let pct = if total > 0 {
                free as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            let status = if free < 100 * 1024 * 1024 {
                "fail"
            } else if free < 1024 * 1024 * 1024 || pct < 5.0 {
                "warn"
            } else {
                "ok"
            };
            json!({"status": status, "free_bytes": free, "free_percent": (pct * 10.0).round() / 10.0})
        }
        None => json!({"status": "warn", "message": "cannot read free space"}),
    }
}

#[allow(unsafe_code)]
fn free_space(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut s) };
    if rc != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some((s.f_bavail as u64 * frsize, s.f_blocks as u64 * frsize))
}

/// The newest backup's age against the schedule: warn when none exists or it is older than
/// twice the schedule's interval.
pub fn backup_check(dir: &Path, interval: Duration) -> serde_json::Value {
    let newest = std::fs::read_dir(dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                name.starts_with("ledgerguard-") && name.ends_with(".db")
            })
            .filter_map(|e| {
                e.metadata()
                    .ok()?
                    .modified()
                    .ok()
                    .map(|m| (e.file_name(), m))
            })
            .max_by_key(|(_, m)| *m)
    });
    match newest {
        None => json!({"status": "warn", "message": "no backup exists yet"}),
        Some((name, modified)) => {
            let age = SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default();
            let status = if age > interval * 2 { "warn" } else { "ok" };
            json!({"status": status, "newest": name.to_string_lossy(), "age_s": age.as_secs()})
        }
    }
}

async fn metrics_text(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.metrics.enabled {
        return Err(ApiError::not_found());
    }
    let token = &state.settings.metrics.bearer_token;
    if !token.is_empty() {
        let presented = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        use subtle::ConstantTimeEq;
        if presented
            .as_bytes()
            .ct_eq(token.expose().as_bytes())
            .unwrap_u8()
            != 1
        {
            return Err(ApiError::unauthorized());
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics::global().render()))
}
