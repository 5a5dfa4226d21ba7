//! Request extractors with errors in the spec's shape: JSON bodies (415 for a wrong content
//! type, 413 over the limit, 400 for malformed JSON, 422 naming the field for wrong types or
//! unknown fields) and list pagination.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, FieldError};

/// Body size limits, shared through app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub json: usize,
    pub batch: usize,
    pub import: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            json: 256 * 1024,
            batch: 16 * 1024 * 1024,
            import: 64 * 1024 * 1024,
        }
    }
}

/// True when the request's media type is `expected` (parameters such as charset allowed).
pub fn has_media_type(req: &HttpRequest, expected: &str) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(expected)
        })
        .unwrap_or(false)
}

/// Reads the whole body up to `limit` bytes; 413 beyond it (checked against
/// `Content-Length` first, then while streaming).
pub async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let too_large =
        || ApiError::payload_too_large(format!("The request body is larger than {limit} bytes."));
    if let Some(len) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("The request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Parses JSON into `T`: 400 for malformed JSON, 422 naming the field for anything else.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::bad_request(format!("The body is not valid JSON: {inner}."))
            }
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let field = if path == "." || path.is_empty() {
                    unknown_or_missing_field(&message).unwrap_or_else(|| "body".into())
                } else {
                    path
                };
                ApiError::validation(vec![FieldError::new(field, message)])
            }
        }
    })
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn unknown_or_missing_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        Some(message[start..end].to_owned())
    } else {
        None
    }
}

/// A JSON request body (`application/json`, within the configured JSON limit).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !has_media_type(&req, "application/json") {
                return Err(ApiError::unsupported_media_type(
                    "Send the body as application/json.",
                ));
            }
            let limit = req
                .app_data::<web::Data<BodyLimits>>()
                .map(|l| l.json)
                .unwrap_or(256 * 1024);
            let bytes = read_body(&req, &mut payload, limit).await?;
            Ok(JsonBody(parse_json(&bytes)?))
        })
    }
}

/// `?limit=&cursor=` of every list endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

impl ListQuery {
    /// The page size: default 50, at most 500; 0 is refused.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(0) => Err(ApiError::bad_request("`limit` must be between 1 and 500.")),
            Some(n) => Ok(n.min(500) as usize),
        }
    }

    /// The decoded cursor, if any; a cursor that does not decode is 400.
    pub fn decode_cursor<C: DeserializeOwned>(&self) -> Result<Option<C>, ApiError> {
        match &self.cursor {
            None => Ok(None),
            Some(c) if c.is_empty() => Ok(None),
            Some(c) => decode_cursor(c).map(Some),
        }
    }
}

/// Encodes a position as an opaque cursor.
pub fn encode_cursor<C: Serialize>(position: &C) -> String {
    let json = serde_json::to_vec(position).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor<C: DeserializeOwned>(cursor: &str) -> Result<C, ApiError> {
    let bad = || ApiError::bad_request("`cursor` is not a cursor this server issued.");
    if cursor.len() > 1024 {
        return Err(bad());
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: Serialize> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only proves there is more.
    pub fn from_rows<C: Serialize>(
        mut rows: Vec<T>,
        limit: usize,
        position: impl Fn(&T) -> C,
    ) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&position(r)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    #[test]
    fn malformed_json_is_bad_request() {
        let e = parse_json::<Sample>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = parse_json::<Sample>(br#"{"name":"x","count":"many"}"#).unwrap_err();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.details[0].field, "count");
    }

    #[test]
    fn unknown_and_missing_fields_are_named() {
        let e = parse_json::<Sample>(br#"{"name":"x","count":1,"evil":true}"#).unwrap_err();
        assert_eq!(e.details[0].field, "evil");
        let e = parse_json::<Sample>(br#"{"name":"x"}"#).unwrap_err();
        assert_eq!(e.details[0].field, "count");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor(&("2026-01-01", "id-1"));
        let back: (String, String) = decode_cursor(&c).unwrap();
        assert_eq!(back.1, "id-1");
        assert!(decode_cursor::<(String, String)>("!!!").is_err());
        assert!(decode_cursor::<(String, String)>("eyJ4IjoxfQ").is_err());
    }
}
