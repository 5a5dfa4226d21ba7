//! `GET /api/v1/events`: the live event stream (Server-Sent Events) behind the dashboard, and
//! `POST /api/v1/events/ticket`, which lets a browser's `EventSource` (which cannot send an
//! `Authorization` header) authenticate without a long-lived token in the URL.
//!
//! Every stream has its own small buffer fed by a forwarder task from the event bus. The
//! forwarder never waits: when a client stops reading and its buffer fills, the stream is
//! dropped (its slot and subscription freed), so a slow client never slows publishers.
//! Heartbeat comments keep proxies from closing an idle stream; `stats.tick` carries the
//! overview every few seconds while anyone listens. This module does not decide what events
//! exist ([`crate::events`]) or who may read them ([`crate::auth`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage, HttpResponse};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, Semaphore};

use crate::app::AppState;
use crate::auth::{Access, Permission, Principal};
use crate::events::Event;
use crate::http::routes::ApiRoutes;
use crate::http::ApiError;

/// How long a ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Frames buffered per stream before a client counts as too slow and is dropped.
pub const STREAM_BUFFER: usize = 256;
/// A comment line this often keeps idle streams open through proxies.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// `stats.tick` period.
pub const STATS_TICK: Duration = Duration::from_secs(5);

/// Live-stream bookkeeping shared by the handlers: tickets and the stream cap.
#[derive(Clone)]
pub struct LiveStreams {
    tickets: moka::sync::Cache<String, Principal>,
    slots: Arc<Semaphore>,
    active: Arc<AtomicUsize>,
}

