//! Accounts: created on first sight by ingestion, listed and shown with their statistics,
//! recent transactions and alerts, and frozen or unfrozen by analysts (or by `freeze` rules).
//! A frozen account's transactions are blocked with reason `account_frozen`.

pub mod routes;
pub mod store;
