//! Expenses: claims are transactions with `kind = "expense"`. This folder holds the expense
//! categoriser ([`categorize`]) and the spending summary ([`summary`]); ingestion of expenses
//! goes through the transaction pipeline.

pub mod categorize;
pub mod routes;
pub mod summary;
