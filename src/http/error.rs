//! The one place that picks HTTP status codes and writes the spec's error body.
//!
//! Which error goes where:
//! - Feature code returns its own `thiserror` enum (or [`crate::store::StoreError`]) and
//!   converts it into [`ApiError`] with `From`, choosing the status there.
//! - Handlers return `Result<_, ApiError>`. Build user-facing errors with the constructors
//!   below (`ApiError::not_found()`, `ApiError::validation(details)`, …).
//! - What the user reads (`message`, `details`) is separate from what the log gets
//!   (`internal`): causes, SQL and paths never reach a response.
//! - The envelope middleware renders every error response, actix's own included, so the
//!   body always has this shape and carries the request id.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One invalid field.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error answered to an API client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldError>,
    /// Extra headers (e.g. `Retry-After`).
    pub headers: Vec<(&'static str, String)>,
    /// For the log only.
    pub internal: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
            internal: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication is required or the credentials are invalid.",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You are not allowed to do this.",
        )
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }
    /// 422 listing every bad field.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.len() {
            1 => format!(
                "The field `{}` is invalid: {}.",
                details[0].field, details[0].message
            ),
            n => format!("{n} fields are invalid."),
        };
        Self {
            details,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            )
        }
    }
    /// 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }
    pub fn rate_limited(retry_after_s: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests; slow down.",
        )
        .with_header("Retry-After", retry_after_s.max(1).to_string())
    }
    pub fn too_many_attempts(retry_after_s: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many attempts; try again later.",
        )
        .with_header("Retry-After", retry_after_s.max(1).to_string())
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
    /// 500: the detail goes to the log with the request id, the body says only that.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self {
            internal: Some(detail.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "An internal error occurred.",
            )
        }
    }
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// The standard error for a status that no handler described (actix's own errors).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::bad_request("The request is malformed."),
            401 => Self::unauthorized(),
            403 => Self::forbidden(),
            404 => Self::not_found(),
            405 => Self::new(
                status,
                "method_not_allowed",
                "This method is not allowed here.",
            ),
            408 => Self::new(
                status,
                "request_timeout",
                "The request took too long to arrive.",
            ),
            409 => Self::conflict("The request conflicts with the current state."),
            413 => Self::payload_too_large("The request body is too large."),
            415 => Self::unsupported_media_type("Send the body as application/json."),
            422 => Self::validation(Vec::new()),
            429 => Self::new(status, "rate_limited", "Too many requests; slow down."),
            503 => Self::unavailable("The service is not ready; try again shortly."),
            s if s >= 500 => Self::internal(format!("unhandled status {s}")),
            _ => Self::bad_request("The request could not be handled."),
        }
    }

    /// The JSON body for this error.
    pub fn body(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "request_id": request_id,
            }
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )?;
        if let Some(i) = &self.internal {
            write!(f, " ({i})")?;
        }
        Ok(())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The envelope middleware replaces this body with one carrying the request id; the
    /// error itself rides along in the response extensions.
    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        for (name, value) in &self.headers {
            builder.insert_header((*name, value.as_str()));
        }
        let mut response = builder.json(self.body(""));
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::WriterGone => {
                ApiError::unavailable("The service is shutting down.")
            }
            crate::store::StoreError::Pool(_) => {
                ApiError::unavailable("The database is busy; try again.")
            }
            crate::store::StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if f.code == rusqlite::ErrorCode::DiskFull =>
            {
                tracing::error!("the database is out of space: nothing was stored");
                ApiError::unavailable(
                    "The database is out of space; nothing was stored. Retry once space is freed.",
                )
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(format!("blocking task failed: {e}"))
    }
}
