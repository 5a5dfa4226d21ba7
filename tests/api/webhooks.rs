//! Webhooks over HTTP: endpoints, signed delivery from the durable outbox to a receiver run by
//! the test (one that fails then recovers, one that hangs), redelivery, the private-target
//! policy, and delivery that survives a restart of the server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::alerts::{get_json, patch, post, seed_alert};
use crate::helpers::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the receiver answers its n-th request (0-based): a status, or `None` to hang.
type Plan = Arc<dyn Fn(usize) -> Option<u16> + Send + Sync>;

/// A tiny HTTP/1.1 receiver on 127.0.0.1:0 that records every request.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(plan: Plan) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, plan)
    }

    pub fn serve(listener: TcpListener, plan: Plan) -> Self {
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let recorded = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    break;
                };
                let (recorded, plan) = (recorded.clone(), plan.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    let n = {
                        let mut all = recorded.lock().unwrap();
                        all.push(req);
                        all.len() - 1
                    };
                    match plan(n) {
                        Some(code) => {
                            let answer = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                            let _ = sock.write_all(answer.as_bytes()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(60)).await,
                    }
                });
            }
        });
        Self { url, got }
    }

    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: buf[head_end..].to_vec(),
    })
}

pub async fn create_hook(app: &TestApp, admin: &str, url: &str, events: Value) -> Value {
    let resp = post(
        app,
        admin,
        "/api/v1/webhooks",
        json!({"url": url, "events": events}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

/// Polls the endpoint's deliveries until `done` holds for the newest one.
async fn wait_for_delivery(
    app: &TestApp,
    admin: &str,
    hook: &str,
    secs: u64,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, page) = get_json(app, admin, &format!("/api/v1/webhooks/{hook}/deliveries")).await;
        if let Some(d) = page["items"].get(0) {
            if done(d) {
                return d.clone();
            }
        }
        assert!(Instant::now() < deadline, "delivery did not settle: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The Standard Webhooks signature, computed here from the spec, not with the server's code.
fn expected_signature(secret: &str, id: &str, ts: &str, body: &[u8]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", engine.encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_created_with_a_secret_listed_without_it_and_deleted() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let analyst = app.token("analyst").await;
    let hook = create_hook(
        &app,
        &admin,
        "https://hooks.example.com/in?x=1",
        json!(["alert.created", "alert.updated", "alert.created"]),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let key = base64::engine::general_purpose::STANDARD
        .decode(&secret[6..])
        .unwrap();
    assert_eq!(key.len(), 32);
    assert_eq!(
        hook["events"],
        json!(["alert.created", "alert.updated"]),
        "duplicates folded"
    );

    let (status, list) = get_json(&app, &admin, "/api/v1/webhooks").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"], hook["id"]);
    assert!(
        list["items"][0].get("secret").is_none(),
        "the secret is shown only once"
    );

    let bad = [
        json!({"url": "ftp://example.com/", "events": ["alert.created"]}),
        json!({"url": "javascript:alert(1)", "events": ["alert.created"]}),
        json!({"url": "https://u:p@example.com/", "events": ["alert.created"]}),
        json!({"url": "https://example.com/", "events": []}),
        json!({"url": "https://example.com/", "events": ["alert.deleted"]}),
        json!({"url": "https://example.com/", "events": ["stats.tick"]}),
        json!({"url": "https://example.com/", "events": "alert.created"}),
        json!({"url": "https://example.com/", "events": ["alert.created"], "secret": "mine"}),
        json!({"url": format!("https://example.com/{}", "a".repeat(3_000)), "events": ["*"]}),
    ];
    for body in bad {
        let resp = post(&app, &admin, "/api/v1/webhooks", body.clone()).await;
        assert_error(resp, 422, "validation_failed").await;
    }
    assert_error(
        post(
            &app,
            &analyst,
            "/api/v1/webhooks",
            json!({"url": "https://e.com/", "events": ["*"]}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let id = hook["id"].as_str().unwrap();
    let del = |who: &str| {
        app.client
            .delete(app.url(&format!("/api/v1/webhooks/{id}")))
            .bearer_auth(who.to_owned())
            .send()
    };
    assert_eq!(del(&admin).await.unwrap().status(), 204);
    assert_error(del(&admin).await.unwrap(), 404, "not_found").await;
    let (_, audit) = get_json(&app, &admin, &format!("/api/v1/audit?target_id={id}")).await;
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        2,
        "created and deleted are audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_then_recovers_gets_the_signed_event_on_retry() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let analyst = app.token("analyst").await;
    let receiver = Receiver::start(Arc::new(|n| Some(if n == 0 { 503 } else { 204 }))).await;
    let hook = create_hook(&app, &admin, &receiver.url, json!(["alert.updated"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    let alert = seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await;

    assert_eq!(
        patch(&app, &analyst, &alert, json!({"status": "investigating"}))
            .await
            .status(),
        200
    );
    let started = Instant::now();
    let d = wait_for_delivery(&app, &admin, hook_id, 20, |d| d["status"] == "delivered").await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3),
        "the retry waited for the backoff: {waited:?}"
    );
    assert_eq!(d["event_type"], "alert.updated");
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["status_code"], 503);
    assert!(attempts[0]["error"].is_string());
    assert_eq!(attempts[1]["status_code"], 204);
    assert!(attempts[1]["latency_ms"].as_i64().unwrap() >= 0);
    assert_eq!(d["payload"]["data"]["id"], alert.as_str());

    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for req in &got {
        let (id, ts, sig) = (
            req.header("webhook-id").unwrap(),
            req.header("webhook-timestamp").unwrap(),
            req.header("webhook-signature").unwrap(),
        );
        assert_eq!(
            id,
            d["id"].as_str().unwrap(),
            "the message id is stable across retries"
        );
        assert_eq!(
            sig,
            expected_signature(hook["secret"].as_str().unwrap(), id, ts, &req.body)
        );
        let now = chrono::Utc::now().timestamp();
        assert!((now - ts.parse::<i64>().unwrap()).abs() < 60);
        // And the reference implementation agrees.
        let wh = standardwebhooks::Webhook::new(hook["secret"].as_str().unwrap()).unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in [
            ("webhook-id", id),
            ("webhook-timestamp", ts),
            ("webhook-signature", sig),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        wh.verify(&req.body, &headers)
            .expect("standardwebhooks verifies the signature");
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["type"], "alert.updated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_times_out_without_stalling_the_server() {
    let app = spawn_app_with(|s| s.notify.webhooks.timeout_s = 1).await;
    let admin = app.token("admin").await;
    let hanging = Receiver::start(Arc::new(|_| None)).await;
    let hook = create_hook(&app, &admin, &hanging.url, json!(["*"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    let resp = post(
        &app,
        &admin,
        &format!("/api/v1/webhooks/{hook_id}/test"),
        json!({}),
    )
    .await;
    assert_eq!(resp.status(), 202);

    let t = Instant::now();
    let (status, _) = get_json(&app, &admin, "/api/v1/stats/overview").await;
    assert_eq!(status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "the API answers while a delivery hangs"
    );

    let d = wait_for_delivery(&app, &admin, hook_id, 10, |d| {
        !d["attempts"].as_array().unwrap().is_empty()
    })
    .await;
    assert_eq!(d["status"], "pending", "a timeout is retried later");
    assert_eq!(d["event_type"], "webhook.test");
    let attempt = &d["attempts"][0];
    assert!(attempt["status_code"].is_null());
    assert!(
        attempt["error"].as_str().unwrap().contains("timed out"),
        "{attempt}"
    );
    assert!(attempt["latency_ms"].as_i64().unwrap() >= 900);
    assert!(d["next_attempt_at"].is_string());
    assert_eq!(hanging.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_can_be_sent_again_on_request() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let receiver = Receiver::start(Arc::new(|_| Some(200))).await;
    let hook = create_hook(&app, &admin, &receiver.url, json!(["alert.created"])).await;
    let hook_id = hook["id"].as_str().unwrap();
    assert_eq!(
        post(
            &app,
            &admin,
            &format!("/api/v1/webhooks/{hook_id}/test"),
            json!({})
        )
        .await
        .status(),
        202
    );
    let d = wait_for_delivery(&app, &admin, hook_id, 10, |d| d["status"] == "delivered").await;
    let path = format!(
        "/api/v1/webhooks/{hook_id}/deliveries/{}/redeliver",
        d["id"].as_str().unwrap()
    );
    let resp = post(&app, &admin, &path, json!({})).await;
    assert_eq!(resp.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.count() < 2 {
        assert!(Instant::now() < deadline, "redelivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let missing = format!(
        "/api/v1/webhooks/{hook_id}/deliveries/00000000-0000-7000-8000-000000000000/redeliver"
    );
    assert_error(
        post(&app, &admin, &missing, json!({})).await,
        404,
        "not_found",
    )
    .await;
    assert_error(
        post(&app, &admin, "/api/v1/webhooks/nope/test", json!({})).await,
        404,
        "not_found",
    )
    .await;
    let (status, _) = get_json(&app, &admin, "/api/v1/webhooks/nope/deliveries").await;
    assert_eq!(status, 404);
}

/// Waits until the data dir's lock is free (the stopped server has closed the store).
async fn wait_for_release(dir: &std::path::Path) {
    for _ in 0..100 {
        if ledgerguard::store::DataDirLock::acquire(dir).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stopped server kept its data dir");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_delivery_survives_a_restart_and_is_delivered_by_the_next_server() {
    let first = spawn_app().await;
    let admin = first.token("admin").await;
    let analyst = first.token("analyst").await;
    let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = up.clone();
    let receiver = Receiver::start(Arc::new(move |_| {
        Some(if flag.load(std::sync::atomic::Ordering::SeqCst) {
            200
        } else {
            500
        })
    }))
    .await;
    let hook = create_hook(&first, &admin, &receiver.url, json!(["alert.updated"])).await;
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let alert = seed_alert(&first, "critical", "2026-03-01T10:00:00.000Z", "acct-1").await;
    assert_eq!(
        patch(&first, &analyst, &alert, json!({"status": "dismissed"}))
            .await
            .status(),
        200
    );
    wait_for_delivery(&first, &admin, &hook_id, 10, |d| d["attempt_count"] == 1).await;

    let data_dir = first.data_dir();
    first.stop().await;
    wait_for_release(&data_dir).await;
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let dir = data_dir.clone();
    let second = spawn_app_with(move |s| s.storage.data_dir = dir).await;
    let admin = second.token("admin").await;
    let d = wait_for_delivery(&second, &admin, &hook_id, 20, |d| {
        d["status"] == "delivered"
    })
    .await;
    let codes: Vec<i64> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 200], "one attempt from each server");
    assert_eq!(receiver.count(), 2);
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_targets_are_refused_when_the_policy_says_so_even_for_existing_endpoints() {
    let first = spawn_app().await;
    let admin = first.token("admin").await;
    let receiver = Receiver::start(Arc::new(|_| Some(200))).await;
    let hook = create_hook(&first, &admin, &receiver.url, json!(["*"])).await;
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let data_dir = first.data_dir();
    first.stop().await;
    wait_for_release(&data_dir).await;

    let dir = data_dir.clone();
    let strict = spawn_app_with(move |s| {
        s.storage.data_dir = dir;
        s.notify.webhooks.allow_private = false;
    })
    .await;
    let admin = strict.token("admin").await;
    for url in [
        "http://127.0.0.1:9/",
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/latest",
    ] {
        let resp = post(
            &strict,
            &admin,
            "/api/v1/webhooks",
            json!({"url": url, "events": ["*"]}),
        )
        .await;
        assert_error(resp, 422, "validation_failed").await;
    }
    assert_eq!(
        post(
            &strict,
            &admin,
            &format!("/api/v1/webhooks/{hook_id}/test"),
            json!({})
        )
        .await
        .status(),
        202
    );
    let d = wait_for_delivery(&strict, &admin, &hook_id, 10, |d| d["attempt_count"] == 1).await;
    assert!(
        d["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("non-public"),
        "{d}"
    );
    assert_eq!(
        receiver.count(),
        0,
        "nothing was sent to the loopback receiver"
    );
    drop(first);
}
