//! Ledgerguard: a self-hosted fraud and expense monitoring appliance in one binary.
//!
//! `cli` parses commands; `app` builds the HTTP server from the feature modules; `store` owns
//! SQLite; `http` holds cross-cutting HTTP machinery. Each feature folder holds its handlers,
//! domain rules and SQL together.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::await_holding_lock
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![deny(unsafe_code)]

pub mod accounts;
pub mod alerts;
pub mod analyze;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod budgets;
pub mod cli;
pub mod config;
pub mod events;
pub mod expenses;
pub mod health;
pub mod http;
pub mod labels;
pub mod lists;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod money;
pub mod notify;
pub mod openapi;
pub mod rules;
pub mod schedule;
pub mod scoring;
pub mod sse;
pub mod stats;
pub mod store;
pub mod tls;
pub mod transactions;
pub mod ui;
