//! Webhook endpoints (admin): create (the secret is shown once), list, delete, test ping,
//! deliveries with their attempts, and redelivery. Every change is audited.

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::store::{self, Position};
use super::{signing, target};
use crate::app::AppState;
use crate::audit::{self, Actor, Entry};
use crate::auth::{Access, Permission, Principal};
use crate::events::EVENT_TYPES;
use crate::http::extract::{JsonBody, ListQuery};
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, ClientIp, FieldError, Page};
use crate::store::now_rfc3339;

const ADMIN: Access = Access::Permission(Permission::Admin);

pub fn routes(api: &mut ApiRoutes) {
    api.get("/webhooks", ADMIN, list)
        .post("/webhooks", ADMIN, create)
        .delete("/webhooks/{id}", ADMIN, delete)
        .post("/webhooks/{id}/test", ADMIN, test)
        .get("/webhooks/{id}/deliveries", ADMIN, deliveries)
        .post(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            ADMIN,
            redeliver,
        );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    url: String,
    events: Vec<String>,
}

/// Validates a new endpoint: the URL and a non-empty list of known event types (`*` for all).
fn validate(body: &NewWebhook, allow_private: bool) -> Result<Vec<String>, ApiError> {
    let mut errors = Vec::new();
    if let Err(m) = target::parse_url(body.url.trim(), allow_private) {
        errors.push(FieldError::new("url", m));
    }
    let mut events: Vec<String> = Vec::new();
    if body.events.is_empty() {
        errors.push(FieldError::new(
            "events",
            "must name at least one event type",
        ));
    }
    if body.events.len() > 32 {
        errors.push(FieldError::new(
            "events",
            "must name at most 32 event types",
        ));
    }
    for (i, e) in body.events.iter().enumerate() {
        if e == "stats.tick" {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                "stats.tick is only sent on the live event stream",
            ));
        } else if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                "is not an event type (alert.created, alert.updated, account.frozen, \
                 account.unfrozen, budget.threshold_crossed, backup.completed or *)",
            ));
        } else if !events.contains(e) {
            events.push(e.clone());
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(ApiError::validation(errors))
    }
}

fn actor(req: &HttpRequest, principal: &Principal) -> Actor {
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    Actor::principal(principal, ip)
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: JsonBody<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let events = validate(&body, state.settings.notify.webhooks.allow_private)?;
    let url = body.url.trim().to_owned();
    let secret = signing::new_secret();
    let actor = actor(&req, &principal);
    let stored_secret = secret.clone();
    let hook = state
        .store
        .writer
        .write(move |conn| {
            let hook = store::insert_webhook(conn, &url, &events, &stored_secret, &now_rfc3339())?;
            audit::append(
                conn,
                Entry::new(&actor, "webhook.created")
                    .target("webhook", &hook.id)
                    .details(json!({"url": hook.url, "events": hook.events})),
            )?;
            Ok(hook)
        })
        .await?;
    let mut answer = serde_json::to_value(&hook).unwrap_or_default();
    answer["secret"] = json!(secret);
    Ok(HttpResponse::Created().json(answer))
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let hooks = state.store.read_async(store::list_webhooks).await?;
    Ok(HttpResponse::Ok().json(json!({"items": hooks, "next_cursor": null})))
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
            let deleted = store::delete_webhook(conn, &id)?;
            if deleted {
                audit::append(
                    conn,
                    Entry::new(&actor, "webhook.deleted").target("webhook", &id),
                )?;
            }
            Ok(deleted)
        })
        .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

async fn test(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let queued = state
        .store
        .writer
        .write(move |conn| {
            if store::get_webhook(conn, &id)?.is_none() {
                return Ok(None);
            }
            let now = now_rfc3339();
            let payload = json!({
                "type": "webhook.test",
                "timestamp": now,
                "data": {"webhook_id": id, "message": "A test message from Ledgerguard."},
            })
            .to_string();
            let now_ms = chrono::Utc::now().timestamp_millis();
            store::enqueue(conn, &id, "webhook.test", &payload, &now, now_ms).map(Some)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    state.webhooks.now();
    Ok(HttpResponse::Accepted().json(json!({"delivery_id": queued, "status": "pending"})))
}

async fn deliveries(
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let limit = q.limit()?;
    let before: Option<Position> = q.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| {
            if store::get_webhook(conn, &id)?.is_none() {
                return Ok(None);
            }
            store::deliveries(conn, &id, before.as_ref(), limit).map(Some)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |d| {
        Position(d.created_at.clone(), d.id.clone())
    })))
}

async fn redeliver(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (hook, delivery) = path.into_inner();
    let actor = actor(&req, &principal);
    let found = state
        .store
        .writer
        .write(move |conn| {
            let now = now_rfc3339();
            let now_ms = chrono::Utc::now().timestamp_millis();
            if !store::redeliver(conn, &hook, &delivery, &now, now_ms)? {
                return Ok(None);
            }
            audit::append(
                conn,
                Entry::new(&actor, "webhook.redelivered")
                    .target("webhook", &hook)
                    .details(json!({"delivery_id": delivery})),
            )?;
            store::delivery(conn, &hook, &delivery)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    state.webhooks.now();
    Ok(HttpResponse::Ok().json(found))
}
