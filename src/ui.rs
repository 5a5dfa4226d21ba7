//! The analyst web UI's static files (`assets/`, except `assets/docs/`, which the API docs
//! page owns), embedded with rust-embed in release builds and read from disk in debug builds.
//!
//! Caching: every file is served under `/static/<version>/…`, where the version is a digest
//! of all embedded files, so those URLs are immutable and cached for a year; `index.html`
//! (served for every client-side route) names the current version and is `no-cache`, so a
//! new binary is picked up on the next load. ES modules import each other relatively and so
//! inherit the versioned prefix without a build step. Every answer carries a strong ETag and
//! honours `If-None-Match`; text files over 1 KiB are gzipped once and kept compressed.
//!
//! This module does not own the API, health or metrics paths: the fallback leaves `/api`,
//! `/health`, `/metrics` and unknown `/static` files to the default (404) service.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::http::ApiError;

#[derive(RustEmbed)]
#[folder = "assets/"]
#[exclude = "docs/*"]
struct Assets;

/// Where the versioned static files live.
const STATIC_PREFIX: &str = "/static";
/// The placeholder in `index.html` replaced by `/static/<version>`.
const STATIC_PLACEHOLDER: &str = "__STATIC__";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";
/// Smaller files are not worth a gzip round.
const GZIP_MIN_BYTES: usize = 1024;

/// Registers the static files and the client-side route fallback. Mount before the default
/// service.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let get_or_head = || guard::Any(guard::Get()).or(guard::Head());
    cfg.service(
        web::resource(format!("{STATIC_PREFIX}/{{version}}/{{path:.*}}"))
            .guard(get_or_head())
            .to(static_file),
    )
    .service(
        web::resource("/{tail:.*}")
            .guard(get_or_head())
            .guard(guard::fn_guard(|ctx| {
                is_client_route(ctx.head().uri.path())
            }))
            .to(index),
    );
}

