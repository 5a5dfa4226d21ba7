//! HTTP handlers: `POST /transactions` (single), `/transactions/batch` (JSON array or
//! NDJSON), `/transactions/import` (CSV), `GET /transactions` and `/transactions/{id}`, and
//! the expense entry points `POST/GET /expenses` (same pipeline, kind `expense`).

use actix_web::dev::Payload;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ingest::{ItemOutcome, ItemResult};
use super::input::Defaults;
use super::parse::{self, CsvItems, Item};
use super::store::{self as tstore, ListFilter};
use crate::app::AppState;
use crate::auth::{Access, Permission, Principal};
use crate::http::error::{ApiError, FieldError};
use crate::http::extract::{has_media_type, read_body, BodyLimits, ListQuery, Page};
use crate::http::routes::ApiRoutes;

/// Items an import sends to the pipeline at once.
const IMPORT_CHUNK: usize = 5_000;

pub fn routes(api: &mut ApiRoutes) {
    let ingest = Access::Permission(Permission::Ingest);
    let read = Access::Permission(Permission::Read);
    api.post("/transactions", ingest, create);
    api.post("/transactions/batch", ingest, batch);
    api.post("/transactions/import", ingest, import);
    api.get("/transactions", read, list);
    api.get("/transactions/{id}", read, get);
    api.post("/expenses", ingest, create_expense);
    api.get("/expenses", read, list_expenses);
}

fn limits(req: &HttpRequest) -> BodyLimits {
    req.app_data::<web::Data<BodyLimits>>()
        .map(|l| **l.clone())
        .unwrap_or_default()
}

async fn single(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
    defaults: Defaults,
) -> Result<HttpResponse, ApiError> {
    if !has_media_type(&req, "application/json") {
        return Err(ApiError::unsupported_media_type(
            "Send the body as application/json.",
        ));
    }
    let mut payload: Payload = payload.into_inner();
    let body = read_body(&req, &mut payload, limits(&req).json).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The body is not valid JSON: {e}.")))?;
    let mut results = state
        .pipeline()
        .ingest(principal.sender(), vec![Ok(value)], defaults)
        .await?;
    let result = results
        .pop()
        .ok_or_else(|| ApiError::internal("no result"))?;
    match result.outcome {
        ItemOutcome::Created(t) => Ok(HttpResponse::Created().json(t.result_json())),
        ItemOutcome::Duplicate(t) => Ok(HttpResponse::Ok().json(t.result_json())),
        ItemOutcome::Conflict => Err(ApiError::conflict(
            "A transaction with this external_id and a different payload already exists.",
        )),
        ItemOutcome::Rejected(errors) => Err(ApiError::validation(errors)),
    }
}

async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    single(state, principal, req, payload, Defaults::default()).await
}

async fn create_expense(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    single(
        state,
        principal,
        req,
        payload,
        Defaults {
            kind: Some("expense"),
        },
    )
    .await
}

/// The summary of a batch or import.
pub fn summary(results: &[ItemResult]) -> Value {
    let (mut accepted, mut duplicates) = (0, 0);
    let mut decisions = [0u64; 3];
    let mut rejected = Vec::new();
    let mut items = Vec::with_capacity(results.len());
    for r in results {
        let (status, stored, error) = match &r.outcome {
            ItemOutcome::Created(t) => {
                accepted += 1;
                ("created", Some(t), None)
            }
            ItemOutcome::Duplicate(t) => {
                duplicates += 1;
                ("duplicate", Some(t), None)
            }
            ItemOutcome::Conflict => (
                "rejected",
                None,
                Some(ApiError::conflict(
                    "A transaction with this external_id and a different payload already exists.",
                )),
            ),
            ItemOutcome::Rejected(errors) => {
                ("rejected", None, Some(ApiError::validation(errors.clone())))
            }
        };
        if let Some(t) = stored {
            let slot = match t.decision.as_str() {
                "allow" => 0,
                "review" => 1,
                _ => 2,
            };
            decisions[slot] += 1;
        }
        if let Some(e) = &error {
            rejected.push(json!({
                "index": r.index,
                "error": {"code": e.code, "message": e.message, "details": e.details},
            }));
        }
        items.push(json!({
            "index": r.index,
            "external_id": r.external_id,
            "id": stored.map(|t| t.id.clone()),
            "status": status,
            "score": stored.map(|t| t.score),
            "decision": stored.map(|t| t.decision.clone()),
            "severity": stored.map(|t| t.severity.clone()),
            "alert_id": stored.and_then(|t| t.alert_id.clone()),
        }));
    }
    json!({
        "accepted": accepted,
        "duplicates": duplicates,
        "rejected": rejected,
        "decisions": {"allow": decisions[0], "review": decisions[1], "block": decisions[2]},
        "items": items,
    })
}

