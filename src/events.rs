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