impl LiveStreams {
    pub fn new(max_streams: usize) -> Self {
        Self {
            tickets: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(TICKET_TTL)
                .build(),
            slots: Arc::new(Semaphore::new(max_streams.max(1))),
            active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Streams open right now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Issues a single-use ticket for `principal`.
    pub fn issue(&self, principal: Principal) -> String {
        let bytes: [u8; 32] = rand::random();
        let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        self.tickets.insert(ticket.clone(), principal);
        ticket
    }

    /// Takes a ticket: the principal it was issued to, once; `None` if unknown, used or expired.
    pub fn redeem(&self, ticket: &str) -> Option<Principal> {
        if ticket.len() > 128 {
            return None;
        }
        self.tickets.remove(ticket)
    }
}

pub fn routes(api: &mut ApiRoutes) {
    api.post(
        "/events/ticket",
        Access::Permission(Permission::Read),
        ticket,
    )
    .get("/events", Access::Permission(Permission::Read), stream);
}

/// The path a ticket opens, and nothing else.
const STREAM_PATH: &str = "/api/v1/events";

/// Middleware inside authentication: on `GET /api/v1/events` without other credentials, a
/// valid `?ticket=` becomes the caller's principal (once). Any other path ignores tickets.
pub async fn ticket_auth(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path() == STREAM_PATH && !req.extensions().contains::<Principal>() {
        let ticket = web::Query::<StreamQuery>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.into_inner().ticket);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        if let (Some(ticket), Some(state)) = (ticket, state) {
            match state.live.redeem(&ticket) {
                Some(principal) => {
                    req.extensions_mut().insert(principal);
                }
                None => return Err(ApiError::unauthorized().into()),
            }
        }
    }
    next.call(req).await
}

async fn ticket(state: web::Data<AppState>, principal: Principal) -> HttpResponse {
    let ticket = state.live.issue(principal);
    HttpResponse::Created().json(json!({
        "ticket": ticket,
        "expires_in": TICKET_TTL.as_secs(),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamQuery {
    ticket: Option<String>,
}

async fn stream(
    state: web::Data<AppState>,
    _principal: Principal,
    _q: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    let permit = state.live.slots.clone().try_acquire_owned().map_err(|_| {
        ApiError::unavailable("Too many live event streams are open; try again shortly.")
            .with_header("Retry-After", "5".into())
    })?;
    let (tx, rx) = mpsc::channel::<Bytes>(STREAM_BUFFER);
    // The first frame tells the client how soon to reconnect and proves the stream is open.
    let _ = tx.try_send(Bytes::from_static(b"retry: 5000\n: connected\n\n"));
    let subscription = state.events.subscribe();
    let live = state.live.clone();
    let lifecycle = state.lifecycle.clone();
    live.active.fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        forward(subscription, tx, &lifecycle).await;
        live.active.fetch_sub(1, Ordering::Relaxed);
        drop(permit);
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|frame| (Ok::<_, std::convert::Infallible>(frame), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// Copies events from the bus into one stream's buffer until the client leaves or lags, or the
/// server shuts down (an open stream would otherwise hold graceful shutdown for its full
/// timeout).
async fn forward(
    mut events: broadcast::Receiver<Event>,
    tx: mpsc::Sender<Bytes>,
    lifecycle: &crate::health::Lifecycle,
) {
    let mut heartbeat =
        tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let mut watch = tokio::time::interval(Duration::from_secs(1));
    loop {
        let frame = tokio::select! {
            _ = watch.tick() => {
                if lifecycle.is_stopping() {
                    break;
                }
                continue;
            },
            received = events.recv() => match received {
                Ok(event) => frame(&event),
                // Lagging the bus means the client is far behind: drop it.
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = heartbeat.tick() => Bytes::from_static(b": heartbeat\n\n"),
            () = tx.closed() => break,
        };
        if tx.try_send(frame).is_err() {
            tracing::info!("dropping a live event stream whose client stopped reading");
            break;
        }
    }
}

/// One SSE frame: `event:` is the type, `data:` the JSON of the whole event.
pub fn frame(event: &Event) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    // serde_json escapes newlines inside strings, so the data is one line.
    Bytes::from(format!("event: {}\ndata: {}\n\n", event.kind, data))
}

/// Publishes `stats.tick` with the overview every few seconds while any stream is open, and
/// refreshes the open-alerts gauge from the store on every tick.
pub fn spawn_stats_ticker(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(STATS_TICK);
        loop {
            tick.tick().await;
            if state.lifecycle.is_stopping() {
                break;
            }
            if state.live.active() == 0 {
                continue;
            }
            match crate::stats::routes::current_overview(&state).await {
                Ok(overview) => state.events.publish(
                    "stats.tick",
                    serde_json::to_value(overview).unwrap_or_default(),
                ),
                Err(e) => tracing::warn!(error = %e, "cannot compute the stats tick"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer() -> Principal {
        Principal::User {
            id: "u1".into(),
            email: "v@example.test".into(),
            name: "V".into(),
            role: crate::auth::Role::Viewer,
            jti: "j".into(),
            session: "s".into(),
        }
    }

    #[test]
    fn a_ticket_works_once() {
        let live = LiveStreams::new(4);
        let t = live.issue(viewer());
        assert_eq!(live.redeem(&t), Some(viewer()));
        assert_eq!(live.redeem(&t), None);
        assert_eq!(live.redeem("made-up"), None);
        assert_eq!(live.redeem(&"x".repeat(10_000)), None);
    }

    #[test]
    fn frames_are_single_line_sse() {
        let e = Event {
            kind: "alert.created",
            at: "2026-01-01T00:00:00.000Z".into(),
            data: json!({"note": "two\nlines"}),
        };
        let f = String::from_utf8(frame(&e).to_vec()).unwrap();
        assert!(f.starts_with("event: alert.created\ndata: {"));
        assert_eq!(f.matches('\n').count(), 3);
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_dropped_without_blocking_the_bus() {
        let bus = crate::events::EventBus::new(16);
        let (tx, mut rx) = mpsc::channel(4);
        let bus_rx = bus.subscribe();
        let task =
            tokio::spawn(
                async move { forward(bus_rx, tx, &crate::health::Lifecycle::default()).await },
            );
        for i in 0..100 {
            bus.publish("alert.updated", json!({ "i": i }));
            tokio::task::yield_now().await;
        }
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the forwarder gives up on a full buffer")
            .unwrap();
        let mut buffered = 0;
        while rx.recv().await.is_some() {
            buffered += 1;
        }
        assert!(buffered <= 4);
    }
}
