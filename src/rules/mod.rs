//! Rules in CEL: definitions, the compiled cache, the default pack, persistence with a
//! version row and an audit entry per change, and the HTTP endpoints (CRUD, versions,
//! validate, backtest). The variables rules see are documented in `docs/rules.md`.

pub mod backtest;
pub mod cel;
pub mod pack;
pub mod routes;
pub mod set;
pub mod store;

pub use set::{Action, CompiledRule, RuleDef, RuleSet};
