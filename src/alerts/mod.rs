//! Alert cases: the analyst queue, case detail, assignment, comments, the status machine of
//! the spec (`open → investigating`, `open | investigating → resolved | dismissed`, final
//! states final) and resolve, which labels the transaction for model training.
//!
//! Alerts are *raised* by the scoring pipeline (and budgets); this module owns what happens to
//! them afterwards. `domain` holds the rules, `store` the SQL, `cases` the write jobs that
//! change a case together with its history, audit entry and event, `routes` the handlers.

pub mod cases;
pub mod domain;
pub mod routes;
pub mod store;

#[cfg(test)]
mod tests;

pub use domain::{Outcome, Severity, Status};
pub use store::Alert;
