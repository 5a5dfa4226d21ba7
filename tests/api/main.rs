//! The one integration test binary (one binary links once). A module per feature; every test
//! starts the real server on a random port with its own temp data dir and talks HTTP to it.

mod helpers;

mod accounts;
mod alerts;
mod analyze;
mod auth;
mod authz;
mod backup;
mod budgets;
mod categorize;
mod cli;
mod config_file;
mod core;
mod email;
mod events;
mod labels;
mod lists;
mod models;
mod openapi;
mod paysim_e2e;
mod rules;
mod stats;
mod transactions;
mod ui;
mod webhooks;
