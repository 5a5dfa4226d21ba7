//! The one integration test binary (one binary links once). A module per feature; every test
//! starts the real server on a random port with its own temp data dir and talks HTTP to it.

mod helpers;

mod accounts;
mod auth;
mod authz;
mod backup;
mod cli;
mod config_file;
mod core;
mod lists;
mod openapi;
mod rules;
mod transactions;
