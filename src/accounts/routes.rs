//! HTTP handlers: `GET /accounts`, `GET /accounts/{account_id}`,
//! `POST /accounts/{account_id}/freeze` and `/unfreeze` (`{reason}`; 409 when the account is
//! already in that state).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::store as astore;
use crate::app::AppState;
use crate::auth::{Access, Permission, Principal};
use crate::http::error::ApiError;
use crate::http::extract::{JsonBody, ListQuery, Page};
use crate::http::routes::ApiRoutes;
use crate::rules::routes::actor;

pub fn routes(api: &mut ApiRoutes) {
    let read = Access::Permission(Permission::Read);
    let work = Access::Permission(Permission::Work);
    api.get("/accounts", read, list);
    api.get("/accounts/{account_id}", read, get);
    api.post("/accounts/{account_id}/freeze", work, freeze);
    api.post("/accounts/{account_id}/unfreeze", work, unfreeze);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    status: Option<String>,
    q: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<AccountQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    if let Some(s) = &q.status {
        if s != "active" && s != "frozen" {
            return Err(ApiError::invalid("status", "must be active or frozen"));
        }
    }
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 128) {
        return Err(ApiError::invalid("q", "is too long"));
    }
    let paging = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = paging.limit()?;
    let after: Option<String> = paging.decode_cursor()?;
    let (status, search) = (q.status, q.q);
    let rows = state
        .store
        .read_async(move |conn| {
            astore::list(
                conn,
                status.as_deref(),
                search.as_deref(),
                after.as_deref(),
                limit,
            )
        })
        .await?;
    let page = Page::from_rows(rows, limit, |v| {
        v["account_id"].as_str().unwrap_or("").to_owned()
    });
    Ok(HttpResponse::Ok().json(page))
}

fn bounded(account: String) -> Result<String, ApiError> {
    if account.is_empty() || account.chars().count() > 128 {
        Err(ApiError::not_found())
    } else {
        Ok(account)
    }
}

async fn get(
    state: web::Data<AppState>,
    account: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let account = bounded(account.into_inner())?;
    let detail = state
        .store
        .read_async(move |conn| astore::detail(conn, &account))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(detail))
}

fn check_reason(r: &str) -> Result<String, ApiError> {
    let r = r.trim();
    if r.is_empty() || r.chars().count() > 500 || r.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid(
            "reason",
            "must be 1-500 characters without control characters",
        ));
    }
    Ok(r.to_owned())
}

async fn change(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    account: String,
    reason: String,
    freeze: bool,
) -> Result<HttpResponse, ApiError> {
    let account = bounded(account)?;
    let reason = check_reason(&reason)?;
    let actor = actor(&principal, &req);
    let target = account.clone();
    let outcome = state
        .store
        .writer
        .write(move |conn| {
            if astore::get(conn, &target)?.is_none() {
                return Ok(Err(ApiError::not_found()));
            }
            let event = if freeze {
                crate::transactions::ingest::freeze_account(conn, &target, &reason, &actor)?
            } else {
                astore::unfreeze(conn, &target, &reason, &actor)?
            };
            Ok(Ok((event, astore::get(conn, &target)?)))
        })
        .await??;
    let (event, acc) = outcome;
    let Some(event) = event else {
        return Err(ApiError::conflict(if freeze {
            "The account is already frozen."
        } else {
            "The account is not frozen."
        }));
    };
    state.events.publish_event(event);
    state.engine.set_frozen(&account, freeze);
    Ok(HttpResponse::Ok().json(acc))
}

async fn freeze(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    account: web::Path<String>,
    body: JsonBody<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    change(
        state,
        principal,
        req,
        account.into_inner(),
        body.0.reason,
        true,
    )
    .await
}

async fn unfreeze(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    account: web::Path<String>,
    body: JsonBody<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    change(
        state,
        principal,
        req,
        account.into_inner(),
        body.0.reason,
        false,
    )
    .await
}
