//! The Prometheus metric catalogue of the spec, registered once per process.
//!
//! Features record into [`global()`]; `/metrics` renders the registry. Metric names here are
//! the contract `packaging/grafana-dashboard.json` and `packaging/prometheus-rules.yml` use.

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the product exports.
pub struct Metrics {
    pub registry: Registry,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub transactions_scored_total: IntCounterVec,
    pub scoring_duration_seconds: Histogram,
    pub alerts_created_total: IntCounterVec,
    pub alerts_open: IntGaugeVec,
    pub rate_limited_total: IntCounterVec,
    pub auth_attempts_total: IntCounterVec,
    pub cache_requests_total: IntCounterVec,
    pub db_write_batch_size: Histogram,
    pub db_pool_connections: IntGaugeVec,
    pub backup_last_success_timestamp_seconds: IntGauge,
    pub backup_duration_seconds: Histogram,
    pub webhook_deliveries_total: IntCounterVec,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable_metric(name, e));
    registry
        .register(Box::new(c.clone()))
        .unwrap_or_else(|e| unreachable_metric(name, e));
    c
}

fn histogram(registry: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .unwrap_or_else(|e| unreachable_metric(name, e));
    registry
        .register(Box::new(h.clone()))
        .unwrap_or_else(|e| unreachable_metric(name, e));
    h
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| unreachable_metric(name, e));
    registry
        .register(Box::new(g.clone()))
        .unwrap_or_else(|e| unreachable_metric(name, e));
    g
}

/// Metric definitions are constants; a failure here is a programming error caught by any test.
#[allow(clippy::panic)]
fn unreachable_metric(name: &str, e: prometheus::Error) -> ! {
    panic!("metric {name} is malformed: {e}")
}

impl Metrics {
    fn new() -> Self {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        {
            let pc = prometheus::process_collector::ProcessCollector::for_self();
            let _ = registry.register(Box::new(pc));
        }
        let http_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ledgerguard_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable_metric("ledgerguard_http_request_duration_seconds", e));
        registry
            .register(Box::new(http_request_duration_seconds.clone()))
            .unwrap_or_else(|e| unreachable_metric("ledgerguard_http_request_duration_seconds", e));
        let backup_last = IntGauge::new(
            "ledgerguard_backup_last_success_timestamp_seconds",
            "Unix time of the newest verified backup",
        )
        .unwrap_or_else(|e| {
            unreachable_metric("ledgerguard_backup_last_success_timestamp_seconds", e)
        });
        registry
            .register(Box::new(backup_last.clone()))
            .unwrap_or_else(|e| {
                unreachable_metric("ledgerguard_backup_last_success_timestamp_seconds", e)
            });
        Self {
            http_requests_total: counter(
                &registry,
                "ledgerguard_http_requests_total",
                "HTTP requests by method, route pattern and status",
                &["method", "route", "status"],
            ),
            http_request_duration_seconds,
            transactions_scored_total: counter(
                &registry,
                "ledgerguard_transactions_scored_total",
                "Transactions scored, by decision",
                &["decision"],
            ),
            scoring_duration_seconds: histogram(
                &registry,
                "ledgerguard_scoring_duration_seconds",
                "Time to score one transaction",
                vec![
                    0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
                ],
            ),
            alerts_created_total: counter(
                &registry,
                "ledgerguard_alerts_created_total",
                "Alerts raised, by type and severity",
                &["type", "severity"],
            ),
            alerts_open: gauge_vec(
                &registry,
                "ledgerguard_alerts_open",
                "Open alerts by severity",
                &["severity"],
            ),
            rate_limited_total: counter(
                &registry,
                "ledgerguard_rate_limited_total",
                "Requests refused by the rate limiter, by tier",
                &["tier"],
            ),
            auth_attempts_total: counter(
                &registry,
                "ledgerguard_auth_attempts_total",
                "Login attempts by result",
                &["result"],
            ),
            cache_requests_total: counter(
                &registry,
                "ledgerguard_cache_requests_total",
                "In-process cache lookups by cache and result",
                &["cache", "result"],
            ),
            db_write_batch_size: histogram(
                &registry,
                "ledgerguard_db_write_batch_size",
                "Writes folded into one SQLite transaction",
                vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
                ],
            ),
            db_pool_connections: gauge_vec(
                &registry,
                "ledgerguard_db_pool_connections",
                "Read pool connections by state",
                &["state"],
            ),
            backup_last_success_timestamp_seconds: backup_last,
            backup_duration_seconds: histogram(
                &registry,
                "ledgerguard_backup_duration_seconds",
                "Time to take and verify one backup",
                vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0],
            ),
            webhook_deliveries_total: counter(
                &registry,
                "ledgerguard_webhook_deliveries_total",
                "Webhook delivery attempts by result",
                &["result"],
            ),
            registry,
        }
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let encoder = TextEncoder::new();
        if let Err(e) = encoder.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}
