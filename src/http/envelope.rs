//! The outermost middleware. For every request it assigns the request id and client IP; for
//! every response it adds the security headers, renders error bodies in the spec's shape
//! (actix's own errors and panics included), applies CORS, writes one log line and records
//! request metrics.

use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::FutureExt;
use ipnet::IpNet;

use super::error::ApiError;
use crate::config::Settings;
use crate::metrics;

/// The request's id, echoed from a sane `X-Request-Id` or generated.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The client's address: the socket peer, or `X-Forwarded-For` when the peer is a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn or_unspecified(&self) -> IpAddr {
        self.0.unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }
}

/// What the envelope needs from the configuration.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    pub trusted_proxies: Vec<IpNet>,
    pub hsts: bool,
    pub cors_origins: Vec<String>,
    pub cors_credentials: bool,
}

impl HttpPolicy {
    pub fn from_settings(s: &Settings) -> Self {
        Self {
            trusted_proxies: s.trusted_proxies(),
            hsts: s.server.hsts || s.server.tls.cert_file.is_some(),
            cors_origins: s.cors.allowed_origins.clone(),
            cors_credentials: s.cors.allow_credentials,
        }
    }

    fn cors_allows(&self, origin: &str) -> bool {
        self.cors_origins.iter().any(|o| o == "*" || o == origin)
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Accepts an incoming request id of 1–64 characters from `[A-Za-z0-9._-]`.
fn sane_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The client address given the socket peer and `X-Forwarded-For`: walking the header from
/// the right, the first address that is not a trusted proxy is the client.
pub fn resolve_client_ip(
    peer: Option<SocketAddr>,
    forwarded_for: Option<&str>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer_ip = peer.map(|p| p.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer_ip) {
        return Some(peer_ip);
    }
    let Some(header) = forwarded_for else {
        return Some(peer_ip);
    };
    let mut client = peer_ip;
    for part in header.rsplit(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

/// The envelope middleware; mount with `actix_web::middleware::from_fn(envelope)` outermost.
pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let policy = req
        .app_data::<web::Data<HttpPolicy>>()
        .map(|p| p.get_ref().clone());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let trusted = policy
        .as_ref()
        .map(|p| p.trusted_proxies.as_slice())
        .unwrap_or(&[]);
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client_ip = ClientIp(resolve_client_ip(req.peer_addr(), forwarded, trusted));
    req.extensions_mut().insert(RequestId(request_id.clone()));
    req.extensions_mut().insert(client_ip);

    let method = req.method().clone();
    let path = req.path().to_owned();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // CORS preflight: answered here so it never reaches authentication.
    let is_preflight = method == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    // The request comes back with the response, except when an inner layer failed outright
    // (an `Err` or a panic): routing needs the only handle to the request, so none is kept.
    let (http_req, mut resp) = if is_preflight && origin.is_some() {
        let allowed = match (&policy, &origin) {
            (Some(p), Some(o)) => p.cors_allows(o),
            _ => false,
        };
        let resp = if allowed {
            preflight_response()
        } else {
            ApiError::forbidden().error_response()
        };
        let (r, _) = req.into_parts();
        (Some(r), resp)
    } else {
        match AssertUnwindSafe(next.call(req)).catch_unwind().await {
            Ok(Ok(res)) => {
                let (r, resp) = res.map_into_boxed_body().into_parts();
                (Some(r), resp)
            }
            Ok(Err(err)) => (None, err.error_response()),
            Err(_) => (
                None,
                ApiError::internal("handler panicked").error_response(),
            ),
        }
    };

    let status = resp.status();
    if status.is_client_error() || status.is_server_error() {
        resp = render_error(resp, &request_id);
    }
    let secure = policy.as_ref().is_some_and(|p| p.hsts);
    add_headers(resp.headers_mut(), &request_id, &path, secure);
    if let (Some(p), Some(o)) = (&policy, &origin) {
        if p.cors_allows(o) {
            if let Ok(v) = HeaderValue::from_str(o) {
                resp.headers_mut()
                    .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
                resp.headers_mut()
                    .append(header::VARY, HeaderValue::from_static("Origin"));
                if p.cors_credentials {
                    resp.headers_mut().insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                }
            }
        }
    }

    let route = http_req
        .as_ref()
        .and_then(|r| r.match_pattern())
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    let m = metrics::global();
    m.http_requests_total
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .inc();
    m.http_request_duration_seconds
        .with_label_values(&[&route])
        .observe(elapsed.as_secs_f64());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let ip = client_ip.0.map(|i| i.to_string()).unwrap_or_default();
    if status.is_server_error() {
        tracing::error!(target: "ledgerguard::http", request_id = %request_id, method = %method, route = %route,
            path = %path, status = status.as_u16(), latency_ms, client_ip = %ip, "request");
    } else {
        tracing::info!(target: "ledgerguard::http", request_id = %request_id, method = %method, route = %route,
            path = %path, status = status.as_u16(), latency_ms, client_ip = %ip, "request");
    }
    match http_req {
        Some(r) => Ok(ServiceResponse::new(r, resp)),
        None => Err(Rendered::from_response(resp).await.into()),
    }
}

fn preflight_response() -> HttpResponse {
    let mut resp = HttpResponse::NoContent().finish();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PATCH, PUT, DELETE, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, content-type, x-api-key, x-request-id, x-requested-with",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    resp
}

/// A finished response carried as an error, for when no request handle is left to pair it
/// with; the server writes it as it is.
#[derive(Debug)]
struct Rendered {
    status: actix_web::http::StatusCode,
    headers: HeaderMap,
    body: web::Bytes,
}

impl Rendered {
    async fn from_response(resp: HttpResponse<BoxBody>) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = actix_web::body::to_bytes(resp.into_body())
            .await
            .unwrap_or_default();
        Self {
            status,
            headers,
            body,
        }
    }
}

impl std::fmt::Display for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rendered error response {}", self.status)
    }
}

