//! `POST /api/v1/categorize`, analysts' corrections, and `GET /api/v1/expenses/summary`.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::labels::{seed, Seed};

async fn categorize(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/categorize"))
        .bearer_auth(auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expense_line_gets_a_category_with_confidence_and_alternatives() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let resp = categorize(
        &app,
        &key,
        json!({"description": "Taxi from the airport to the hotel", "merchant": "Uber"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["category"], "ground_transport", "{body}");
    let confidence = body["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence <= 1.0);
    let alternatives = body["alternatives"].as_array().unwrap();
    assert!(alternatives.len() <= 3);
    assert!(alternatives
        .iter()
        .all(|a| a["category"] != body["category"]
            && a["confidence"].as_f64().unwrap() <= confidence));
    assert_eq!(body["model_version"], "expense-nb-1");

    let body: Value = categorize(
        &app,
        &key,
        json!({"description": "Hotel two nights for the trade fair"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["category"], "lodging", "{body}");
    // A merchant category code tips an uninformative line.
    let body: Value = categorize(
        &app,
        &key,
        json!({"description": "Invoice 2231", "merchant_category": "5541"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["category"], "fuel", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysts_correction_teaches_the_categoriser() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let line = json!({"description": "Quarterly fee", "merchant": "Qwrtzy Holdings"});
    let before: Value = categorize(&app, &analyst, line.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(before["category"], "telecom");
    for _ in 0..2 {
        let resp = app
            .client
            .post(app.url("/api/v1/categorize/corrections"))
            .bearer_auth(&analyst)
            .json(&json!({"description": "Quarterly fee", "merchant": "Qwrtzy Holdings", "category": "telecom"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let stored: Value = resp.json().await.unwrap();
        assert_eq!(stored["category"], "telecom");
        assert!(stored["id"].as_str().is_some());
    }
    let after: Value = categorize(&app, &analyst, line).await.json().await.unwrap();
    assert_eq!(after["category"], "telecom", "{after}");
    let audited: i64 = app
        .state
        .store
        .read_async(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'category.corrected'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(audited, 2);

    // Corrections survive a restart: a new categoriser loads them from the store.
    let loaded = app
        .state
        .store
        .read_async(ledgerguard::expenses::categorize::load_corrections)
        .await
        .unwrap();
    let fresh = ledgerguard::expenses::categorize::Categorizer::new(&loaded);
    assert_eq!(
        fresh
            .categorize("Quarterly fee", Some("Qwrtzy Holdings"), None)
            .0,
        "telecom"
    );

    let resp = app
        .client
        .post(app.url("/api/v1/categorize/corrections"))
        .bearer_auth(&analyst)
        .json(&json!({"description": "x", "category": "yachts"}))
        .send()
        .await
        .unwrap();
    let err = assert_error(resp, 422, "validation_failed").await;
    assert_eq!(err["error"]["details"][0]["field"], "category");
    let key = app.api_key(&["ingest"]).await;
    let resp = app
        .client
        .post(app.url("/api/v1/categorize/corrections"))
        .bearer_auth(&key)
        .json(&json!({"description": "x", "category": "meals"}))
        .send()
        .await
        .unwrap();
    assert_error(resp, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_hostile_lines_are_handled() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    for (body, field) in [
        (json!({"description": ""}), "description"),
        (json!({"description": "d".repeat(1001)}), "description"),
        (
            json!({"description": "ok", "merchant": "m".repeat(201)}),
            "merchant",
        ),
        (
            json!({"description": "ok", "merchant_category": "12a4"}),
            "merchant_category",
        ),
        (json!({"description": 7}), "description"),
        (json!({"description": "ok", "amount": 5}), "amount"),
    ] {
        let err = assert_error(categorize(&app, &key, body).await, 422, "validation_failed").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{err}");
    }
    for text in [
        "'; DROP TABLE category_corrections; --",
        "<script>alert(1)</script>",
        "Café ☕ Zürich 東京",
        "\u{0000}\u{202e}",
    ] {
        let resp = categorize(&app, &key, json!({"description": text, "merchant": text})).await;
        assert_eq!(resp.status(), 200, "{text}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["category"].as_str().is_some());
    }
}

fn ms(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_sums_expenses_per_category_department_and_currency() {
    let app = spawn_app().await;
    let exp = |id, amount, currency, at, category, department| Seed {
        external_id: id,
        amount_minor: amount,
        currency,
        occurred_ms: ms(at),
        kind: "expense",
        category,
        department,
        ..Seed::default()
    };
    seed(
        &app,
        vec![
            exp(
                "e1",
                12_550,
                "EUR",
                "2026-03-02T10:00:00Z",
                Some("meals"),
                Some("sales"),
            ),
            exp(
                "e2",
                4_450,
                "EUR",
                "2026-03-20T10:00:00Z",
                Some("meals"),
                Some("eng"),
            ),
            exp(
                "e3",
                100_000,
                "EUR",
                "2026-03-21T10:00:00Z",
                Some("travel"),
                Some("sales"),
            ),
            exp(
                "e4",
                5_000,
                "JPY",
                "2026-03-22T10:00:00Z",
                Some("meals"),
                None,
            ),
            exp(
                "e5",
                999,
                "EUR",
                "2026-04-01T00:00:00Z",
                Some("meals"),
                Some("sales"),
            ),
            Seed {
                external_id: "p1",
                kind: "payment",
                occurred_ms: ms("2026-03-05T00:00:00Z"),
                ..Seed::default()
            },
        ],
    )
    .await;
    let viewer = app.token("viewer").await;
    let get = |q: &'static str| {
        app.client
            .get(app.url(&format!("/api/v1/expenses/summary{q}")))
            .bearer_auth(&viewer)
            .send()
    };
    let body: Value = get("?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["from"], "2026-03-01T00:00:00.000Z");
    let items = body["items"].as_array().unwrap();
    assert!(
        items.contains(&json!({"key": "meals", "amount": "170.00", "currency": "EUR", "count": 2})),
        "{body}"
    );
    assert!(
        items.contains(
            &json!({"key": "travel", "amount": "1000.00", "currency": "EUR", "count": 1})
        ),
        "{body}"
    );
    assert!(
        items.contains(&json!({"key": "meals", "amount": "5000", "currency": "JPY", "count": 1})),
        "{body}"
    );
    assert_eq!(items.len(), 3, "payments and April are outside: {body}");

    let body: Value = get("?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=department")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().unwrap();
    assert!(
        items
            .contains(&json!({"key": "sales", "amount": "1125.50", "currency": "EUR", "count": 2})),
        "{body}"
    );
    assert!(
        items.contains(&json!({"key": null, "amount": "5000", "currency": "JPY", "count": 1})),
        "{body}"
    );

    // Without from/to: the current month (nothing seeded there).
    let body: Value = get("").await.unwrap().json().await.unwrap();
    assert_eq!(body["items"], json!([]));
    assert!(body["from"].as_str().unwrap() < body["to"].as_str().unwrap());

    for q in [
        "?group_by=merchant",
        "?from=yesterday",
        "?from=2026-04-01T00:00:00Z&to=2026-03-01T00:00:00Z",
        "?from=2026-03-01T00:00:00Z%27%20OR%201=1",
        "?unknown=1",
    ] {
        assert_error(get(q).await.unwrap(), 400, "bad_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expenses_without_a_category_are_categorised_by_the_model() {
    let app = crate::helpers::spawn_app().await;
    let key = app.api_key(&["ingest", "read"]).await;
    let body = serde_json::json!({"external_id": "exp-cat-1", "account_id": "CORP-sales", "amount": "42.50", "currency": "EUR",
        "occurred_at": "2026-11-30T12:00:00Z", "merchant": "Grand Hotel", "merchant_category": "7011",
        "description": "hotel room for the client visit", "submitted_by": "ann@example.com", "department": "sales"});
    let resp = app
        .client
        .post(app.url("/api/v1/expenses"))
        .header("x-api-key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: serde_json::Value = resp.json().await.unwrap();
    let t = &v["transaction"];
    assert!(t["category"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert_eq!(t["category_source"], "model");
    assert!(t["category_confidence"]
        .as_f64()
        .is_some_and(|c| c > 0.0 && c <= 1.0));
    // Read back from the store the same way, and a replay is still the same payload.
    let id = t["id"].as_str().unwrap();
    let back: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/transactions/{id}")))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored = if back.get("transaction").is_some() {
        &back["transaction"]
    } else {
        &back
    };
    assert_eq!(stored["category_source"], "model", "{back}");
    let replay = app
        .client
        .post(app.url("/api/v1/expenses"))
        .header("x-api-key", &key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    // A category the sender gives is kept.
    let mut given = body.clone();
    given["external_id"] = "exp-cat-2".into();
    given["category"] = "meals".into();
    let v: serde_json::Value = app
        .client
        .post(app.url("/api/v1/expenses"))
        .header("x-api-key", &key)
        .json(&given)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["transaction"]["category"], "meals");
    assert!(v["transaction"]["category_source"].is_null());
}
