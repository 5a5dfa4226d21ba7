//! `POST /api/v1/analyze`: verdicts with explainable indicators, validation, and the analyze
//! rate-limit tier.

use serde_json::{json, Value};

use crate::helpers::*;

async fn analyze(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/analyze"))
        .bearer_auth(auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn codes(body: &Value) -> Vec<String> {
    body["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phishing_sms_is_a_scam_and_says_why() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let resp = analyze(
        &app,
        &key,
        json!({
            "message_content": "URGENT: your account has been suspended. Log in at http://185.23.4.9/secure within 24 hours and reply with the verification code we sent.",
            "sender": "+447700900123",
            "channel": "sms"
        }),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["label"], "scam", "{body}");
    assert!(body["score"].as_u64().unwrap() >= 70);
    assert_eq!(body["model_version"], "sms-nb-1");
    let c = codes(&body);
    for expected in ["urgency", "raw_ip_link", "otp_request"] {
        assert!(c.contains(&expected.to_owned()), "{c:?}");
    }
    assert!(body["indicators"][0]["message"].as_str().unwrap().len() > 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_redirection_by_email_from_a_lookalike_domain_is_flagged() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let body: Value = analyze(
        &app,
        &analyst,
        json!({
            "message_content": "Hello, please note we changed bank. Send the payment to our new bank details below, IBAN DE89 3704 0044 0532 0130 00.",
            "sender": "billing@paypa1-invoices.com",
            "channel": "email"
        }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(body["label"], "clean", "{body}");
    let c = codes(&body);
    assert!(c.contains(&"payment_redirection".to_owned()), "{c:?}");
    assert!(c.contains(&"lookalike_domain".to_owned()), "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_chat_message_is_clean() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let body: Value = analyze(
        &app,
        &key,
        json!({"message_content": "Running 10 minutes late, start the meeting without me", "channel": "chat"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["label"], "clean", "{body}");
    assert_eq!(body["indicators"], json!([]));
    assert!(body["score"].as_u64().unwrap() < 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_messages_are_refused_with_the_error_shape() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    for (body, field) in [
        (json!({"message_content": "   "}), "message_content"),
        (
            json!({"message_content": "x".repeat(20_001)}),
            "message_content",
        ),
        (json!({"message_content": 42}), "message_content"),
        (
            json!({"message_content": "hi", "channel": "fax"}),
            "channel",
        ),
        (
            json!({"message_content": "hi", "sender": "s".repeat(321)}),
            "sender",
        ),
        (json!({"message_content": "hi", "evil": true}), "evil"),
        (json!({}), "message_content"),
    ] {
        let resp = analyze(&app, &key, body).await;
        let err = assert_error(resp, 422, "validation_failed").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{err}");
    }
    let raw = app
        .client
        .post(app.url("/api/v1/analyze"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"message_content\": ")
        .send()
        .await
        .unwrap();
    assert_error(raw, 400, "bad_request").await;
    let plain = app
        .client
        .post(app.url("/api/v1/analyze"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_error(plain, 415, "unsupported_media_type").await;
    let huge = "a ".repeat(200_000);
    let resp = analyze(&app, &key, json!({"message_content": huge})).await;
    assert_error(resp, 413, "payload_too_large").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_analysed_not_executed() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    for text in [
        "<script>alert('x')</script> visit http://[::1]:8080/login",
        "'; DROP TABLE transactions; -- send bitcoin",
        "\u{202e}ɢɪғᴛ ᴄᴀʀᴅ 🎁 Привет \u{0000} end",
        &"http://a.b/".repeat(1500),
    ] {
        let resp = analyze(
            &app,
            &key,
            json!({"message_content": text, "sender": "<b>x</b>@xn--pple-43d.com"}),
        )
        .await;
        assert_eq!(resp.status(), 200, "{}", &text[..text.len().min(80)]);
        let body: Value = resp.json().await.unwrap();
        assert!(["scam", "suspicious", "clean"].contains(&body["label"].as_str().unwrap()));
        assert!(body["score"].as_u64().unwrap() <= 100);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analyze_rate_limit_tier_applies() {
    let app = spawn_app_with(|s| s.rate_limit.analyze_per_minute = 2).await;
    let key = app.api_key(&["ingest"]).await;
    let mut limited = None;
    for _ in 0..10 {
        let resp = analyze(&app, &key, json!({"message_content": "hello"})).await;
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 200);
    }
    let resp = limited.expect("the analyze tier limits a burst");
    assert!(resp.headers().contains_key("retry-after"));
    assert_error(resp, 429, "rate_limited").await;
}