/// Paths the UI answers with `index.html`: everything but the API, health, metrics and the
/// static files themselves.
pub fn is_client_route(path: &str) -> bool {
    const RESERVED: [&str; 4] = ["/api", "/health", "/metrics", STATIC_PREFIX];
    !RESERVED.iter().any(|prefix| {
        path == *prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// The digest of every embedded file, naming this build's static URLs. Cached in release
/// builds; recomputed in debug builds, where files are read from disk and may change.
fn version() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    if cfg!(debug_assertions) {
        return compute_version();
    }
    VERSION.get_or_init(compute_version).clone()
}

fn compute_version() -> String {
    let mut names: Vec<_> = Assets::iter().collect();
    names.sort();
    let mut digest = Sha256::new();
    for name in names {
        if let Some(file) = Assets::get(&name) {
            digest.update(name.as_bytes());
            digest.update(file.metadata.sha256_hash());
        }
    }
    hex::encode(&digest.finalize()[..6])
}

/// A file ready to answer: bytes, type and validator.
struct Body {
    bytes: web::Bytes,
    content_type: String,
    etag: String,
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let file = Assets::get("index.html").ok_or_else(|| ApiError::internal("index.html missing"))?;
    let html = String::from_utf8_lossy(&file.data).replace(
        STATIC_PLACEHOLDER,
        &format!("{STATIC_PREFIX}/{}", version()),
    );
    let etag = hex::encode(&Sha256::digest(html.as_bytes())[..12]);
    let body = Body {
        bytes: web::Bytes::from(html),
        content_type: "text/html; charset=utf-8".into(),
        etag,
    };
    Ok(respond(&req, "index.html", body, NO_CACHE))
}

async fn static_file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (requested_version, name) = path.into_inner();
    if !is_servable(&name) {
        return Err(ApiError::not_found());
    }
    let file = Assets::get(&name).ok_or_else(ApiError::not_found)?;
    let mut content_type = file.metadata.mimetype().to_owned();
    if content_type.starts_with("text/") || content_type.ends_with("javascript") {
        content_type.push_str("; charset=utf-8");
    }
    let body = Body {
        etag: hex::encode(&file.metadata.sha256_hash()[..12]),
        bytes: web::Bytes::from(file.data.into_owned()),
        content_type,
    };
    // A page loaded before an upgrade may still ask for the old version: answer with the
    // current file but do not let it be cached as immutable under the old name.
    let cache = if requested_version == version() {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    Ok(respond(&req, &name, body, cache))
}

/// Relative names inside the UI folder only: no parent segments, no absolute paths, nothing
/// belonging to the API docs, no `index.html` (which needs its placeholder filled).
fn is_servable(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        && !name.starts_with("docs/")
        && name != "index.html"
}

fn respond(req: &HttpRequest, name: &str, body: Body, cache: &str) -> HttpResponse {
    let gzip = accepts_gzip(req) && is_compressible(&body.content_type, body.bytes.len());
    let etag = if gzip {
        format!("\"{}-gz\"", body.etag)
    } else {
        format!("\"{}\"", body.etag)
    };
    let not_modified = if_none_match(req, &etag);
    let mut builder = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    builder
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::VARY, "Accept-Encoding"));
    if not_modified {
        return builder.finish();
    }
    builder.insert_header((header::CONTENT_TYPE, body.content_type.as_str()));
    if gzip {
        if let Some(compressed) = gzipped(name, &body.etag, &body.bytes) {
            builder.insert_header((header::CONTENT_ENCODING, "gzip"));
            return builder.body(compressed);
        }
    }
    builder.body(body.bytes)
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn is_compressible(content_type: &str, len: usize) -> bool {
    len >= GZIP_MIN_BYTES
        && (content_type.starts_with("text/")
            || content_type.starts_with("application/javascript")
            || content_type.starts_with("application/json")
            || content_type.starts_with("image/svg+xml"))
}

/// `If-None-Match` matches when it names this ETag (weak comparison, as RFC 9110 asks for
/// conditional GETs) or is `*`.
fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// The gzip encoding of a file, computed once per content hash and kept.
fn gzipped(name: &str, hash: &str, data: &[u8]) -> Option<web::Bytes> {
    static CACHE: OnceLock<Mutex<HashMap<String, web::Bytes>>> = OnceLock::new();
    let key = format!("{name}:{hash}");
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok()?.get(&key) {
        return Some(hit.clone());
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    let compressed = web::Bytes::from(encoder.finish().ok()?);
    if let Ok(mut map) = cache.lock() {
        // Debug builds re-read edited files; keep only the newest encoding per file.
        map.retain(|k, _| !k.starts_with(&format!("{name}:")));
        map.insert(key, compressed.clone());
    }
    Some(compressed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes_exclude_the_api_health_metrics_and_static_files() {
        assert!(is_client_route("/"));
        assert!(is_client_route("/alerts/0193-abc"));
        assert!(is_client_route("/apis"));
        assert!(is_client_route("/healthy"));
        assert!(!is_client_route("/api"));
        assert!(!is_client_route("/api/v1/alerts"));
        assert!(!is_client_route("/api/docs"));
        assert!(!is_client_route("/health"));
        assert!(!is_client_route("/health/ready"));
        assert!(!is_client_route("/metrics"));
        assert!(!is_client_route("/static/abc/js/app.js"));
    }

    #[test]
    fn only_plain_relative_names_are_servable() {
        assert!(is_servable("js/app.js"));
        assert!(is_servable("vendor/uplot/uPlot.esm.js"));
        assert!(!is_servable("../Cargo.toml"));
        assert!(!is_servable("js/../../Cargo.toml"));
        assert!(!is_servable("/etc/passwd"));
        assert!(!is_servable("js//app.js"));
        assert!(!is_servable("js\\app.js"));
        assert!(!is_servable("docs/index.html"));
        assert!(!is_servable("index.html"));
        assert!(!is_servable(""));
    }

    #[test]
    fn the_embedded_ui_has_an_index_and_no_api_docs() {
        assert!(Assets::get("index.html").is_some());
        assert!(Assets::iter().all(|name| !name.starts_with("docs/")));
    }

    #[test]
    fn the_version_is_stable_for_the_same_files() {
        assert_eq!(compute_version(), compute_version());
        assert_eq!(compute_version().len(), 12);
    }
}
