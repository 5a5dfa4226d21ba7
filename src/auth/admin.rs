//! Admin endpoints for users (`/users`) and API keys (`/api-keys`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::routes::client_ip;
use super::store::{self as auth_store};
use super::{password, tokens, validate, Access, Permission, Principal, Role, Scope};
use crate::app::AppState;
use crate::audit::{self, Actor, Entry};
use crate::http::extract::ListQuery;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, FieldError, JsonBody, Page};

pub fn routes(api: &mut ApiRoutes) {
    let admin = Access::Permission(Permission::Admin);
    api.get("/users", admin, list_users)
        .post("/users", admin, create_user)
        .get("/users/{id}", admin, get_user)
        .patch("/users/{id}", admin, update_user)
        .post("/users/{id}/unlock", admin, unlock_user)
        .get("/api-keys", admin, list_keys)
        .post("/api-keys", admin, create_key)
        .delete("/api-keys/{id}", admin, revoke_key);
}

async fn list_users(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after: Option<String> = q.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| auth_store::list_users(conn, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |u| u.id.clone())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    email: String,
    name: String,
    role: String,
    password: String,
}

/// Validates a new user's fields, listing every problem.
pub fn validate_new_user(
    email: &str,
    name: &str,
    role: &str,
    pw: &str,
    auth: &crate::config::AuthSettings,
) -> Result<(String, String, Role), Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = validate::collect(&mut errors, "email", validate::email(email));
    let name = validate::collect(&mut errors, "name", validate::name(name));
    let role = validate::collect(
        &mut errors,
        "role",
        Role::parse(role).ok_or_else(|| "must be admin, analyst or viewer".to_owned()),
    );
    let inputs: Vec<&str> = [email.as_deref(), name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    validate::collect(
        &mut errors,
        "password",
        password::check_policy(pw, &inputs, auth),
    );
    match (email, name, role) {
        (Some(e), Some(n), Some(r)) if errors.is_empty() => Ok((e, n, r)),
        _ => Err(errors),
    }
}

async fn create_user(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    body: JsonBody<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let NewUser {
        email,
        name,
        role,
        password: pw,
    } = body.0;
    let (email, name, role) = validate_new_user(&email, &name, &role, &pw, &state.settings.auth)
        .map_err(ApiError::validation)?;
    let cost = state.settings.auth.bcrypt_cost;
    let hash = web::block(move || password::hash(&pw, cost))
        .await?
        .map_err(ApiError::internal)?;
    let actor = Actor::principal(&principal, client_ip(&req));
    let user = state
        .store
        .writer
        .write(move |conn| {
            let Some(user) = auth_store::insert_user(conn, &email, &name, role, &hash)? else {
                return Ok(None);
            };
            audit::append(
                conn,
                Entry::new(&actor, "user.created")
                    .target("user", &user.id)
                    .details(json!({"email": user.email, "role": role})),
            )?;
            Ok(Some(user))
        })
        .await?
        .ok_or_else(|| ApiError::conflict("A user with this email already exists."))?;
    Ok(HttpResponse::Created().json(user))
}

