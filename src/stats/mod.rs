//! Dashboard statistics: `GET /stats/overview` and `GET /stats/timeseries`, answered from the
//! per-minute roll-up tables (`stats_minute`, `stats_blocked_minute`) and a few indexed counts,
//! never a scan of `transactions`.
//!
//! `rollup` is how writers keep those tables right in the same write as the change (ingestion
//! calls it for every transaction; alert resolution for fraud labels). `store` reads them,
//! `routes` serves them.

pub mod rollup;
pub mod routes;
pub mod store;

pub use store::{overview, Overview};
