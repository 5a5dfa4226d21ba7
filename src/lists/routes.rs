//! HTTP handlers for lists: `GET/POST /lists`, `GET /lists/{id}`, `POST /lists/{id}/items`,
//! `DELETE /lists/{id}/items/{value}`. Every change reloads the engine's list set.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::set::{normalise, KINDS, MODES};
use super::store as lstore;
use crate::app::AppState;
use crate::auth::{Access, Permission, Principal};
use crate::http::error::{ApiError, FieldError};
use crate::http::extract::{JsonBody, ListQuery, Page};
use crate::http::routes::ApiRoutes;
use crate::rules::routes::actor;
use crate::store::new_id;

pub fn routes(api: &mut ApiRoutes) {
    let read = Access::Permission(Permission::Read);
    let work = Access::Permission(Permission::Work);
    api.get("/lists", read, list);
    api.post("/lists", work, create);
    api.get("/lists/{id}", read, get);
    api.post("/lists/{id}/items", work, add_item);
    api.delete("/lists/{id}/items/{value}", work, remove_item);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    name: String,
    kind: String,
    mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    value: String,
}

async fn reload(state: &AppState) -> Result<(), ApiError> {
    let set = state.store.read_async(lstore::load).await?;
    state.engine.set_lists(set);
    Ok(())
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after: Option<String> = q.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| lstore::all(conn, after.as_deref(), limit))
        .await?;
    let page = Page::from_rows(rows, limit, |v| v["name"].as_str().unwrap_or("").to_owned());
    Ok(HttpResponse::Ok().json(page))
}

async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    body: JsonBody<NewList>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let mut errors = Vec::new();
    let name_ok = !b.name.is_empty()
        && b.name.len() <= 64
        && b.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        errors.push(FieldError::new(
            "name",
            "must be 1-64 characters of letters, digits, _ - .",
        ));
    }
    if !KINDS.contains(&b.kind.as_str()) {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", KINDS.join(", ")),
        ));
    }
    if !MODES.contains(&b.mode.as_str()) {
        errors.push(FieldError::new("mode", "must be block or allow"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let actor = actor(&principal, &req);
    let id = new_id();
    let created = state
        .store
        .writer
        .write(move |conn| {
            if lstore::name_taken(conn, &b.name)? {
                return Ok(None);
            }
            lstore::create(conn, &id, &b.name, &b.kind, &b.mode, &actor).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::conflict("A list with this name already exists."))?;
    reload(&state).await?;
    Ok(HttpResponse::Created().json(created))
}

fn bounded(id: String) -> Result<String, ApiError> {
    if id.len() > 64 {
        Err(ApiError::not_found())
    } else {
        Ok(id)
    }
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = bounded(id.into_inner())?;
    let list = state
        .store
        .read_async(move |conn| lstore::get(conn, &id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(list))
}

async fn add_item(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    id: web::Path<String>,
    body: JsonBody<NewItem>,
) -> Result<HttpResponse, ApiError> {
    let id = bounded(id.into_inner())?;
    let raw = body.0.value;
    if raw.trim().is_empty() || raw.chars().count() > 256 || raw.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "value",
            "must be 1-256 characters without control characters",
        ));
    }
    let actor = actor(&principal, &req);
    let lookup = id.clone();
    let kind = state
        .store
        .read_async(move |conn| lstore::kind_of(conn, &lookup))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let value = normalise(&kind, &raw);
    let stored = value.clone();
    let added = state
        .store
        .writer
        .write(move |conn| lstore::add_item(conn, &id, &stored, &actor))
        .await?;
    reload(&state).await?;
    let status = if added {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(json!({"value": value, "added": added})))
}

async fn remove_item(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, raw) = path.into_inner();
    let id = bounded(id)?;
    let actor = actor(&principal, &req);
    let lookup = id.clone();
    let kind = state
        .store
        .read_async(move |conn| lstore::kind_of(conn, &lookup))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let value = normalise(&kind, &raw);
    let removed = state
        .store
        .writer
        .write(move |conn| lstore::remove_item(conn, &id, &value, &actor))
        .await?;
    if !removed {
        return Err(ApiError::not_found());
    }
    reload(&state).await?;
    Ok(HttpResponse::NoContent().finish())
}