async fn batch(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ndjson = has_media_type(&req, "application/x-ndjson");
    if !ndjson && !has_media_type(&req, "application/json") {
        return Err(ApiError::unsupported_media_type(
            "Send a JSON array as application/json or NDJSON as application/x-ndjson.",
        ));
    }
    let mut payload: Payload = payload.into_inner();
    let body = read_body(&req, &mut payload, limits(&req).batch).await?;
    let items: Vec<Item> = if ndjson {
        parse::ndjson(&body)
    } else {
        let values: Vec<Value> = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Array(a)) => a,
            Ok(_) => {
                return Err(ApiError::invalid(
                    "body",
                    "must be a JSON array of transactions",
                ))
            }
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "The body is not valid JSON: {e}."
                )))
            }
        };
        values.into_iter().map(Ok).collect()
    };
    let max = state.settings.server.max_batch_items;
    if items.len() > max {
        return Err(ApiError::payload_too_large(format!(
            "A batch holds at most {max} items."
        )));
    }
    if items.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "must hold at least one transaction",
        ));
    }
    let results = state
        .pipeline()
        .ingest(principal.sender(), items, Defaults::default())
        .await?;
    Ok(HttpResponse::Ok().json(summary(&results)))
}

async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    if !has_media_type(&req, "text/csv") {
        return Err(ApiError::unsupported_media_type(
            "Send the file as text/csv.",
        ));
    }
    let mut payload: Payload = payload.into_inner();
    let body = read_body(&req, &mut payload, limits(&req).import).await?;
    let mut rows = CsvItems::new(&body[..]).map_err(|m| ApiError::invalid("body", m))?;
    let pipeline = state.pipeline();
    let sender = principal.sender();
    let mut all: Vec<ItemResult> = Vec::new();
    loop {
        let mut chunk = Vec::with_capacity(IMPORT_CHUNK);
        while chunk.len() < IMPORT_CHUNK {
            match rows.next_item() {
                Some((item, _label)) => chunk.push(item),
                None => break,
            }
        }
        if chunk.is_empty() {
            break;
        }
        let base = all.len();
        let results = pipeline
            .ingest(sender.clone(), chunk, Defaults::default())
            .await?;
        all.extend(results.into_iter().map(|mut r| {
            r.index += base;
            r
        }));
    }
    Ok(HttpResponse::Ok().json(summary(&all)))
}

/// Query of the transaction and expense lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnQuery {
    account_id: Option<String>,
    decision: Option<String>,
    min_score: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    kind: Option<String>,
    submitted_by: Option<String>,
    department: Option<String>,
    category: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn time_param(field: &str, v: &Option<String>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let v = v.as_ref()?;
    match chrono::DateTime::parse_from_rfc3339(v) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            errors.push(FieldError::new(field, "must be an RFC 3339 timestamp"));
            None
        }
    }
}

fn short(field: &str, v: &Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let v = v.as_ref()?;
    if v.chars().count() > 200 {
        errors.push(FieldError::new(field, "is too long"));
        None
    } else {
        Some(v.clone())
    }
}

async fn list_with(
    state: web::Data<AppState>,
    q: TxnQuery,
    force_kind: Option<&'static str>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    if let Some(d) = &q.decision {
        if crate::scoring::Decision::parse(d).is_none() {
            errors.push(FieldError::new(
                "decision",
                "must be allow, review or block",
            ));
        }
    }
    if let Some(k) = &q.kind {
        if !super::input::KINDS.contains(&k.as_str()) {
            errors.push(FieldError::new("kind", "is not a transaction kind"));
        }
    }
    if q.min_score.is_some_and(|s| !(0..=100).contains(&s)) {
        errors.push(FieldError::new("min_score", "must be between 0 and 100"));
    }
    let filter = ListFilter {
        account: short("account_id", &q.account_id, &mut errors),
        decision: q.decision.clone(),
        min_score: q.min_score,
        from_ms: time_param("from", &q.from, &mut errors),
        to_ms: time_param("to", &q.to, &mut errors),
        q: short("q", &q.q, &mut errors),
        kind: force_kind.map(str::to_owned).or(q.kind.clone()),
        submitted_by: short("submitted_by", &q.submitted_by, &mut errors),
        department: short("department", &q.department, &mut errors),
        category: short("category", &q.category, &mut errors),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let paging = ListQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = paging.limit()?;
    let after: Option<(i64, String)> = paging.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| tstore::list(conn, &filter, after, limit))
        .await?;
    let views: Vec<(Value, (i64, String))> = rows
        .into_iter()
        .map(|t| (t.view, (t.occurred_ms, t.id)))
        .collect();
    let page = Page::from_rows(views, limit, |(_, pos)| pos.clone());
    Ok(HttpResponse::Ok().json(json!({
        "items": page.items.into_iter().map(|(v, _)| v).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<TxnQuery>,
) -> Result<HttpResponse, ApiError> {
    list_with(state, q.into_inner(), None).await
}

async fn list_expenses(
    state: web::Data<AppState>,
    q: web::Query<TxnQuery>,
) -> Result<HttpResponse, ApiError> {
    list_with(state, q.into_inner(), Some("expense")).await
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    if id.len() > 64 {
        return Err(ApiError::not_found());
    }
    let row = state
        .store
        .read_async(move |conn| tstore::get(conn, &id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(row.view))
}
