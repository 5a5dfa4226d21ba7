//! Transactions in, decisions out: validation of the input, the ingestion pipeline (single,
//! batch, NDJSON, CSV) with idempotency per sender and `external_id`, storage with the
//! alert and roll-up rows of the same write, and the list/detail endpoints.

pub mod ingest;
pub mod input;
pub mod parse;
pub mod routes;
pub mod store;

pub use input::{validate, Defaults, NewTransaction};