impl ResponseError for Rendered {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status).body(self.body.clone());
        for (name, value) in &self.headers {
            resp.headers_mut().insert(name.clone(), value.clone());
        }
        resp
    }
}

/// Replaces an error response's body with the spec's shape, keeping its status and headers.
fn render_error(resp: HttpResponse<BoxBody>, request_id: &str) -> HttpResponse<BoxBody> {
    let status = resp.status();
    let api_error = resp
        .extensions()
        .get::<ApiError>()
        .cloned()
        .or_else(|| resp.error().and_then(|e| e.as_error::<ApiError>().cloned()))
        .unwrap_or_else(|| {
            let mut e = ApiError::for_status(status);
            e.status = status;
            if let Some(cause) = resp.error() {
                e.internal = Some(cause.to_string());
            }
            e
        });
    if let Some(internal) = &api_error.internal {
        if status.is_server_error() {
            tracing::error!(request_id = %request_id, detail = %internal, "internal error");
        } else {
            tracing::debug!(request_id = %request_id, detail = %internal, "request refused");
        }
    }
    let body = serde_json::to_vec(&api_error.body(request_id)).unwrap_or_default();
    let mut out = resp.set_body(BoxBody::new(body));
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.headers_mut().remove(header::CONTENT_LENGTH);
    out
}

fn add_headers(h: &mut HeaderMap, request_id: &str, path: &str, hsts: bool) {
    let fixed: [(&str, &str); 8] = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(), payment=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-xss-protection", "0"),
        ("content-security-policy", CSP),
    ];
    for (name, value) in fixed {
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    let is_api = path.starts_with("/api/") || path.starts_with("/health") || path == "/metrics";
    if is_api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.remove(header::SERVER);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_forwards() {
        let peer = Some("203.0.113.9:5000".parse().unwrap());
        let ip = resolve_client_ip(peer, Some("1.2.3.4"), &nets(&["10.0.0.0/8"]));
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn trusted_proxy_forwards_the_rightmost_untrusted_address() {
        let peer = Some("10.0.0.2:5000".parse().unwrap());
        let ip = resolve_client_ip(
            peer,
            Some("6.6.6.6, 198.51.100.7, 10.0.0.3"),
            &nets(&["10.0.0.0/8"]),
        );
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn garbage_forwarded_for_stops_at_the_last_good_hop() {
        let peer = Some("10.0.0.2:5000".parse().unwrap());
        let ip = resolve_client_ip(peer, Some("<script>"), &nets(&["10.0.0.0/8"]));
        assert_eq!(ip, Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn request_ids_are_checked() {
        assert!(sane_request_id("abc-123_x.y"));
        assert!(!sane_request_id(""));
        assert!(!sane_request_id("a b"));
        assert!(!sane_request_id(&"a".repeat(65)));
        assert!(!sane_request_id("<script>"));
    }
}

#[cfg(test)]
mod envelope_tests {
    use actix_web::{test, web, App, HttpResponse};

    use super::*;

    #[allow(clippy::panic)]
    async fn boom() -> HttpResponse {
        panic!("handler bug")
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_in_the_spec_shape() {
        let app = test::init_service(
            App::new()
                .route("/boom", web::get().to(boom))
                .wrap(actix_web::middleware::from_fn(envelope)),
        )
        .await;
        // With no request left to pair it with, the envelope hands back a finished response as
        // the error; the server writes it as it is.
        let resp =
            match test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
                .await
            {
                Ok(r) => r.into_parts().1,
                Err(e) => e.error_response(),
            };
        assert_eq!(resp.status().as_u16(), 500);
        assert_eq!(resp.headers().get("x-frame-options").unwrap(), "DENY");
        let bytes = actix_web::body::to_bytes(resp.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["message"], "An internal error occurred.");
        assert!(
            !body.to_string().contains("handler bug"),
            "no panic text leaks"
        );
    }
}
