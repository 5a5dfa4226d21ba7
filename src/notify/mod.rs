//! Notifications to the outside: signed webhooks delivered from a durable outbox, and alert
//! e-mail over SMTP.
//!
//! Events are recorded by their cause with [`crate::events::record`] (which writes one outbox
//! row per subscribed webhook in the same transaction); this module owns the endpoints
//! (`routes`, `store`), the signature (`signing`), the address policy (`target`), the delivery
//! worker (`delivery`) and the mailer (`email`). It does not decide when events happen.

pub mod delivery;
pub mod email;
pub mod routes;
pub mod signing;
pub mod store;
pub mod target;

pub use delivery::Wake;

/// Starts the delivery worker and, when enabled, the mailer.
pub fn start(state: crate::app::AppState) {
    delivery::spawn(state.clone(), state.webhooks.clone());
    email::spawn(state);
}
