//! Identity and access: users, passwords, sessions (JWT access tokens and rotating refresh
//! tokens), API keys, first-run setup, login throttling and the authentication middleware.
//!
//! Authorization is declarative: routes state an [`Access`] in the route table
//! ([`crate::http::routes`]); handlers receive the checked [`Principal`].

pub mod admin;
pub mod middleware;
pub mod password;
mod principal;
pub mod routes;
pub mod service;
pub mod store;
pub mod tokens;
pub mod validate;

pub use principal::{Access, Permission, Principal, Role, Scope};
pub use service::AuthService;

/// All identity routes.
pub fn api_routes(api: &mut crate::http::routes::ApiRoutes) {
    routes::routes(api);
    admin::routes(api);
}
