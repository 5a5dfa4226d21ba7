//! Alert handlers: parse, call the case workflow in one write job, publish the event after the
//! commit, answer.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::cases::{self, CaseError, Change};
use super::domain::{AlertPatch, NewComment, Resolve, Severity, Status};
use super::store::{self, Filter, Position};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Access, Permission, Principal};
use crate::http::extract::{JsonBody, ListQuery};
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, ClientIp, Page};
use crate::metrics;

pub fn routes(api: &mut ApiRoutes) {
    api.get("/alerts", Access::Permission(Permission::Read), list)
        .get("/alerts/{id}", Access::Permission(Permission::Read), detail)
        .patch("/alerts/{id}", Access::Permission(Permission::Work), patch)
        .post(
            "/alerts/{id}/comments",
            Access::Permission(Permission::Work),
            comment,
        )
        .post(
            "/alerts/{id}/resolve",
            Access::Permission(Permission::Work),
            resolve,
        );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    status: Option<String>,
    severity: Option<String>,
    assignee: Option<String>,
    account_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Parses a comma-separated filter of closed-set values; 400 naming the bad one.
fn parse_set<T>(
    field: &str,
    raw: &Option<String>,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(|v| {
            parse(v.trim())
                .ok_or_else(|| ApiError::bad_request(format!("`{field}` has an unknown value.")))
        })
        .collect()
}

/// An RFC 3339 bound, normalised to the stored form (UTC, milliseconds) so text order is
/// time order.
pub fn time_bound(field: &str, raw: &Option<String>) -> Result<Option<String>, ApiError> {
    raw.as_deref()
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                })
                .map_err(|_| {
                    ApiError::bad_request(format!("`{field}` must be an RFC 3339 timestamp."))
                })
        })
        .transpose()
}

async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    q: web::Query<AlertQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let after: Option<Position> = page.decode_cursor()?;
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some("me") => Some(Some(principal.id().to_owned())),
        Some(id) if !id.is_empty() && id.len() <= 64 => Some(Some(id.to_owned())),
        Some(_) => return Err(ApiError::bad_request("`assignee` is not a user id.")),
    };
    if let Some(k) = &q.kind {
        if k != "transaction" && k != "budget" {
            return Err(ApiError::bad_request(
                "`type` must be `transaction` or `budget`.",
            ));
        }
    }
    if q.account_id.as_ref().is_some_and(|a| a.len() > 256) {
        return Err(ApiError::bad_request("`account_id` is too long."));
    }
    let filter = Filter {
        statuses: parse_set("status", &q.status, Status::parse)?,
        severities: parse_set("severity", &q.severity, Severity::parse)?,
        assignee,
        account_id: q.account_id,
        kind: q.kind,
        from: time_bound("from", &q.from)?,
        to: time_bound("to", &q.to)?,
    };
    let rows = state
        .store
        .read_async(move |conn| store::list(conn, &filter, after.as_ref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, Position::of)))
}

async fn detail(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state
        .store
        .read_async(move |conn| store::detail(conn, &id))
        .await?;
    match found {
        Some(d) => Ok(HttpResponse::Ok().json(d)),
        None => Err(ApiError::not_found()),
    }
}

fn actor(req: &HttpRequest, principal: &Principal) -> Actor {
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    Actor::principal(principal, ip)
}

fn case_error(e: CaseError) -> ApiError {
    match e {
        CaseError::NotFound => ApiError::not_found(),
        CaseError::Transition(t) => ApiError::conflict(format!("{}.", capitalise(&t.to_string()))),
        CaseError::Assignee(m) => ApiError::invalid("assignee_id", m),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Publishes the committed change and keeps the open-alerts gauge right.
fn committed(state: &AppState, change: Change) -> HttpResponse {
    if change.left_open {
        metrics::global()
            .alerts_open
            .with_label_values(&[change.alert.severity.as_str()])
            .dec();
    }
    if let Some(event) = change.event {
        state.events.publish_event(event);
    }
    HttpResponse::Ok().json(change.alert)
}

async fn patch(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody<AlertPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.0;
    patch.validate().map_err(ApiError::validation)?;
    let actor = actor(&req, &principal);
    let id = id.into_inner();
    let change = state
        .store
        .writer
        .write(move |conn| cases::patch(conn, &id, &patch, &actor))
        .await?
        .map_err(case_error)?;
    Ok(committed(&state, change))
}

async fn comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody<NewComment>,
) -> Result<HttpResponse, ApiError> {
    let text = body.0.validated().map_err(ApiError::validation)?;
    let actor = actor(&req, &principal);
    let id = id.into_inner();
    let (comment, event) = state
        .store
        .writer
        .write(move |conn| cases::comment(conn, &id, &text, &actor))
        .await?
        .map_err(case_error)?;
    state.events.publish_event(event);
    Ok(HttpResponse::Created().json(comment))
}

async fn resolve(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    id: web::Path<String>,
    body: JsonBody<Resolve>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let note = request.validated_note().map_err(ApiError::validation)?;
    let actor = actor(&req, &principal);
    let id = id.into_inner();
    let change = state
        .store
        .writer
        .write(move |conn| cases::resolve(conn, &id, &request, note.as_deref(), &actor))
        .await?
        .map_err(case_error)?;
    Ok(committed(&state, change))
}
