//! The live event stream: Bearer and ticket authentication, the event types, `stats.tick`, the
//! cap on concurrent streams, and a client that stops reading (dropped, nobody slowed down).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::alerts::{patch, post, seed_alert};
use crate::helpers::*;

/// Reads the stream until `needle` shows up; returns everything read.
async fn read_until(resp: &mut reqwest::Response, needle: &str, secs: u64) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("no `{needle}` on the stream ({other:?}); got: {seen}"),
        }
    }
    seen
}

/// The JSON data of the first `event: kind` frame in `text`.
fn event_data(text: &str, kind: &str) -> Value {
    let start = text
        .find(&format!("event: {kind}\n"))
        .expect("event present");
    let line = text[start..].lines().nth(1).unwrap();
    serde_json::from_str(line.strip_prefix("data: ").unwrap()).unwrap()
}

async fn open(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_stream_carries_alert_updates_and_stats_ticks() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let analyst = app.token("analyst").await;
    let alert = seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await;
    let mut stream = open(&app, &viewer).await;
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    read_until(&mut stream, ": connected", 5).await;

    assert_eq!(
        patch(&app, &analyst, &alert, json!({"status": "investigating"}))
            .await
            .status(),
        200
    );
    let text = read_until(&mut stream, "event: alert.updated", 5).await;
    let event = event_data(&text, "alert.updated");
    assert_eq!(event["type"], "alert.updated");
    assert_eq!(event["data"]["id"], alert.as_str());
    assert_eq!(event["data"]["status"], "investigating");

    let text = read_until(&mut stream, "event: stats.tick", 12).await;
    let tick = event_data(&text, "stats.tick");
    assert_eq!(
        tick["data"]["alerts"]["open"], 0,
        "the case left `open`: {tick}"
    );
    assert_eq!(tick["data"]["transactions"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_opens_one_stream_once_and_nothing_else_does() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let resp = post(&app, &viewer, "/api/v1/events/ticket", json!({})).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    assert_eq!(body["expires_in"], 30);
    assert!(ticket.len() >= 40, "a ticket carries 256 random bits");

    let url = app.url(&format!("/api/v1/events?ticket={ticket}"));
    let mut stream = app.client.get(&url).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    read_until(&mut stream, ": connected", 5).await;
    assert_error(
        app.client.get(&url).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        app.client
            .get(app.url("/api/v1/events?ticket=made-up"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    assert_error(
        app.client
            .get(app.url("/api/v1/events"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let other = app.url(&format!("/api/v1/stats/overview?ticket={ticket}"));
    assert_error(
        app.client.get(other).send().await.unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let ingest = app.api_key(&["ingest"]).await;
    assert_error(open(&app, &ingest).await, 403, "forbidden").await;
    assert_error(
        app.client
            .post(app.url("/api/v1/events/ticket"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthorized",
    )
    .await;
    let read_key = app.api_key(&["read"]).await;
    assert_eq!(open(&app, &read_key).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_beyond_the_cap_are_refused_until_one_closes() {
    let app = spawn_app_with(|s| s.server.max_event_streams = 2).await;
    let viewer = app.token("viewer").await;
    let mut a = open(&app, &viewer).await;
    let mut b = open(&app, &viewer).await;
    read_until(&mut a, ": connected", 5).await;
    read_until(&mut b, ": connected", 5).await;
    let refused = open(&app, &viewer).await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, 503, "unavailable").await;
    drop(a);
    // The server learns of a vanished client when writing to it (stats ticks every 5 s).
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        let resp = open(&app, &viewer).await;
        if resp.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "a closed stream frees its slot");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_slows_nobody() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let analyst = app.token("analyst").await;
    // A raw connection that asks for the stream and then never reads a byte.
    let mut stuck = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    stuck
        .write_all(
            format!(
                "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {viewer}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.live.active() == 0 {
        assert!(Instant::now() < deadline, "the stuck stream opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Far more than socket buffers and the stream's own buffer hold.
    let big = "x".repeat(16 * 1024);
    let t = Instant::now();
    for i in 0..3_000 {
        app.state
            .events
            .publish("alert.updated", json!({"i": i, "pad": big}));
        if i % 100 == 0 {
            tokio::task::yield_now().await;
        }
    }
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "publishing never waits: {:?}",
        t.elapsed()
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.live.active() != 0 {
        assert!(Instant::now() < deadline, "the stuck client was dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Writes and reads go on at full speed with the stuck socket still open.
    let alert = seed_alert(&app, "low", "2026-03-01T10:00:00.000Z", "acct-1").await;
    let t = Instant::now();
    for i in 0..20 {
        let resp = post(
            &app,
            &analyst,
            &format!("/api/v1/alerts/{alert}/comments"),
            json!({"body": format!("note {i}")}),
        )
        .await;
        assert_eq!(resp.status(), 201);
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "20 writes took {:?}",
        t.elapsed()
    );
    let mut fresh = open(&app, &viewer).await;
    read_until(&mut fresh, ": connected", 5).await;
    drop(stuck);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_does_not_hold_up_a_graceful_shutdown() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let mut stream = open(&app, &viewer).await;
    read_until(&mut stream, ": connected", 5).await;
    let t = Instant::now();
    // What SIGTERM does: mark the service stopping, then stop the server gracefully.
    app.state.lifecycle.set_stopping();
    app.stop().await;
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        t.elapsed()
    );
    let rest = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .expect("the stream ends");
    assert!(matches!(rest, Ok(None) | Err(_)), "{rest:?}");
}
