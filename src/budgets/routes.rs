//! Budget endpoints: `GET/POST /api/v1/budgets`, `GET/PATCH/DELETE /api/v1/budgets/{id}`.
//! Reads are viewer-level; changes are analyst work and are audited.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{json, Value};

use super::domain::{Budget, CreateBudget, UpdateBudget, Usage};
use super::{period, store, usage};
use crate::app::AppState;
use crate::audit::{self, Actor, Entry};
use crate::auth::{Access, Permission, Principal};
use crate::http::extract::{JsonBody, ListQuery};
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, ClientIp, Page};
use crate::money;

pub fn routes(api: &mut ApiRoutes) {
    api.get("/budgets", Access::Permission(Permission::Read), list);
    api.post("/budgets", Access::Permission(Permission::Work), create);
    api.get("/budgets/{id}", Access::Permission(Permission::Read), get);
    api.patch(
        "/budgets/{id}",
        Access::Permission(Permission::Work),
        update,
    );
    api.delete(
        "/budgets/{id}",
        Access::Permission(Permission::Work),
        delete,
    );
}

/// A budget as answered: its fields plus the current period's usage.
pub fn budget_json(b: &Budget, u: &Usage) -> Value {
    json!({
        "id": b.id,
        "name": b.name,
        "category": b.category,
        "department": b.department,
        "period": b.period.as_str(),
        "limit": money::format_code(b.limit_minor, &b.currency),
        "currency": b.currency,
        "thresholds": b.thresholds,
        "period_key": u.period_key,
        "period_start": u.period_start,
        "period_end": u.period_end,
        "spent": money::format_code(u.spent_minor, &b.currency),
        "remaining": money::format_code(u.remaining_minor, &b.currency),
        "projected": money::format_code(u.projected_minor, &b.currency),
        "created_at": b.created_at,
        "updated_at": b.updated_at,
    })
}

fn actor(req: &HttpRequest, p: &Principal) -> Actor {
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    Actor::principal(p, ip)
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let after: Option<String> = q.decode_cursor()?;
    let tz = period::timezone(&state.settings.expenses.timezone);
    let rows = state
        .store
        .read_async(move |conn| {
            let now = Utc::now();
            store::list(conn, after.as_deref(), limit + 1)?
                .into_iter()
                .map(|b| Ok(budget_json(&b, &usage(conn, &b, now, tz)?)))
                .collect::<Result<Vec<_>, crate::store::StoreError>>()
        })
        .await?;
    let page = Page::from_rows(rows, limit, |b| b["id"].as_str().unwrap_or("").to_owned());
    Ok(HttpResponse::Ok().json(page))
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: JsonBody<CreateBudget>,
) -> Result<HttpResponse, ApiError> {
    let fields = body.0.validate().map_err(ApiError::validation)?;
    let actor = actor(&req, &principal);
    let tz = period::timezone(&state.settings.expenses.timezone);
    let (b, u) = state
        .store
        .writer
        .write(move |conn| {
            let b = store::insert(conn, &fields)?;
            audit::append(
                conn,
                Entry::new(&actor, "budget.created")
                    .target("budget", &b.id)
                    .details(json!({"name": b.name, "period": b.period.as_str(),
                        "limit_minor": b.limit_minor, "currency": b.currency})),
            )?;
            let u = usage(conn, &b, Utc::now(), tz)?;
            Ok((b, u))
        })
        .await?;
    Ok(HttpResponse::Created().json(budget_json(&b, &u)))
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let tz = period::timezone(&state.settings.expenses.timezone);
    let found = state
        .store
        .read_async(move |conn| match store::get(conn, &id)? {
            Some(b) => Ok(Some((usage(conn, &b, Utc::now(), tz)?, b))),
            None => Ok(None),
        })
        .await?;
    let (u, b) = found.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(budget_json(&b, &u)))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateBudget>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.0;
    let actor = actor(&req, &principal);
    let tz = period::timezone(&state.settings.expenses.timezone);
    let result = state
        .store
        .writer
        .write(move |conn| {
            let Some(current) = store::get(conn, &id)? else {
                return Ok(Err(ApiError::not_found()));
            };
            let fields = match patch.apply(&current) {
                Ok(f) => f,
                Err(errors) => return Ok(Err(ApiError::validation(errors))),
            };
            let Some(b) = store::update(conn, &id, &fields)? else {
                return Ok(Err(ApiError::not_found()));
            };
            audit::append(
                conn,
                Entry::new(&actor, "budget.updated")
                    .target("budget", &b.id)
                    .details(json!({
                        "before": {"name": current.name, "category": current.category,
                            "department": current.department, "period": current.period.as_str(),
                            "limit_minor": current.limit_minor, "currency": current.currency,
                            "thresholds": current.thresholds},
                        "after": {"name": b.name, "category": b.category,
                            "department": b.department, "period": b.period.as_str(),
                            "limit_minor": b.limit_minor, "currency": b.currency,
                            "thresholds": b.thresholds},
                    })),
            )?;
            let u = usage(conn, &b, Utc::now(), tz)?;
            Ok(Ok((b, u)))
        })
        .await??;
    let (b, u) = result;
    Ok(HttpResponse::Ok().json(budget_json(&b, &u)))
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let actor = actor(&req, &principal);
    let deleted = state
        .store
        .writer
        .write(move |conn| {
            let Some(b) = store::get(conn, &id)? else {
                return Ok(false);
            };
            store::delete(conn, &id)?;
            audit::append(
                conn,
                Entry::new(&actor, "budget.deleted")
                    .target("budget", &b.id)
                    .details(json!({"name": b.name})),
            )?;
            Ok(true)
        })
        .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}
