//! `POST /api/v1/labels`: a JSON array or NDJSON of up to `server.max_batch_items` labels.
//! Every item is validated first; one invalid item refuses the batch (422 naming each bad
//! field by index) so a half-applied chargeback file never happens.

use actix_web::dev::Payload;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{apply_batch, Label, Outcome, Scope, Source};
use crate::app::AppState;
use crate::auth::{Access, Permission, Principal};
use crate::http::error::FieldError;
use crate::http::extract::{has_media_type, read_body};
use crate::http::routes::ApiRoutes;
use crate::http::ApiError;
use crate::store::now_rfc3339;

/// Longest `external_id`, as for transactions.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

pub fn routes(api: &mut ApiRoutes) {
    api.post(
        "/labels",
        Access::Permission(Permission::Label),
        post_labels,
    );
}

/// Splits the body into items: a JSON array, or one JSON object per NDJSON line.
fn items(req: &HttpRequest, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    if has_media_type(req, "application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => Ok(items),
            Ok(_) => Err(ApiError::invalid("body", "must be a JSON array of labels")),
            Err(e) => Err(ApiError::bad_request(format!(
                "The body is not valid JSON: {e}."
            ))),
        }
    } else if has_media_type(req, "application/x-ndjson") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("The body is not UTF-8."))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    ApiError::bad_request(format!("Line {} is not valid JSON: {e}.", i + 1))
                })
            })
            .collect()
    } else {
        Err(ApiError::unsupported_media_type(
            "Send labels as application/json (an array) or application/x-ndjson.",
        ))
    }
}

/// Validates one item, appending its problems to `errors`.
fn parse_item(
    i: usize,
    v: &Value,
    default_source: Source,
    now: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Label> {
    let field = |name: &str| format!("[{i}].{name}");
    let Some(obj) = v.as_object() else {
        errors.push(FieldError::new(format!("[{i}]"), "must be an object"));
        return None;
    };
    let before = errors.len();
    for key in obj.keys() {
        if !["external_id", "outcome", "source", "reported_at"].contains(&key.as_str()) {
            errors.push(FieldError::new(field(key), "is not a known field"));
        }
    }
    let external_id = match obj.get("external_id").and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_EXTERNAL_ID_CHARS => {
            s.to_owned()
        }
        Some(_) => {
            errors.push(FieldError::new(
                field("external_id"),
                format!("must be 1 to {MAX_EXTERNAL_ID_CHARS} characters"),
            ));
            String::new()
        }
        None => {
            errors.push(FieldError::new(
                field("external_id"),
                "is required and must be a string",
            ));
            String::new()
        }
    };
    let outcome = obj
        .get("outcome")
        .and_then(Value::as_str)
        .and_then(Outcome::parse);
    if outcome.is_none() {
        errors.push(FieldError::new(
            field("outcome"),
            "must be \"fraud\" or \"legitimate\"",
        ));
    }
    let source = match obj.get("source") {
        None | Some(Value::Null) => Some(default_source),
        Some(v) => {
            let s = v
                .as_str()
                .and_then(|s| serde_json::from_value::<Source>(Value::String(s.into())).ok());
            if s.is_none() {
                errors.push(FieldError::new(
                    field("source"),
                    "must be chargeback, customer_report, analyst or import",
                ));
            }
            s
        }
    };
    let labelled_at = match obj.get("reported_at") {
        None | Some(Value::Null) => Some(now.to_owned()),
        Some(v) => {
            let t = v
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|t| {
                    t.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                });
            if t.is_none() {
                errors.push(FieldError::new(
                    field("reported_at"),
                    "must be an RFC 3339 timestamp",
                ));
            }
            t
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(Label {
        external_id,
        outcome: outcome?,
        source: source?,
        labelled_at: labelled_at?,
    })
}

async fn post_labels(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut payload: Payload = payload.into_inner();
    let limit = state.settings.server.batch_limit_bytes;
    let body = read_body(&req, &mut payload, limit).await?;
    let items = items(&req, &body)?;
    let max = state.settings.server.max_batch_items;
    if items.len() > max {
        return Err(ApiError::payload_too_large(format!(
            "A batch holds at most {max} labels; this one has {}.",
            items.len()
        )));
    }
    let now = now_rfc3339();
    let default_source = Source::default_for(&principal);
    let mut errors = Vec::new();
    let labels: Vec<Label> = items
        .iter()
        .enumerate()
        .filter_map(|(i, v)| parse_item(i, v, default_source, &now, &mut errors))
        .collect();
    if !errors.is_empty() {
        errors.truncate(100);
        return Err(ApiError::validation(errors));
    }
    let scope = Scope::for_principal(&principal);
    let result = state
        .store
        .writer
        .write(move |conn| apply_batch(conn, &scope, &labels))
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
