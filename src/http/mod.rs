//! Cross-cutting HTTP: the error type, the envelope middleware (request id, security headers,
//! CORS, error bodies, panics, request log and metrics), client IP and body extractors.
//!
//! Features own their handlers; nothing here knows about transactions or alerts.

pub mod envelope;
pub mod error;
pub mod extract;
pub mod routes;

pub use envelope::{ClientIp, HttpPolicy, RequestId};
pub use error::{ApiError, FieldError};
pub use extract::{JsonBody, ListQuery, Page};
