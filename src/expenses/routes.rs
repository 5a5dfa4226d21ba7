//! Expense endpoints owned here: `POST /api/v1/categorize`, `POST
//! /api/v1/categorize/corrections` and `GET /api/v1/expenses/summary` (ingestion and listing
//! of expenses live with transactions).

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::categorize::{self, CATEGORIES, MODEL_VERSION};
use super::summary;
use crate::app::AppState;
use crate::audit::{self, Actor, Entry};
use crate::auth::{Access, Permission, Principal};
use crate::http::error::FieldError;
use crate::http::extract::JsonBody;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, ClientIp};

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Longest merchant accepted, in characters.
pub const MAX_MERCHANT_CHARS: usize = 200;

pub fn routes(api: &mut ApiRoutes) {
    api.post(
        "/categorize",
        Access::Permission(Permission::Categorize),
        categorize_expense,
    );
    api.post(
        "/categorize/corrections",
        Access::Permission(Permission::Work),
        correct,
    );
    api.get(
        "/expenses/summary",
        Access::Permission(Permission::Read),
        summary::summary,
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorizeRequest {
    pub description: String,
    #[serde(default)]
    pub merchant: Option<String>,
    /// The merchant category code (4 digits), when known.
    #[serde(default)]
    pub merchant_category: Option<String>,
}

fn check_text(field: &str, value: &str, max: usize, required: bool, errors: &mut Vec<FieldError>) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

fn check_mcc(mcc: Option<&str>, errors: &mut Vec<FieldError>) {
    if let Some(m) = mcc {
        if m.len() != 4 || !m.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("merchant_category", "must be 4 digits"));
        }
    }
}

async fn categorize_expense(
    state: web::Data<AppState>,
    body: JsonBody<CategorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.0;
    let mut errors = Vec::new();
    check_text(
        "description",
        &req.description,
        MAX_DESCRIPTION_CHARS,
        true,
        &mut errors,
    );
    if let Some(m) = &req.merchant {
        check_text("merchant", m, MAX_MERCHANT_CHARS, false, &mut errors);
    }
    check_mcc(req.merchant_category.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let p = state.categorizer.predict(
        &req.description,
        req.merchant.as_deref(),
        req.merchant_category.as_deref(),
    );
    Ok(HttpResponse::Ok().json(json!({
        "category": p.category,
        "confidence": p.confidence,
        "alternatives": p.alternatives,
        "model_version": MODEL_VERSION,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub description: String,
    #[serde(default)]
    pub merchant: Option<String>,
    pub category: String,
}

/// Records an analyst's correction and retrains the categoriser with it.
async fn correct(
    state: web::Data<AppState>,
    req: HttpRequest,
    principal: Principal,
    body: JsonBody<CorrectionRequest>,
) -> Result<HttpResponse, ApiError> {
    let c = body.0;
    let mut errors = Vec::new();
    check_text(
        "description",
        &c.description,
        MAX_DESCRIPTION_CHARS,
        true,
        &mut errors,
    );
    if let Some(m) = &c.merchant {
        check_text("merchant", m, MAX_MERCHANT_CHARS, false, &mut errors);
    }
    if !CATEGORIES.contains(&c.category.as_str()) {
        errors.push(FieldError::new(
            "category",
            format!("must be one of: {}", CATEGORIES.join(", ")),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    let actor = Actor::principal(&principal, ip);
    let (stored, all) = state
        .store
        .writer
        .write(move |conn| {
            let merchant = c
                .merchant
                .as_deref()
                .map(str::trim)
                .filter(|m| !m.is_empty());
            let stored =
                categorize::record_correction(conn, c.description.trim(), merchant, &c.category)?;
            audit::append(
                conn,
                Entry::new(&actor, "category.corrected")
                    .target("category_correction", &stored.id)
                    .details(json!({"category": stored.category})),
            )?;
            Ok((stored, categorize::load_corrections(conn)?))
        })
        .await?;
    let categorizer = state.categorizer.clone();
    web::block(move || categorizer.retrain(&all)).await?;
    Ok(HttpResponse::Created().json(stored))
}
