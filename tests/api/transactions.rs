//! Ingestion over HTTP: single, batch (JSON and NDJSON), CSV import, idempotency (including a
//! concurrent race), validation of hostile input, alerts and roll-ups written with the
//! transaction, listing with filters and cursor pagination, expenses, durability under
//! `kill -9`, and a full database.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::*;

pub fn txn(id: &str, account: &str, amount: Value) -> Value {
    json!({
        "external_id": id, "account_id": account, "amount": amount, "currency": "USD",
        "occurred_at": "2026-01-05T10:00:00Z", "kind": "payment", "merchant": "Grocer",
        "country": "DE", "channel": "online", "device_id": "d1", "ip": "10.0.0.1"
    })
}

pub async fn post(app: &TestApp, key: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("X-API-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn get_json(app: &TestApp, key: &str, path: &str) -> (u16, Value) {
    let r = app
        .client
        .get(app.url(path))
        .header("X-API-Key", key)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.state
        .store
        .read_async(move |c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_is_scored_stored_and_read_back_in_minor_units() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let reader = app.api_key(&["read"]).await;
    let r = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("t-1", "acc-1", json!(125.5)),
    )
    .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["transaction"]["amount"], "125.50");
    assert_eq!(body["transaction"]["currency"], "USD");
    assert_eq!(body["decision"], "allow");
    assert!(body["score"].as_i64().unwrap() < 50);
    assert!(body["reasons"].is_array());
    assert!(body["alert_id"].is_null());
    assert!(body.get("model_version").is_some());
    let id = body["transaction"]["id"].as_str().unwrap();
    let (status, stored) = get_json(&app, &reader, &format!("/api/v1/transactions/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored["external_id"], "t-1");
    assert_eq!(stored["account_id"], "acc-1");
    let minor: i64 = app
        .state
        .store
        .read_async(|c| Ok(c.query_row("SELECT amount_minor FROM transactions", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(minor, 12550);
    let features: String = app
        .state
        .store
        .read_async(|c| Ok(c.query_row("SELECT features FROM transactions", [], |r| r.get(0))?))
        .await
        .unwrap();
    let features: Value = serde_json::from_str(&features).unwrap();
    assert_eq!(features["amount"], 125.5);
    let (status, _) = get_json(&app, &reader, "/api/v1/transactions/no-such-id").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_external_id_returns_original_decision_and_a_changed_payload_conflicts() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let first: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("r-1", "a", json!("10.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    // The same payload written differently is the same payload.
    let r = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("r-1", "a", json!(10)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again, first);
    let r = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("r-1", "a", json!("10.01")),
    )
    .await;
    assert_error(r, 409, "conflict").await;
    // Another sender has its own namespace.
    let other = app.api_key(&["ingest"]).await;
    let r = post(
        &app,
        &other,
        "/api/v1/transactions",
        &txn("r-1", "a", json!("10.01")),
    )
    .await;
    assert_eq!(r.status(), 201);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM transactions").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_external_id_posted_concurrently_stores_one_row() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let body = txn("race-1", "racer", json!("99.99"));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, url, key, body) = (
            app.client.clone(),
            app.url("/api/v1/transactions"),
            key.clone(),
            body.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("X-API-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v["transaction"]["id"].as_str().unwrap().to_owned())
        }));
    }
    let mut created = 0;
    let mut ids = HashSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert!(status == 201 || status == 200, "{status}");
        created += usize::from(status == 201);
        ids.insert(id);
    }
    assert_eq!(created, 1, "exactly one request created the row");
    assert_eq!(ids.len(), 1, "every answer names the same transaction");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM transactions").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_field_is_named_and_unknown_fields_are_refused() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let bad = json!({
        "external_id": "x".repeat(500), "account_id": 42, "amount": "1.234", "currency": "USD",
        "occurred_at": "not a time", "kind": "gift", "merchant_category": "ABCD",
        "country": "Germany", "channel": "fax", "ip": "1.2.3", "email": "a@", "metadata": "x",
        "is_admin": true
    });
    let r = post(&app, &key, "/api/v1/transactions", &bad).await;
    let body = assert_error(r, 422, "validation_failed").await;
    let fields: HashSet<String> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    for f in [
        "external_id",
        "account_id",
        "amount",
        "occurred_at",
        "kind",
        "merchant_category",
        "country",
        "channel",
        "ip",
        "email",
        "metadata",
        "is_admin",
    ] {
        assert!(fields.contains(f), "{f} named in {fields:?}");
    }
    for (amount, currency) in [
        (json!("1e5"), "USD"),
        (json!(1e300), "USD"),
        (json!("-5"), "USD"),
        (json!("0"), "USD"),
        (json!("99999999999999999999"), "USD"),
        (json!("1.5"), "JPY"),
        (json!("10"), "usd"),
        (json!("10"), "ZZZ"),
        (json!([1]), "USD"),
    ] {
        let mut t = txn("m", "a", amount.clone());
        t["currency"] = json!(currency);
        let r = post(&app, &key, "/api/v1/transactions", &t).await;
        assert_error(r, 422, "validation_failed").await;
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM transactions").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_is_stored_verbatim_and_never_executed() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let reader = app.api_key(&["read"]).await;
    let mut t = txn(
        "'; DROP TABLE transactions; --",
        "acc\"<script>alert(1)</script>",
        json!("5"),
    );
    t["merchant"] = json!("Café ☕ <img src=x onerror=alert(1)>");
    t["description"] = json!("Robert'); DELETE FROM accounts;--");
    let r = post(&app, &key, "/api/v1/transactions", &t).await;
    assert_eq!(r.status(), 201);
    let (_, list) = get_json(&app, &reader, "/api/v1/transactions?q=%27%3B%20DROP").await;
    assert_eq!(
        list["items"][0]["merchant"],
        "Café ☕ <img src=x onerror=alert(1)>"
    );
    let (_, list) = get_json(&app, &reader, "/api/v1/transactions?q=%25").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        0,
        "% is a literal, not a wildcard"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM accounts").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_mistyped_bodies_get_their_status() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let r = app
        .client
        .post(app.url("/api/v1/transactions"))
        .header("X-API-Key", &key)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
    let r = app
        .client
        .post(app.url("/api/v1/transactions"))
        .header("X-API-Key", &key)
        .header("Content-Type", "application/json")
        .body("{\"external_id\":")
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "bad_request").await;
    let mut t = txn("big", "a", json!("1"));
    t["description"] = json!("x".repeat(300 * 1024));
    let r = post(&app, &key, "/api/v1/transactions", &t).await;
    assert_error(r, 413, "payload_too_large").await;
    let r = post(&app, &key, "/api/v1/transactions", &json!([1, 2])).await;
    assert_error(r, 422, "validation_failed").await;
    let reader = app.api_key(&["read"]).await;
    let r = post(
        &app,
        &reader,
        "/api/v1/transactions",
        &txn("x", "a", json!("1")),
    )
    .await;
    assert_error(r, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_keeps_good_items_beside_bad_ones_in_input_order() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("b-0", "a", json!("1.00")),
    )
    .await;
    let batch = json!([
        txn("b-0", "a", json!("1.00")),
        txn("b-1", "a", json!("2.00")),
        {"external_id": "b-2", "amount": "oops"},
        txn("b-3", "b", json!("3.00")),
        txn("b-0", "a", json!("9.99")),
    ]);
    let r = post(&app, &key, "/api/v1/transactions/batch", &batch).await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["accepted"], 2);
    assert_eq!(s["duplicates"], 1);
    let rejected: Vec<i64> = s["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .collect();
    assert_eq!(rejected, vec![2, 4]);
    assert_eq!(s["rejected"][0]["error"]["code"], "validation_failed");
    assert_eq!(s["rejected"][1]["error"]["code"], "conflict");
    let statuses: Vec<&str> = s["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["duplicate", "created", "rejected", "created", "rejected"]
    );
    assert_eq!(s["items"][1]["external_id"], "b-1");
    assert!(s["items"][1]["decision"].is_string());
    assert_eq!(
        s["decisions"]["allow"].as_i64().unwrap()
            + s["decisions"]["review"].as_i64().unwrap()
            + s["decisions"]["block"].as_i64().unwrap(),
        3
    );

    let nd = format!(
        "{}\nnot json\n{}\n",
        txn("n-1", "c", json!("1")),
        txn("n-2", "c", json!("2"))
    );
    let r = app
        .client
        .post(app.url("/api/v1/transactions/batch"))
        .header("X-API-Key", &key)
        .header("Content-Type", "application/x-ndjson")
        .body(nd)
        .send()
        .await
        .unwrap();
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["accepted"], 2);
    assert_eq!(s["rejected"][0]["index"], 1);

    let too_many: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    let r = post(&app, &key, "/api/v1/transactions/batch", &json!(too_many)).await;
    assert_error(r, 413, "payload_too_large").await;
    let r = post(&app, &key, "/api/v1/transactions/batch", &json!({"a": 1})).await;
    assert_error(r, 422, "validation_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_scores_every_row_and_reports_bad_ones() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let csv = "external_id,account_id,amount,currency,occurred_at,kind,merchant,metadata\n\
               c-1,acc,12.50,EUR,2026-01-05T10:00:00Z,payment,Shop,\"{\"\"k\"\":1}\"\n\
               c-2,acc,1.234,EUR,2026-01-05T10:01:00Z,payment,Shop,\n\
               c-3,acc,7,JPY,2026-01-05T10:02:00Z,refund,,\n";
    let r = app
        .client
        .post(app.url("/api/v1/transactions/import"))
        .header("X-API-Key", &key)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["accepted"], 2);
    assert_eq!(s["rejected"][0]["index"], 1);
    assert_eq!(s["rejected"][0]["error"]["details"][0]["field"], "amount");
    let r = app
        .client
        .post(app.url("/api/v1/transactions/import"))
        .header("X-API-Key", &key)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "unsupported_media_type").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_decision_writes_its_alert_and_roll_ups_with_the_transaction() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let mut events = app.state.events.subscribe();
    post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("s-1", "smurf", json!("9500")),
    )
    .await;
    let mut t = txn("s-2", "smurf", json!("9700"));
    t["occurred_at"] = json!("2026-01-05T11:00:00Z");
    let r: Value = post(&app, &key, "/api/v1/transactions", &t)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["decision"], "review", "{r}");
    assert!(r["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "rule:structuring"));
    let alert_id = r["alert_id"].as_str().unwrap().to_owned();
    let a = alert_id.clone();
    let (kind, status, rank, txn_id): (String, String, i64, String) = app
        .state
        .store
        .read_async(move |c| {
            Ok(c.query_row(
                "SELECT type, status, severity_rank, transaction_id FROM alerts WHERE id = ?1",
                [a],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!((kind.as_str(), status.as_str()), ("transaction", "open"));
    assert!(rank >= 2);
    assert_eq!(txn_id, r["transaction"]["id"].as_str().unwrap());
    assert_eq!(
        count(&app, "SELECT SUM(transactions) FROM stats_minute").await,
        2
    );
    assert_eq!(count(&app, "SELECT SUM(review) FROM stats_minute").await, 1);
    assert_eq!(count(&app, "SELECT SUM(alerts) FROM stats_minute").await, 1);
    let event = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            let e = events.recv().await.unwrap();
            if e.kind == "alert.created" {
                break e;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(event.data["id"], alert_id);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("ledgerguard_transactions_scored_total{decision=\"review\"}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_returns_every_row_exactly_once_and_filters_apply() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let reader = app.api_key(&["read"]).await;
    let items: Vec<Value> = (0..23)
        .map(|i| {
            let mut t = txn(
                &format!("p-{i}"),
                if i % 2 == 0 { "even" } else { "odd" },
                json!("30.00"),
            );
            // Several share a timestamp so the id tie-break is exercised.
            t["occurred_at"] = json!(format!("2026-01-05T10:{:02}:00Z", i / 3));
            t
        })
        .collect();
    post(&app, &key, "/api/v1/transactions/batch", &json!(items)).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/transactions?limit=5&cursor={c}"),
            None => "/api/v1/transactions?limit=5".into(),
        };
        let (status, page) = get_json(&app, &reader, &path).await;
        assert_eq!(status, 200);
        for i in page["items"].as_array().unwrap() {
            seen.push(i["external_id"].as_str().unwrap().to_owned());
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 23);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        23,
        "no row twice"
    );
    let (_, odd) = get_json(
        &app,
        &reader,
        "/api/v1/transactions?account_id=odd&limit=500",
    )
    .await;
    assert_eq!(odd["items"].as_array().unwrap().len(), 11);
    let (_, allow) = get_json(&app, &reader, "/api/v1/transactions?decision=allow&kind=payment&min_score=0&from=2026-01-05T10:03:00Z&to=2026-01-05T10:05:00Z").await;
    assert_eq!(allow["items"].as_array().unwrap().len(), 6);
    for bad in [
        "decision=maybe",
        "min_score=500",
        "from=yesterday",
        "kind=gift",
    ] {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/transactions?{bad}")))
            .header("X-API-Key", &reader)
            .send()
            .await
            .unwrap();
        assert_error(r, 422, "validation_failed").await;
    }
    for bad in ["cursor=garbage", "limit=0", "limit=abc", "surprise=1"] {
        let r = app
            .client
            .get(app.url(&format!("/api/v1/transactions?{bad}")))
            .header("X-API-Key", &reader)
            .send()
            .await
            .unwrap();
        assert_error(r, 400, "bad_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expenses_use_the_same_pipeline_with_expense_defaults_and_filters() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let reader = app.api_key(&["read"]).await;
    let claim = json!({
        "external_id": "e-1", "account_id": "emp-1", "amount": "42.00", "currency": "EUR",
        "occurred_at": "2026-01-05T12:00:00Z", "merchant": "Hotel", "submitted_by": "ann@corp",
        "department": "sales", "category": "travel"
    });
    let r = post(&app, &key, "/api/v1/expenses", &claim).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["transaction"]["kind"], "expense");
    assert_eq!(body["transaction"]["category"], "travel");
    post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("p", "x", json!("1")),
    )
    .await;
    let (_, list) = get_json(
        &app,
        &reader,
        "/api/v1/expenses?submitted_by=ann%40corp&department=sales",
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = get_json(&app, &reader, "/api/v1/expenses").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "payments are not expenses"
    );
    let (_, list) = get_json(&app, &reader, "/api/v1/transactions?kind=expense").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = get_json(&app, &reader, "/api/v1/expenses?category=food").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

/// Acknowledged means durable: load from several clients, SIGKILL mid-load, restart, and
/// every acknowledged external_id is still there.
#[test]
fn acknowledged_transactions_survive_kill_9() {
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = crate::cli::write_config(dir.path(), &format!("127.0.0.1:{port}"), "");
    let out = Command::new(binary())
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "apikey",
            "create",
            "--name",
            "load",
            "--scopes",
            "ingest",
        ])
        .env_remove("LEDGERGUARD_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let key = stdout
        .split_whitespace()
        .find(|w| w.starts_with("lg_"))
        .expect("key printed")
        .to_owned();
    let serve = || {
        Command::new(binary())
            .args(["--config", cfg.to_str().unwrap(), "serve"])
            .env_remove("LEDGERGUARD_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let url = format!("http://127.0.0.1:{port}");
    let wait_ready = |client: &reqwest::blocking::Client| {
        let start = Instant::now();
        while client
            .get(format!("{url}/health/ready"))
            .send()
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(start.elapsed() < Duration::from_secs(30), "server starts");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut child = serve();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    wait_ready(&client);
    let acked = Arc::new(Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (acked, stop, key, url) = (acked.clone(), stop.clone(), key.clone(), url.clone());
        workers.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            for i in 0..5_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let body = txn(
                    &format!("k-{w}-{i}"),
                    &format!("acc-{}", i % 50),
                    json!("12.34"),
                );
                match client
                    .post(format!("{url}/api/v1/transactions"))
                    .header("X-API-Key", &key)
                    .json(&body)
                    .send()
                {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(body),
                    _ => break,
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 10,
        "load ran before the kill ({} acked)",
        acked.len()
    );
    let mut child = serve();
    wait_ready(&client);
    for body in &acked {
        let r = client
            .post(format!("{url}/api/v1/transactions"))
            .header("X-API-Key", &key)
            .json(body)
            .send()
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "acknowledged {} is still stored",
            body["external_id"]
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("data/ledgerguard.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

fn import_cmd(cfg: &std::path::Path, file: &std::path::Path) -> std::process::Output {
    std::process::Command::new(binary())
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "import",
            file.to_str().unwrap(),
        ])
        .env_remove("LEDGERGUARD_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn the_cli_import_scores_every_row_and_reports_duplicates_on_a_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::cli::write_config(dir.path(), "127.0.0.1:0", "");
    let file = dir.path().join("history.csv");
    std::fs::write(
        &file,
        "external_id,account_id,amount,currency,occurred_at,kind,label\n\
         i-1,acc,10.00,USD,2026-01-05T10:00:00Z,payment,legitimate\n\
         i-2,acc,oops,USD,2026-01-05T10:01:00Z,payment,\n\
         i-3,acc,20.00,USD,2026-01-05T10:02:00Z,payment,\n",
    )
    .unwrap();
    let out = import_cmd(&cfg, &file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 accepted") && stdout.contains("1 rejected"),
        "{stdout}"
    );
    assert!(
        stdout.contains("progress:"),
        "plain progress lines without a terminal: {stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 2: amount"));
    let out = import_cmd(&cfg, &file);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 duplicates"));
    let conn = rusqlite::Connection::open(dir.path().join("data/ledgerguard.db")).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM transactions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let nd = dir.path().join("more.ndjson");
    std::fs::write(&nd, format!("{}\n", txn("i-4", "acc", json!("5.00")))).unwrap();
    let out = import_cmd(&cfg, &nd);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 accepted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_import_refuses_while_a_server_holds_the_data_dir() {
    let app = spawn_app().await;
    let cfg = crate::cli::write_config(app.dir.path(), "127.0.0.1:0", "");
    let file = app.dir.path().join("x.csv");
    std::fs::write(&file, "external_id\nx\n").unwrap();
    let out = import_cmd(&cfg, &file);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("API import"));
}

/// A full disk (here: the database capped at its current size with `max_page_count` on the
/// writer's connection) refuses new writes with 503 and stores nothing half-way; what was
/// acknowledged before stays, and ingestion resumes once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_writes_with_503_and_recovers() {
    let app = spawn_app().await;
    let key = app.api_key(&["ingest"]).await;
    let r = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("before", "acc-f", json!(10)),
    )
    .await;
    assert_eq!(r.status(), 201);
    let cap = |pages: Option<i64>| {
        app.state.store.writer.write(move |c| {
            let now: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            let limit = pages.unwrap_or(now);
            Ok(
                c.query_row(&format!("PRAGMA max_page_count = {limit}"), [], |r| {
                    r.get::<_, i64>(0)
                })?,
            )
        })
    };
    cap(None).await.unwrap();

    // Enough rows to need new pages: each is refused, none is stored.
    let mut refused = 0;
    for i in 0..300 {
        let body = txn(&format!("full-{i}"), &format!("acc-full-{i}"), json!(10));
        let r = post(&app, &key, "/api/v1/transactions", &body).await;
        match r.status().as_u16() {
            201 => continue,
            503 => {
                assert_error(r, 503, "unavailable").await;
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "the cap never bit");
    let batch: Vec<Value> = (0..50)
        .map(|i| txn(&format!("full-batch-{i}"), "acc-fb", json!(5)))
        .collect();
    let r = post(&app, &key, "/api/v1/transactions/batch", &json!(batch)).await;
    assert_eq!(r.status(), 503);

    cap(Some(1_073_741_823)).await.unwrap();
    let stored = count(&app, "SELECT COUNT(*) FROM transactions").await;
    let refused_stored = count(
        &app,
        "SELECT COUNT(*) FROM transactions WHERE external_id LIKE 'full-batch-%'",
    )
    .await;
    assert_eq!(refused_stored, 0, "a refused batch left rows behind");
    assert_eq!(
        stored,
        1 + 300 - refused,
        "only acknowledged rows are stored"
    );
    let (status, _) = get_json(&app, &key, "/api/v1/transactions?limit=1").await;
    assert_eq!(
        status, 403,
        "an ingest key cannot read, the store still answers"
    );
    // Room again: the same items go in, and the earlier one replays.
    let r = post(&app, &key, "/api/v1/transactions/batch", &json!(batch)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], 50);
    let r = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("before", "acc-f", json!(10)),
    )
    .await;
    assert_eq!(r.status(), 200);
    let ok: String = app
        .state
        .store
        .read_async(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(ok, "ok");
}
