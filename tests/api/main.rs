//! The one integration test binary (one binary links once). A module per feature; every test
//! starts the real server on a random port with its own temp data dir and talks HTTP to it.

mod helpers;

mod accounts;
mod alerts;
mod auth;
mod authz;
mod cli;
mod core;
mod email;
mod events;
mod lists;
mod rules;
mod stats;
mod transactions;
mod webhooks;
