//! `POST /api/v1/labels`: bulk outcome labels, per-sender scope, roll-ups, and hostile input.
//! Transactions are written straight into the store here (ingestion is another feature).

use serde_json::{json, Value};

use crate::helpers::*;

/// A transaction to seed directly into the store.
pub struct Seed<'a> {
    pub sender: &'a str,
    pub external_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub occurred_ms: i64,
    pub kind: &'a str,
    pub category: Option<&'a str>,
    pub department: Option<&'a str>,
    pub features: Option<String>,
    pub label: Option<&'a str>,
}

impl Default for Seed<'_> {
    fn default() -> Self {
        Self {
            sender: "key:test",
            external_id: "t-1",
            amount_minor: 1000,
            currency: "EUR",
            occurred_ms: chrono::Utc::now().timestamp_millis(),
            kind: "payment",
            category: None,
            department: None,
            features: None,
            label: None,
        }
    }
}

/// Inserts transactions with the columns ingestion would write; returns their ids.
pub async fn seed(app: &TestApp, seeds: Vec<Seed<'_>>) -> Vec<String> {
    let rows: Vec<_> = seeds
        .into_iter()
        .map(|s| {
            (
                uuid::Uuid::now_v7().to_string(),
                s.sender.to_owned(),
                s.external_id.to_owned(),
                s.amount_minor,
                s.currency.to_owned(),
                s.occurred_ms,
                s.kind.to_owned(),
                s.category.map(str::to_owned),
                s.department.map(str::to_owned),
                s.features,
                s.label.map(str::to_owned),
            )
        })
        .collect();
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    app.state
        .store
        .writer
        .write(move |conn| {
            for r in rows {
                let at = chrono::DateTime::from_timestamp_millis(r.5).unwrap().to_rfc3339();
                conn.execute(
                    "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor,
                        currency, occurred_at, occurred_ms, received_at, kind, category, department, features,
                        label, score, decision, severity, reasons)
                     VALUES (?1, ?2, ?3, 'h', 'acct-1', ?4, ?5, ?6, ?7, ?6, ?8, ?9, ?10, ?11, ?12, 0, 'allow', 'low', '[]')",
                    rusqlite::params![r.0, r.1, r.2, r.3, r.4, at, r.5, r.6, r.7, r.8, r.9, r.10],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    ids
}

/// `(label, label_source, labelled_at)` of a transaction.
pub async fn label_of(app: &TestApp, id: &str) -> (Option<String>, Option<String>, Option<String>) {
    let id = id.to_owned();
    app.state
        .store
        .read_async(move |c| {
            Ok(c.query_row(
                "SELECT label, label_source, labelled_at FROM transactions WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap()
}

async fn fraud_labels_total(app: &TestApp) -> i64 {
    app.state
        .store
        .read_async(|c| {
            Ok(c.query_row(
                "SELECT COALESCE(SUM(fraud_labels), 0) FROM stats_minute",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

async fn post(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/labels"))
        .bearer_auth(auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The sender namespace of an API key secret, as the store names it.
pub async fn key_sender(app: &TestApp, key: &str) -> String {
    let resp = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    format!("key:{}", body["id"].as_str().expect("key id"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_labels_its_own_transactions_and_reports_unknown_ids() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let sender = key_sender(&app, &key).await;
    let occurred = 1_764_000_000_000_i64;
    let ids = seed(
        &app,
        vec![
            Seed {
                sender: &sender,
                external_id: "a",
                occurred_ms: occurred,
                ..Seed::default()
            },
            Seed {
                sender: &sender,
                external_id: "b",
                ..Seed::default()
            },
        ],
    )
    .await;
    let resp = post(
        &app,
        &key,
        json!([
            {"external_id": "a", "outcome": "fraud", "source": "chargeback", "reported_at": "2026-11-30T10:00:00+01:00"},
            {"external_id": "b", "outcome": "legitimate"},
            {"external_id": "nope", "outcome": "fraud"}
        ]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["labelled"], 2);
    assert_eq!(body["unknown"], json!(["nope"]));
    let (label, source, at) = label_of(&app, &ids[0]).await;
    assert_eq!(label.as_deref(), Some("fraud"));
    assert_eq!(source.as_deref(), Some("chargeback"));
    assert_eq!(
        at.as_deref(),
        Some("2026-11-30T09:00:00.000Z"),
        "reported_at in UTC"
    );
    let (label, source, _) = label_of(&app, &ids[1]).await;
    assert_eq!(
        (label.as_deref(), source.as_deref()),
        (Some("legitimate"), Some("import"))
    );

    // The fraud label is counted in the transaction's minute, once, and undone on relabel.
    assert_eq!(fraud_labels_total(&app).await, 1);
    let minute: i64 = app
        .state
        .store
        .read_async(|c| {
            Ok(c.query_row(
                "SELECT minute FROM stats_minute WHERE fraud_labels > 0",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(minute, occurred / 60_000);
    post(
        &app,
        &key,
        json!([{"external_id": "a", "outcome": "fraud"}]),
    )
    .await;
    assert_eq!(
        fraud_labels_total(&app).await,
        1,
        "labelling fraud twice counts once"
    );
    post(
        &app,
        &key,
        json!([{"external_id": "a", "outcome": "legitimate"}]),
    )
    .await;
    assert_eq!(fraud_labels_total(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_cannot_label_another_senders_transaction_but_an_analyst_can() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let ids = seed(
        &app,
        vec![
            Seed {
                sender: "key:someone-else",
                external_id: "x",
                ..Seed::default()
            },
            Seed {
                sender: "key:one",
                external_id: "shared",
                ..Seed::default()
            },
            Seed {
                sender: "key:two",
                external_id: "shared",
                ..Seed::default()
            },
        ],
    )
    .await;
    let body: Value = post(
        &app,
        &key,
        json!([{"external_id": "x", "outcome": "fraud"}]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (body["labelled"].as_u64(), &body["unknown"]),
        (Some(0), &json!(["x"]))
    );
    assert_eq!(label_of(&app, &ids[0]).await.0, None);

    let analyst = app.token("analyst").await;
    let body: Value = post(
        &app,
        &analyst,
        json!([{"external_id": "x", "outcome": "fraud"}, {"external_id": "shared", "outcome": "fraud"}]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["labelled"], 1);
    assert_eq!(
        body["ambiguous"],
        json!(["shared"]),
        "two senders share the id: left alone"
    );
    let (label, source, _) = label_of(&app, &ids[0]).await;
    assert_eq!(
        (label.as_deref(), source.as_deref()),
        (Some("fraud"), Some("analyst"))
    );
    assert_eq!(label_of(&app, &ids[1]).await.0, None);

    let viewer = app.token("viewer").await;
    assert_error(post(&app, &viewer, json!([])).await, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_batches_are_accepted() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let sender = key_sender(&app, &key).await;
    let ids = seed(
        &app,
        vec![Seed {
            sender: &sender,
            external_id: "n1",
            ..Seed::default()
        }],
    )
    .await;
    let resp = app
        .client
        .post(app.url("/api/v1/labels"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body("{\"external_id\":\"n1\",\"outcome\":\"fraud\",\"source\":\"customer_report\"}\n\n{\"external_id\":\"n2\",\"outcome\":\"legitimate\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["labelled"].as_u64(), &body["unknown"]),
        (Some(1), &json!(["n2"]))
    );
    assert_eq!(
        label_of(&app, &ids[0]).await.1.as_deref(),
        Some("customer_report")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_hostile_batches_are_refused_whole() {
    let app = spawn_app_with(|s| s.server.max_batch_items = 4).await;
    let key = app.api_key(&["ingest"]).await;
    let sender = key_sender(&app, &key).await;
    let ids = seed(
        &app,
        vec![Seed {
            sender: &sender,
            external_id: "ok",
            ..Seed::default()
        }],
    )
    .await;

    // One bad item refuses the batch and names every bad field by index.
    let resp = post(
        &app,
        &key,
        json!([
            {"external_id": "ok", "outcome": "fraud"},
            {"external_id": "ok", "outcome": "stolen", "source": "psychic", "reported_at": "yesterday", "extra": 1},
            {"external_id": 12, "outcome": "fraud"}
        ]),
    )
    .await;
    let body = assert_error(resp, 422, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "[1].outcome",
        "[1].source",
        "[1].reported_at",
        "[1].extra",
        "[2].external_id",
    ] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    assert_eq!(label_of(&app, &ids[0]).await.0, None, "nothing applied");

    let too_many = json!((0..5)
        .map(|i| json!({"external_id": format!("e{i}"), "outcome": "fraud"}))
        .collect::<Vec<_>>());
    assert_error(post(&app, &key, too_many).await, 413, "payload_too_large").await;
    assert_error(
        post(&app, &key, json!({"external_id": "ok"})).await,
        422,
        "validation_failed",
    )
    .await;
    let long = "x".repeat(201);
    assert_error(
        post(
            &app,
            &key,
            json!([{"external_id": long, "outcome": "fraud"}]),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;

    let raw = |ct: &'static str, body: &'static str| {
        app.client
            .post(app.url("/api/v1/labels"))
            .bearer_auth(&key)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_error(
        raw("application/json", "[{\"external_id\":").await.unwrap(),
        400,
        "bad_request",
    )
    .await;
    assert_error(
        raw("text/plain", "[]").await.unwrap(),
        415,
        "unsupported_media_type",
    )
    .await;
    assert_error(
        raw("application/x-ndjson", "{nope}\n").await.unwrap(),
        400,
        "bad_request",
    )
    .await;

    // SQL metacharacters, markup and unicode are just unknown ids.
    let hostile = [
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "ок🙂\u{202e}",
        "\"; DROP TABLE transactions; --",
    ];
    let body: Value = post(
        &app,
        &key,
        json!(hostile
            .iter()
            .map(|h| json!({"external_id": h, "outcome": "fraud"}))
            .collect::<Vec<_>>()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["labelled"], 0);
    assert_eq!(body["unknown"], json!(hostile));
    assert_eq!(label_of(&app, &ids[0]).await.0, None);
}
