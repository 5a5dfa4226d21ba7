//! The appliance core: headers, errors, health, metrics.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_every_check() {
    let app = spawn_app().await;
    let resp = app.get("/health").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert_eq!(
        body["checks"]["backup"]["status"], "warn",
        "no backup yet is a warning"
    );
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-xss-protection", "0"),
];

fn assert_security_headers(resp: &reqwest::Response) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            resp.headers().get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "{name} on {}",
            resp.url()
        );
    }
    assert!(resp.headers().get("x-request-id").is_some());
    assert!(resp.headers().get("server").is_none(), "no Server header");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/api/v1/setup",
        "/api/v1/auth/me",
        "/no/such/page",
        "/api/v1/nope",
    ] {
        let resp = app.get(path).await;
        assert_security_headers(&resp);
        if path.starts_with("/api/") || path.starts_with("/health") {
            assert_eq!(
                resp.headers().get("cache-control").unwrap(),
                "no-store",
                "{path}"
            );
        }
        assert!(
            resp.headers().get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    let hsts = spawn_app_with(|s| s.server.hsts = true).await;
    let resp = hsts.get("/health").await;
    assert_eq!(
        resp.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_when_sane_and_replaced_otherwise() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-abc.123_x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "trace-abc.123_x");
    let r = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let id = r
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        !id.contains('<') && uuid::Uuid::parse_str(&id).is_ok(),
        "{id}"
    );
    let r = app
        .client
        .get(app.url("/api/v1/nope"))
        .header("x-request-id", "x".repeat(100))
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 404, "not_found").await;
    assert_ne!(body["error"]["request_id"], "x".repeat(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_status_has_the_spec_shape() {
    let app = spawn_app().await;
    let login = app.url("/api/v1/auth/login");
    // 400 malformed JSON
    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "bad_request").await;
    // 415 wrong content type
    let r = app
        .client
        .post(&login)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
    let r = app.client.post(&login).body("{}").send().await.unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
    // 413 over the JSON limit, by Content-Length and by streaming
    let big = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(300 * 1024)
    );
    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = app
        .client
        .post(&login)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(r, 413, "payload_too_large").await;
    // 422 wrong type and unknown field
    let r = app
        .client
        .post(&login)
        .json(&serde_json::json!({"email": ["x"], "password": "y"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(r, 422, "validation_failed").await;
    assert_eq!(body["error"]["details"][0]["field"], "email");
    // 401, 403, 404, 405
    assert_error(app.get("/api/v1/auth/me").await, 401, "unauthorized").await;
    let viewer = app.token("viewer").await;
    assert_error(
        app.client
            .get(app.url("/api/v1/users"))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    assert_error(app.get("/api/v1/does-not-exist").await, 404, "not_found").await;
    assert_error(
        app.client
            .delete(app.url("/api/v1/auth/login"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
    // 400 bad query string and bad cursor
    let admin = app.token("admin").await;
    for query in [
        "limit=abc",
        "cursor=%27%20OR%201%3D1",
        "limit=0",
        "limit=99999999999999999999",
    ] {
        let resp = send(
            &app,
            &admin,
            reqwest::Method::GET,
            &format!("/api/v1/users?{query}"),
            None,
        )
        .await;
        assert_error(resp, 400, "bad_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_through_every_row_exactly_once() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    for _ in 0..7 {
        app.create_user("viewer").await;
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_owned(),
        };
        let page: serde_json::Value = app
            .client
            .get(app.url(&url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        for u in items {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_owned()),
                "no row twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_exact_when_configured() {
    let app = spawn_app().await;
    let r = app
        .client
        .get(app.url("/api/v1/setup"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let app = spawn_app_with(|s| {
        s.cors.allowed_origins = vec!["https://ops.example.com".into()];
        s.cors.allow_credentials = true;
    })
    .await;
    let r = app
        .client
        .get(app.url("/api/v1/setup"))
        .header("origin", "https://ops.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("access-control-allow-origin").unwrap(),
        "https://ops.example.com"
    );
    assert_eq!(
        r.headers().get("access-control-allow-credentials").unwrap(),
        "true"
    );
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
        .header("origin", "https://ops.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert!(pre
        .headers()
        .get("access-control-allow-methods")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("POST"));
    let pre = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_error(pre, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_the_catalogue() {
    let app = spawn_app().await;
    app.get("/health").await;
    app.get("/api/v1/users/123").await;
    let resp = app.get("/metrics").await;
    assert!(resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    for name in [
        "ledgerguard_http_requests_total",
        "ledgerguard_http_request_duration_seconds_bucket",
        "ledgerguard_db_write_batch_size_bucket",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(name), "{name}");
    }
    assert!(
        text.contains("route=\"/api/v1/users/{id}\""),
        "routes are labelled by pattern, not path"
    );
    assert!(!text.contains("/api/v1/users/123"));
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "sample line {line}");
    }
    let locked =
        spawn_app_with(|s| s.metrics.bearer_token = ledgerguard::config::Secret::new("scrape-me"))
            .await;
    assert_error(locked.get("/metrics").await, 401, "unauthorized").await;
    let ok = locked
        .client
        .get(locked.url("/metrics"))
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_lifecycle() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    assert_eq!(app.get("/health/live").await.status(), 200);
    app.state.lifecycle.set_stopping();
    assert_error(app.get("/health/ready").await, 503, "unavailable").await;
    assert_eq!(app.get("/health/live").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ip_comes_from_trusted_proxies_only() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".into()];
        s.rate_limit.login_per_ip_per_15min = 1;
    })
    .await;
    let login = |ip: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&serde_json::json!({"email": "a@b.co", "password": "wrong wrong wrong"}))
            .send()
    };
    assert_eq!(login("198.51.100.1").await.unwrap().status(), 401);
    assert_eq!(
        login("198.51.100.2").await.unwrap().status(),
        401,
        "another client behind the proxy has its own budget"
    );
    assert_eq!(login("198.51.100.1").await.unwrap().status(), 429);
    // Without trust, the header is ignored: all attempts count against the socket peer.
    let plain = spawn_app_with(|s| s.rate_limit.login_per_ip_per_15min = 1).await;
    let r1 = plain
        .client
        .post(plain.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "1.1.1.1")
        .json(&serde_json::json!({"email": "a@b.co", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status(), 401);
    let r2 = plain
        .client
        .post(plain.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "2.2.2.2")
        .json(&serde_json::json!({"email": "a@b.co", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_tls_serves_https_with_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    let (c, k) = (cert.clone(), key.clone());
    let app = spawn_app_with(move |s| {
        s.server.tls.cert_file = Some(c);
        s.server.tls.key_file = Some(k);
    })
    .await;
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let resp = client
        .get(format!("https://127.0.0.1:{}/health/live", app.port))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
    assert!(
        client
            .get(format!("http://127.0.0.1:{}/health/live", app.port))
            .send()
            .await
            .is_err(),
        "no plain HTTP on the TLS port"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_database_is_backed_up_then_migrated() {
    use ledgerguard::store::migrations::{latest_version, migrate_with, MIGRATIONS};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    {
        let mut conn = rusqlite::Connection::open(data.join("ledgerguard.db")).unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..1]).unwrap();
        conn.execute(
            "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, created_at) VALUES ('k1', 'old', 'lg_x', 'h', 'read', '2026-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    }
    let d = data.clone();
    let app = spawn_app_with(move |s| s.storage.data_dir = d).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    let backups: Vec<_> = std::fs::read_dir(data.join("backups"))
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(backups.len(), 1, "one safety copy before migrating");
    let copy = rusqlite::Connection::open(backups[0].path()).unwrap();
    let v: i64 = copy
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1, "the copy is the pre-migration database");
    let conn = app.state.store.read().unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, latest_version());
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM api_keys WHERE id = 'k1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(kept, 1, "data survives the migration");
}