async fn get_user(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = state
        .store
        .read_async(move |conn| auth_store::user_by_id(conn, &id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(user.user))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    name: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
}

async fn update_user(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.0;
    let mut errors = Vec::new();
    let name = patch
        .name
        .as_deref()
        .and_then(|n| validate::collect(&mut errors, "name", validate::name(n)));
    let role = patch.role.as_deref().and_then(|r| {
        validate::collect(
            &mut errors,
            "role",
            Role::parse(r).ok_or_else(|| "must be admin, analyst or viewer".to_owned()),
        )
    });
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let actor = Actor::principal(&principal, client_ip(&req));
    let disabled = patch.disabled;
    let uid = id.clone();
    let updated = state
        .store
        .writer
        .write(move |conn| {
            let Some(before) = auth_store::user_by_id(conn, &uid)? else {
                return Ok(Err(ApiError::not_found()));
            };
            let demotes_admin = before.user.role == Role::Admin
                && !before.user.disabled
                && (role.is_some_and(|r| r != Role::Admin) || disabled == Some(true));
            if demotes_admin && auth_store::count_admins(conn)? <= 1 {
                return Ok(Err(ApiError::conflict(
                    "This is the last active admin; promote another admin first.",
                )));
            }
            let Some(user) = auth_store::update_user(conn, &uid, name.as_deref(), role, disabled)?
            else {
                return Ok(Err(ApiError::not_found()));
            };
            audit::append(
                conn,
                Entry::new(&actor, "user.updated")
                    .target("user", &uid)
                    .details(json!({"name": name, "role": role, "disabled": disabled})),
            )?;
            Ok(Ok(user))
        })
        .await??;
    state.auth.invalidate_user(&id);
    Ok(HttpResponse::Ok().json(updated))
}

async fn unlock_user(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let actor = Actor::principal(&principal, client_ip(&req));
    let user = state
        .store
        .writer
        .write(move |conn| {
            let Some(user) = auth_store::user_by_id(conn, &id)? else {
                return Ok(None);
            };
            auth_store::clear_failures(conn, &user.user.email)?;
            audit::append(
                conn,
                Entry::new(&actor, "user.unlocked").target("user", &id),
            )?;
            Ok(Some(user.user))
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(user))
}

async fn list_keys(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after: Option<String> = q.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| auth_store::list_api_keys(conn, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |k| k.id.clone())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    name: String,
    scopes: Vec<String>,
    per_minute: Option<u32>,
}

/// Validates a key's name, scopes and optional limit.
pub fn validate_new_key(
    name: &str,
    scopes: &[String],
    per_minute: Option<u32>,
) -> Result<(String, Vec<Scope>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let name = validate::collect(&mut errors, "name", validate::name(name));
    let mut parsed = Vec::new();
    if scopes.is_empty() || scopes.len() > 3 {
        errors.push(FieldError::new(
            "scopes",
            "must list one to three of ingest, read, admin",
        ));
    }
    for s in scopes {
        match Scope::parse(s) {
            Some(sc) if !parsed.contains(&sc) => parsed.push(sc),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "scopes",
                "must list only ingest, read, admin",
            )),
        }
    }
    if per_minute == Some(0) {
        errors.push(FieldError::new("per_minute", "must be greater than 0"));
    }
    match name {
        Some(n) if errors.is_empty() => Ok((n, parsed)),
        _ => Err(errors),
    }
}

async fn create_key(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    body: JsonBody<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let NewKey {
        name,
        scopes,
        per_minute,
    } = body.0;
    let (name, scopes) =
        validate_new_key(&name, &scopes, per_minute).map_err(ApiError::validation)?;
    let secret = tokens::new_api_key();
    let actor = Actor::principal(&principal, client_ip(&req));
    let creator = principal.user_id().map(str::to_owned);
    let s = secret.clone();
    let key = state
        .store
        .writer
        .write(move |conn| {
            let key = auth_store::insert_api_key(
                conn,
                &name,
                &s,
                &scopes,
                per_minute,
                creator.as_deref(),
            )?;
            audit::append(
                conn,
                Entry::new(&actor, "api_key.created")
                    .target("api_key", &key.id)
                    .details(json!({"name": key.name, "scopes": key.scopes})),
            )?;
            Ok(key)
        })
        .await?;
    let mut body = serde_json::to_value(&key).map_err(|e| ApiError::internal(e.to_string()))?;
    body["secret"] = json!(secret);
    Ok(HttpResponse::Created().json(body))
}

async fn revoke_key(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let actor = Actor::principal(&principal, client_ip(&req));
    let found = state
        .store
        .writer
        .write(move |conn| {
            let Some(key) = auth_store::revoke_api_key(conn, &id)? else {
                return Ok(false);
            };
            audit::append(
                conn,
                Entry::new(&actor, "api_key.revoked").target("api_key", &key.id),
            )?;
            Ok(true)
        })
        .await?;
    state.auth.invalidate_keys();
    if found {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}
