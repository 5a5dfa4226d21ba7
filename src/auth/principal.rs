//! Who is calling and what they may do: roles, API key scopes, permissions and the
//! [`Principal`] every protected handler receives.
//!
//! The grant table is the spec's (section 4) and lives only here.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::http::ApiError;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Analyst,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// An API key's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Ingest,
    Read,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// What a route requires. Each API route declares exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Viewer reads: stats, events, transactions, alerts, accounts, expenses, budgets, rules, lists.
    Read,
    /// Analyst work: alerts, comments, resolve, freeze, lists, rules, budgets.
    Work,
    /// Posting transactions, expenses, batches and imports.
    Ingest,
    /// Posting outcome labels (analysts and ingest keys).
    Label,
    /// Message analysis.
    Analyze,
    /// Expense categorisation.
    Categorize,
    /// Users, API keys, webhooks, backups, config, audit, model training.
    Admin,
}

/// How a route is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// No credentials needed (login, refresh, setup).
    Public,
    /// Any signed-in user or valid key.
    Authenticated,
    /// A principal holding this permission.
    Permission(Permission),
}

impl Role {
    /// The spec's role table.
    pub fn grants(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(p, Read | Work | Label | Analyze | Categorize),
            Role::Viewer => matches!(p, Read),
        }
    }
}

impl Scope {
    /// The spec's key-scope table.
    pub fn grants(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Scope::Ingest => matches!(p, Ingest | Label | Analyze | Categorize),
            Scope::Read => matches!(p, Read),
            Scope::Admin => matches!(p, Admin),
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User {
        id: String,
        email: String,
        name: String,
        role: Role,
        jti: String,
        session: String,
    },
    ApiKey {
        id: String,
        name: String,
        scopes: Vec<Scope>,
    },
}

impl Principal {
    pub fn allows(&self, p: Permission) -> bool {
        match self {
            Principal::User { role, .. } => role.grants(p),
            Principal::ApiKey { scopes, .. } => scopes.iter().any(|s| s.grants(p)),
        }
    }

    /// The id of the user or key.
    pub fn id(&self) -> &str {
        match self {
            Principal::User { id, .. } | Principal::ApiKey { id, .. } => id,
        }
    }

    /// `user` or `api_key`, for audit rows.
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::User { .. } => "user",
            Principal::ApiKey { .. } => "api_key",
        }
    }

    /// A human label: the user's email or the key's name.
    pub fn label(&self) -> &str {
        match self {
            Principal::User { email, .. } => email,
            Principal::ApiKey { name, .. } => name,
        }
    }

    /// The namespace `external_id`s are unique in: one per key or user.
    pub fn sender(&self) -> String {
        match self {
            Principal::User { id, .. } => format!("user:{id}"),
            Principal::ApiKey { id, .. } => format!("key:{id}"),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User { id, .. } => Some(id),
            Principal::ApiKey { .. } => None,
        }
    }
}

/// Handlers take `Principal` as an argument; the route's access guard has already checked it.
impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .ok_or_else(ApiError::unauthorized),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_table_matches_the_spec() {
        use Permission::*;
        let all = [Read, Work, Ingest, Label, Analyze, Categorize, Admin];
        let allowed = |g: &dyn Fn(Permission) -> bool| {
            all.iter().copied().filter(|p| g(*p)).collect::<Vec<_>>()
        };
        assert_eq!(allowed(&|p| Role::Viewer.grants(p)), vec![Read]);
        assert_eq!(
            allowed(&|p| Role::Analyst.grants(p)),
            vec![Read, Work, Label, Analyze, Categorize]
        );
        assert_eq!(allowed(&|p| Role::Admin.grants(p)), all.to_vec());
        assert_eq!(
            allowed(&|p| Scope::Ingest.grants(p)),
            vec![Ingest, Label, Analyze, Categorize]
        );
        assert_eq!(allowed(&|p| Scope::Read.grants(p)), vec![Read]);
        assert_eq!(allowed(&|p| Scope::Admin.grants(p)), vec![Admin]);
    }
}
