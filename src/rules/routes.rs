//! HTTP handlers for rules: list, create, read, update, delete, versions, live validation and
//! backtest over stored history. Every change recompiles the engine's rule cache.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::cel;
use super::set::{Action, RuleDef};
use super::store as rstore;
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Access, Permission, Principal};
use crate::http::envelope::ClientIp;
use crate::http::error::{ApiError, FieldError};
use crate::http::extract::JsonBody;
use crate::http::routes::ApiRoutes;
use crate::store::new_id;

pub fn routes(api: &mut ApiRoutes) {
    let read = Access::Permission(Permission::Read);
    let work = Access::Permission(Permission::Work);
    api.get("/rules", read, list);
    api.post("/rules", work, create);
    api.post("/rules/validate", work, validate);
    api.post("/rules/backtest", work, super::backtest::backtest);
    api.get("/rules/{id}", read, get);
    api.patch("/rules/{id}", work, update);
    api.delete("/rules/{id}", work, delete);
    api.get("/rules/{id}/versions", read, versions);
}

pub(crate) fn actor(p: &Principal, req: &HttpRequest) -> Actor {
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    Actor::principal(p, ip)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    name: String,
    #[serde(default)]
    description: String,
    expression: String,
    score: i64,
    action: String,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePatch {
    name: Option<String>,
    description: Option<String>,
    expression: Option<String>,
    score: Option<i64>,
    action: Option<String>,
    enabled: Option<bool>,
}

/// Checks every field of a rule, naming each bad one; the expression is compiled and dry-run.
fn check(
    name: &str,
    description: &str,
    expression: &str,
    score: i64,
    action: &str,
) -> Result<(u8, Action), ApiError> {
    let mut errors = Vec::new();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        errors.push(FieldError::new(
            "name",
            "must be 1-64 characters of letters, digits, _ - .",
        ));
    }
    if description.chars().count() > 500 {
        errors.push(FieldError::new(
            "description",
            "must be at most 500 characters",
        ));
    }
    let score_ok = u8::try_from(score).ok().filter(|s| *s <= 100);
    if score_ok.is_none() {
        errors.push(FieldError::new("score", "must be between 0 and 100"));
    }
    let parsed_action = Action::parse(action);
    if parsed_action.is_none() {
        errors.push(FieldError::new(
            "action",
            "must be one of flag, review, block, freeze",
        ));
    }
    for e in cel::validate(expression) {
        let at = e.position.map(|p| format!(" (at {p})")).unwrap_or_default();
        errors.push(FieldError::new("expression", format!("{}{at}", e.message)));
    }
    match (score_ok, parsed_action) {
        (Some(s), Some(a)) if errors.is_empty() => Ok((s, a)),
        _ => Err(ApiError::validation(errors)),
    }
}

async fn reload(state: &AppState) -> Result<(), ApiError> {
    let engine = state.engine.clone();
    state
        .store
        .read_async(move |conn| crate::scoring::reload_rules(&engine, conn))
        .await?;
    Ok(())
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rules = state.store.read_async(rstore::all).await?;
    let items: Vec<Value> = rules.iter().map(rstore::StoredRule::to_json).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}

async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    body: JsonBody<NewRule>,
) -> Result<HttpResponse, ApiError> {
    let r = body.0;
    let (score, action) = check(&r.name, &r.description, &r.expression, r.score, &r.action)?;
    let def = RuleDef {
        id: new_id(),
        name: r.name,
        description: r.description,
        expression: r.expression,
        score,
        action,
        enabled: r.enabled,
    };
    let actor = actor(&principal, &req);
    let created = state
        .store
        .writer
        .write(move |conn| {
            if rstore::name_taken(conn, &def.name, "")? {
                return Ok(None);
            }
            rstore::create(conn, &def, false, &actor).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::conflict("A rule with this name already exists."))?;
    reload(&state).await?;
    Ok(HttpResponse::Created().json(created.to_json()))
}

async fn validate(body: JsonBody<ValidateBody>) -> Result<HttpResponse, ApiError> {
    let errors = cel::validate(&body.0.expression);
    Ok(HttpResponse::Ok().json(json!({"valid": errors.is_empty(), "errors": errors})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateBody {
    expression: String,
}

fn bounded_id(id: String) -> Result<String, ApiError> {
    if id.len() > 64 {
        Err(ApiError::not_found())
    } else {
        Ok(id)
    }
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = bounded_id(id.into_inner())?;
    let rule = state
        .store
        .read_async(move |conn| rstore::get(conn, &id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(rule.to_json()))
}

async fn update(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: JsonBody<RulePatch>,
) -> Result<HttpResponse, ApiError> {
    let id = bounded_id(id.into_inner())?;
    let patch = body.0;
    let lookup = id.clone();
    let current = state
        .store
        .read_async(move |conn| rstore::get(conn, &lookup))
        .await?
        .ok_or_else(ApiError::not_found)?
        .def;
    let name = patch.name.unwrap_or(current.name);
    let description = patch.description.unwrap_or(current.description);
    let expression = patch.expression.unwrap_or(current.expression);
    let score = patch.score.unwrap_or(i64::from(current.score));
    let action = patch
        .action
        .unwrap_or_else(|| current.action.as_str().to_owned());
    let (score, action) = check(&name, &description, &expression, score, &action)?;
    let def = RuleDef {
        id,
        name,
        description,
        expression,
        score,
        action,
        enabled: patch.enabled.unwrap_or(current.enabled),
    };
    let actor = actor(&principal, &req);
    let updated = state
        .store
        .writer
        .write(move |conn| {
            if rstore::get(conn, &def.id)?.is_none() {
                return Ok(Err(ApiError::not_found()));
            }
            if rstore::name_taken(conn, &def.name, &def.id)? {
                return Ok(Err(ApiError::conflict(
                    "A rule with this name already exists.",
                )));
            }
            rstore::update(conn, &def, &actor).map(Ok)
        })
        .await??;
    reload(&state).await?;
    Ok(HttpResponse::Ok().json(updated.to_json()))
}

async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = bounded_id(id.into_inner())?;
    let actor = actor(&principal, &req);
    let deleted = state
        .store
        .writer
        .write(move |conn| match rstore::get(conn, &id)? {
            Some(rule) => rstore::delete(conn, &rule, &actor).map(|()| true),
            None => Ok(false),
        })
        .await?;
    if !deleted {
        return Err(ApiError::not_found());
    }
    reload(&state).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn versions(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = bounded_id(id.into_inner())?;
    let items = state
        .store
        .read_async(move |conn| rstore::versions(conn, &id))
        .await?;
    if items.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null})))
}
