//! The in-process event bus behind Server-Sent Events (and, later, webhooks and email).
//!
//! Publishing never blocks: a broadcast channel drops the oldest events for a subscriber that
//! falls behind, which then notices the lag and is disconnected by the SSE handler.

use serde::Serialize;
use tokio::sync::broadcast;

/// One event as sent to subscribers.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `alert.created`, `alert.updated`, `account.frozen`, `account.unfrozen`,
    /// `budget.threshold_crossed`, `backup.completed`, `stats.tick`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: String,
    pub data: serde_json::Value,
}

/// The event types the product emits.
pub const EVENT_TYPES: &[&str] = &[
    "alert.created",
    "alert.updated",
    "account.frozen",
    "account.unfrozen",
    "budget.threshold_crossed",
    "backup.completed",
    "stats.tick",
];

/// Cheap to clone handle to the bus.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }

    /// Publishes to current subscribers; without subscribers the event is dropped.
    pub fn publish(&self, kind: &'static str, data: serde_json::Value) {
        let _ = self.sender.send(Event {
            kind,
            at: crate::store::now_rfc3339(),
            data,
        });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl EventBus {
    /// Publishes an event built by [`record`] (call after the recording transaction committed).
    pub fn publish_event(&self, event: Event) {
        let _ = self.sender.send(event);
    }
}

/// Records an event inside the write transaction of its cause: one durable webhook outbox row
/// per webhook subscribed to `kind` (the delivery worker in `notify` sends them). Returns the
/// event to [`EventBus::publish_event`] once the transaction has committed.
pub fn record(
    conn: &rusqlite::Connection,
    kind: &'static str,
    data: serde_json::Value,
) -> Result<Event, crate::store::StoreError> {
    let event = Event {
        kind,
        at: crate::store::now_rfc3339(),
        data,
    };
    let mut stmt = conn.prepare_cached("SELECT id, events FROM webhooks")?;
    let hooks = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    if hooks.is_empty() {
        return Ok(event);
    }
    let payload =
        serde_json::json!({"type": event.kind, "timestamp": event.at, "data": event.data})
            .to_string();
    let now_ms = chrono::Utc::now().timestamp_millis();
    for (hook_id, events) in hooks {
        let wanted: Vec<String> = serde_json::from_str(&events).unwrap_or_default();
        if !wanted.iter().any(|w| w == kind || w == "*") {
            continue;
        }
        conn.execute(
            "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, status, attempts, next_attempt_ms, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?6)",
            rusqlite::params![crate::store::new_id(), hook_id, kind, payload, now_ms, event.at],
        )?;
    }
    Ok(event)
}
