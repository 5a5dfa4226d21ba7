//! `POST /api/v1/analyze`: parse and validate, analyse, answer.

use actix_web::HttpResponse;
use serde::Deserialize;

use super::{analyze, Channel};
use crate::auth::{Access, Permission};
use crate::http::error::FieldError;
use crate::http::extract::JsonBody;
use crate::http::routes::ApiRoutes;
use crate::http::ApiError;

/// Longest message analysed, in characters.
pub const MAX_MESSAGE_CHARS: usize = 20_000;
/// Longest sender (an address or phone number), in characters.
pub const MAX_SENDER_CHARS: usize = 320;

pub fn routes(api: &mut ApiRoutes) {
    api.post(
        "/analyze",
        Access::Permission(Permission::Analyze),
        analyze_message,
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest {
    pub message_content: String,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
}

impl AnalyzeRequest {
    fn validate(&self) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        let chars = self.message_content.chars().count();
        if self.message_content.trim().is_empty() {
            errors.push(FieldError::new("message_content", "must not be empty"));
        } else if chars > MAX_MESSAGE_CHARS {
            errors.push(FieldError::new(
                "message_content",
                format!("must be at most {MAX_MESSAGE_CHARS} characters"),
            ));
        }
        if let Some(s) = &self.sender {
            if s.chars().count() > MAX_SENDER_CHARS {
                errors.push(FieldError::new(
                    "sender",
                    format!("must be at most {MAX_SENDER_CHARS} characters"),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

async fn analyze_message(body: JsonBody<AnalyzeRequest>) -> Result<HttpResponse, ApiError> {
    let req = body.0;
    req.validate()?;
    let analysis = actix_web::web::block(move || {
        analyze(&req.message_content, req.sender.as_deref(), req.channel)
    })
    .await?;
    Ok(HttpResponse::Ok().json(analysis))
}
