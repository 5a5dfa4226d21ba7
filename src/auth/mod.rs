//! Identity and access: users, passwords, sessions (JWT access tokens and rotating refresh
//! tokens), API keys, first-run setup, login throttling and the authentication middleware.
//!
//! Authorization is declarative: routes state an [`Access`] in the route table
//! ([`crate::http::routes`]); handlers receive the checked [`Principal`].

mod principal;

pub use principal::{Access, Permission, Principal, Role, Scope};
