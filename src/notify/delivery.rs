//! The webhook delivery worker: polls the durable outbox for due deliveries, signs and sends
//! each one (timeouts, no redirects, a capped response read), logs the attempt and schedules
//! the next one with backoff and jitter until the retry window closes, then marks it `failed`.
//!
//! Nothing is held only in memory: a delivery is `pending` in SQLite until an attempt
//! succeeds or its window closes, so a restart resumes where the last process stopped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::{Notify, Semaphore};

use super::signing;
use super::store::{self, AttemptResult, Due};
use super::target;
use crate::app::AppState;
use crate::config::WebhookSettings;
use crate::metrics;

/// Delays after the 1st, 2nd, … failed attempt; the last repeats (hourly) until the window ends.
pub const BACKOFF_S: [u64; 6] = [5, 30, 120, 600, 1_800, 3_600];
/// How often the outbox is polled when nobody wakes the worker.
const POLL: Duration = Duration::from_secs(1);
/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;

/// The delay before the next attempt after `failures` failed ones, with ±20 % jitter.
pub fn backoff(failures: i64, jitter: f64) -> Duration {
    let index = usize::try_from(failures.max(1) - 1)
        .unwrap_or(0)
        .min(BACKOFF_S.len() - 1);
    let base = BACKOFF_S[index] as f64;
    Duration::from_secs_f64(base * (1.0 + jitter.clamp(-0.2, 0.2)))
}

/// Wakes the worker early (a test ping, a redelivery).
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

/// Starts the worker; it stops when the application stops.
pub fn spawn(state: AppState, wake: Wake) {
    tokio::spawn(async move {
        let settings = state.settings.notify.webhooks.clone();
        let client = match client(&settings, None) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
                return;
            }
        };
        let in_flight: Arc<Mutex<HashSet<String>>> = Arc::default();
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        loop {
            if state.lifecycle.is_stopping() {
                break;
            }
            let now_ms = chrono::Utc::now().timestamp_millis();
            let due = state
                .store
                .read_async(move |conn| store::due(conn, now_ms, 64))
                .await;
            match due {
                Ok(due) => {
                    for d in due {
                        let fresh = in_flight
                            .lock()
                            .map(|mut set| set.insert(d.id.clone()))
                            .unwrap_or(false);
                        if !fresh {
                            continue;
                        }
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            if let Ok(mut set) = in_flight.lock() {
                                set.remove(&d.id);
                            }
                            break;
                        };
                        let (state, client, settings, in_flight) = (
                            state.clone(),
                            client.clone(),
                            settings.clone(),
                            in_flight.clone(),
                        );
                        tokio::spawn(async move {
                            let id = d.id.clone();
                            deliver(&state, &client, &settings, d).await;
                            if let Ok(mut set) = in_flight.lock() {
                                set.remove(&id);
                            }
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the webhook outbox"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = wake.0.notified() => {}
            }
        }
    });
}

fn client(
    settings: &WebhookSettings,
    pin: Option<(&str, std::net::SocketAddr)>,
) -> reqwest::Result<reqwest::Client> {
    crate::tls::install_crypto_provider();
    let timeout = Duration::from_secs(settings.timeout_s);
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("Ledgerguard-Webhooks/", env!("CARGO_PKG_VERSION")));
    if let Some((host, addr)) = pin {
        builder = builder.resolve(host, addr);
    }
    builder.build()
}

/// Sends one delivery and records the outcome.
async fn deliver(state: &AppState, shared: &reqwest::Client, settings: &WebhookSettings, d: Due) {
    let started = Instant::now();
    let result = attempt(shared, settings, &d).await;
    let result = AttemptResult {
        latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        ..result
    };
    // A 2xx means the receiver took the message, even if reading the rest of its answer failed.
    let delivered = result.status_code.is_some_and(|c| (200..300).contains(&c));
    let now = chrono::Utc::now();
    let next = if delivered {
        None
    } else {
        let jitter = rand::rng().random_range(-0.2..=0.2);
        let at = now.timestamp_millis()
            + i64::try_from(backoff(d.attempts + 1, jitter).as_millis()).unwrap_or(i64::MAX);
        (at <= d.retry_until_ms).then_some(at)
    };
    let outcome = match (delivered, next) {
        (true, _) => "delivered",
        (false, Some(_)) => "retrying",
        (false, None) => "failed",
    };
    metrics::global()
        .webhook_deliveries_total
        .with_label_values(&[outcome])
        .inc();
    if !delivered {
        tracing::info!(delivery_id = %d.id, status = ?result.status_code, error = ?result.error, outcome, "webhook attempt failed");
    }
    let id = d.id.clone();
    let now_text = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let written = state
        .store
        .writer
        .write(move |conn| store::record_attempt(conn, &id, &result, delivered, next, &now_text))
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, delivery_id = %d.id, "cannot record a webhook attempt");
    }
}

/// One HTTP attempt: status code, or the error that prevented one.
async fn attempt(shared: &reqwest::Client, settings: &WebhookSettings, d: &Due) -> AttemptResult {
    let failed = |error: String| AttemptResult {
        status_code: None,
        latency_ms: 0,
        error: Some(error),
    };
    // The address policy is applied below to what the host resolves to (literals included).
    let url = match target::parse_url(&d.url, true) {
        Ok(u) => u,
        Err(e) => return failed(format!("the endpoint URL {e}")),
    };
    let pinned;
    let client = if settings.allow_private {
        shared
    } else {
        let addr = match target::resolve_public(&url).await {
            Ok(a) => a,
            Err(e) => return failed(e),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        pinned = match client(settings, Some((&host, addr))) {
            Ok(c) => c,
            Err(e) => return failed(format!("cannot build a client: {e}")),
        };
        &pinned
    };
    let timestamp = chrono::Utc::now().timestamp();
    let Some(signature) = signing::sign(&d.secret, &d.id, timestamp, d.payload.as_bytes()) else {
        return failed("the endpoint secret is malformed".into());
    };
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.payload.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "cannot connect".to_owned()
            } else {
                "request failed".to_owned()
            };
            return failed(why);
        }
    };
    let status = response.status().as_u16();
    // Read (and discard) at most the configured number of bytes; a receiver cannot make us
    // buffer an endless body.
    let mut read = 0usize;
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                if read >= settings.max_response_bytes {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => {
                error = Some("timed out reading the response".to_owned());
                break;
            }
            Err(_) => break,
        }
    }
    let error = error.or_else(|| {
        (!(200..300).contains(&status)).then(|| format!("the endpoint answered {status}"))
    });
    AttemptResult {
        status_code: Some(status),
        latency_ms: 0,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_within_jitter() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(6, 0.0), Duration::from_secs(3_600));
        assert_eq!(backoff(40, 0.0), Duration::from_secs(3_600), "hourly after");
        assert_eq!(backoff(1, 0.2), Duration::from_secs(6));
        assert_eq!(
            backoff(1, -0.9),
            Duration::from_secs(4),
            "jitter is clamped"
        );
    }

    #[test]
    fn the_retry_window_allows_about_a_day_of_attempts() {
        let mut at = 0.0;
        let mut attempts = 1;
        while at + backoff(attempts, 0.0).as_secs_f64() <= 86_400.0 {
            at += backoff(attempts, 0.0).as_secs_f64();
            attempts += 1;
        }
        assert!((25..=30).contains(&attempts), "{attempts}");
    }
}
