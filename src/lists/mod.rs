//! Block and allow lists: the in-memory set used by features and rules
//! (`lists.contains("name", value)`), their storage and their HTTP endpoints.

pub mod routes;
pub mod set;
pub mod store;

pub use set::{ListEntry, ListHits, ListSet};
