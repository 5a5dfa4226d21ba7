//! Alert cases over HTTP: the queue, detail, the status machine, comments and resolve.
//!
//! Alerts are raised by the scoring pipeline; until that pipeline is on this branch the tests
//! seed the rows an alert-raising transaction leaves (transaction, account, alert, roll-up)
//! through the store, the way the helpers seed users, and then talk HTTP only.

use serde_json::{json, Value};

use crate::helpers::*;

/// Seeds a scored transaction with its alert; returns the alert id.
pub async fn seed_alert(app: &TestApp, severity: &str, created_at: &str, account: &str) -> String {
    let (account, severity, created_at) = (
        account.to_owned(),
        severity.to_owned(),
        created_at.to_owned(),
    );
    app.state
        .store
        .writer
        .write(move |conn| {
            let txn = ledgerguard::store::new_id();
            let alert = ledgerguard::store::new_id();
            let now = ledgerguard::store::now_rfc3339();
            let rank = match severity.as_str() {
                "low" => 1,
                "medium" => 2,
                "high" => 3,
                _ => 4,
            };
            conn.execute(
                "INSERT OR IGNORE INTO accounts (account_ref, created_at, updated_at, last_seen_at, txn_count)
                 VALUES (?1, ?2, ?2, ?2, 1)",
                rusqlite::params![account, now],
            )?;
            conn.execute(
                "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor,
                   currency, occurred_at, occurred_ms, received_at, kind, score, decision, severity, reasons, alert_id)
                 VALUES (?1, 'key:test', ?1, 'h', ?2, 12550, 'USD', ?3, 0, ?4, 'payment', 92, 'block', ?5,
                   '[{\"code\":\"velocity\",\"message\":\"9 payments in a minute\",\"weight\":40}]', ?6)",
                rusqlite::params![txn, account, created_at, now, severity, alert],
            )?;
            conn.execute(
                "INSERT INTO alerts (id, type, severity, severity_rank, status, score, reasons, transaction_id,
                   account_ref, created_at, updated_at)
                 VALUES (?1, 'transaction', ?2, ?3, 'open', 92,
                   '[{\"code\":\"velocity\",\"message\":\"9 payments in a minute\",\"weight\":40}]', ?4, ?5, ?6, ?6)",
                rusqlite::params![alert, severity, rank, txn, account, created_at],
            )?;
            let mut tally = ledgerguard::transactions::store::MinuteTally {
                transactions: 1,
                block: 1,
                alerts: 1,
                ..Default::default()
            };
            tally.blocked.insert("USD", 12550);
            ledgerguard::transactions::store::add_stats(conn, ledgerguard::stats::rollup::now_minute(), &tally)?;
            Ok(alert)
        })
        .await
        .unwrap()
}

/// The id of the user behind `token`.
pub async fn user_id(app: &TestApp, token: &str) -> String {
    let me: Value = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["id"]
        .as_str()
        .or_else(|| me["user"]["id"].as_str())
        .expect("me has an id")
        .to_owned()
}

pub async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/alerts/{id}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub async fn get_json(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    let resp = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_shows_highest_severity_first_then_oldest_and_pages_through_everything() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let low = seed_alert(&app, "low", "2026-03-01T10:00:00.000Z", "acct-1").await;
    let crit_new = seed_alert(&app, "critical", "2026-03-01T12:00:00.000Z", "acct-2").await;
    let crit_old = seed_alert(&app, "critical", "2026-03-01T09:00:00.000Z", "acct-1").await;
    let high = seed_alert(&app, "high", "2026-03-01T08:00:00.000Z", "acct-3").await;

    let (status, page) = get_json(&app, &viewer, "/api/v1/alerts").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            crit_old.as_str(),
            crit_new.as_str(),
            high.as_str(),
            low.as_str()
        ]
    );
    assert!(page["next_cursor"].is_null());
    let first = &page["items"][0];
    for key in [
        "id",
        "type",
        "severity",
        "status",
        "score",
        "reasons",
        "transaction_id",
        "account_id",
        "budget_id",
        "assignee_id",
        "created_at",
        "updated_at",
    ] {
        assert!(first.get(key).is_some(), "alert has `{key}`: {first}");
    }

    let mut seen = Vec::new();
    let mut path = "/api/v1/alerts?limit=1".to_owned();
    for _ in 0..10 {
        let (_, page) = get_json(&app, &viewer, &path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/alerts?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen, ids,
        "cursor pages return every alert exactly once, in order"
    );

    let (_, page) = get_json(
        &app,
        &viewer,
        "/api/v1/alerts?severity=critical,high&account_id=acct-1",
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], crit_old.as_str());
    let (_, page) = get_json(
        &app,
        &viewer,
        "/api/v1/alerts?from=2026-03-01T09:30:00Z&to=2026-03-01T11:00:00%2B00:00",
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], low.as_str());
    let (_, page) = get_json(
        &app,
        &viewer,
        "/api/v1/alerts?assignee=none&status=open&type=transaction",
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    let (_, page) = get_json(
        &app,
        &viewer,
        "/api/v1/alerts?account_id=acct-1%27%20OR%20%271%27=%271",
    )
    .await;
    assert_eq!(
        page["items"].as_array().unwrap().len(),
        0,
        "SQL in a filter is a value"
    );

    for bad in [
        "status=closed",
        "severity=urgent",
        "type=other",
        "from=yesterday",
        "limit=0",
        "cursor=garbage",
        "limit=-1",
        "colour=red",
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/alerts?{bad}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_error(resp, 400, "bad_request").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_works_a_case_from_open_to_resolved_and_the_transaction_is_labelled() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let analyst_id = user_id(&app, &analyst).await;
    let admin = app.token("admin").await;
    let id = seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-9").await;

    let resp = patch(
        &app,
        &analyst,
        &id,
        json!({"status": "investigating", "assignee_id": analyst_id}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let alert: Value = resp.json().await.unwrap();
    assert_eq!(alert["status"], "investigating");
    assert_eq!(alert["assignee_id"], analyst_id.as_str());

    let (_, mine) = get_json(&app, &analyst, "/api/v1/alerts?assignee=me").await;
    assert_eq!(mine["items"][0]["id"], id.as_str());

    let hostile = "<script>alert(1)</script> ' OR 1=1; -- 🕵️ Zürich";
    let resp = post(
        &app,
        &analyst,
        &format!("/api/v1/alerts/{id}/comments"),
        json!({"body": hostile}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let comment: Value = resp.json().await.unwrap();
    assert_eq!(
        comment["body"], hostile,
        "stored verbatim; escaping is the renderer's job"
    );

    let resp = post(
        &app,
        &analyst,
        &format!("/api/v1/alerts/{id}/resolve"),
        json!({"outcome": "fraud", "note": "cardholder confirmed"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let alert: Value = resp.json().await.unwrap();
    assert_eq!(alert["status"], "resolved");
    assert_eq!(alert["outcome"], "fraud");

    let (status, detail) = get_json(&app, &analyst, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(detail["alert"]["id"], id.as_str());
    assert_eq!(detail["transaction"]["label"], "fraud");
    assert_eq!(detail["transaction"]["label_source"], "analyst");
    assert!(detail["transaction"]["labelled_at"].is_string());
    assert_eq!(detail["transaction"]["amount"], "125.50");
    assert_eq!(detail["account"]["account_id"], "acct-9");
    let comments: Vec<&str> = detail["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(comments, [hostile, "cardholder confirmed"]);
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        ["status_changed", "assigned", "commented", "resolved"]
    );

    let (_, audit) = get_json(&app, &admin, &format!("/api/v1/audit?target_id={id}")).await;
    let mut actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        ["alert.commented", "alert.resolved", "alert.updated"]
    );

    let (_, overview) = get_json(&app, &analyst, "/api/v1/stats/overview").await;
    assert_eq!(
        overview["fraud_rate_30d"], 1.0,
        "one transaction, labelled fraud: {overview}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_transitions_are_conflicts_and_final_states_stay_final() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let a = seed_alert(&app, "medium", "2026-03-01T10:00:00.000Z", "acct-1").await;
    let b = seed_alert(&app, "medium", "2026-03-01T10:00:00.000Z", "acct-1").await;

    assert_error(
        patch(&app, &analyst, &a, json!({"status": "resolved"})).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        patch(&app, &analyst, &a, json!({"status": "investigating"}))
            .await
            .status(),
        200
    );
    assert_error(
        patch(&app, &analyst, &a, json!({"status": "open"})).await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(
        post(
            &app,
            &analyst,
            &format!("/api/v1/alerts/{a}/resolve"),
            json!({"outcome": "legitimate"})
        )
        .await
        .status(),
        200
    );
    assert_error(
        post(
            &app,
            &analyst,
            &format!("/api/v1/alerts/{a}/resolve"),
            json!({"outcome": "fraud"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        patch(&app, &analyst, &a, json!({"status": "dismissed"})).await,
        409,
        "conflict",
    )
    .await;

    assert_eq!(
        patch(&app, &analyst, &b, json!({"status": "dismissed"}))
            .await
            .status(),
        200
    );
    assert_error(
        patch(&app, &analyst, &b, json!({"status": "investigating"})).await,
        409,
        "conflict",
    )
    .await;
    assert_error(
        post(
            &app,
            &analyst,
            &format!("/api/v1/alerts/{b}/resolve"),
            json!({"outcome": "fraud"}),
        )
        .await,
        409,
        "conflict",
    )
    .await;
    let (_, detail) = get_json(&app, &analyst, &format!("/api/v1/alerts/{b}")).await;
    assert!(
        detail["transaction"]["label"].is_null(),
        "a refused resolve labels nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_hostile_and_unauthorised_case_changes_are_refused() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let viewer = app.token("viewer").await;
    let viewer_id = user_id(&app, &viewer).await;
    let id = seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await;
    let comments = format!("/api/v1/alerts/{id}/comments");
    let resolve = format!("/api/v1/alerts/{id}/resolve");

    assert_error(
        patch(&app, &viewer, &id, json!({"status": "investigating"})).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(
        patch(&app, &analyst, &id, json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(&app, &analyst, &id, json!({"status": "closed"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(&app, &analyst, &id, json!({"status": 7})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(
            &app,
            &analyst,
            &id,
            json!({"status": "investigating", "priority": 1}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(&app, &analyst, &id, json!({"assignee_id": viewer_id})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(
            &app,
            &analyst,
            &id,
            json!({"assignee_id": "x'; DROP TABLE alerts; --"}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        patch(
            &app,
            &analyst,
            "00000000-0000-7000-8000-000000000000",
            json!({"status": "investigating"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let (status, _) = get_json(&app, &analyst, "/api/v1/alerts/%3Cscript%3E").await;
    assert_eq!(status, 404);

    assert_error(
        post(&app, &analyst, &comments, json!({"body": "   "})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(
            &app,
            &analyst,
            &comments,
            json!({"body": "x".repeat(5_001)}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(&app, &analyst, &comments, json!({"body": 12})).await,
        422,
        "validation_failed",
    )
    .await;
    let huge = json!({"body": "x".repeat(300 * 1024)});
    assert_error(
        post(&app, &analyst, &comments, huge).await,
        413,
        "payload_too_large",
    )
    .await;
    let resp = app
        .client
        .post(app.url(&comments))
        .bearer_auth(&analyst)
        .body(r#"{"body":"#)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_error(resp, 400, "bad_request").await;
    let resp = app
        .client
        .post(app.url(&comments))
        .bearer_auth(&analyst)
        .body("body=hi")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_error(resp, 415, "unsupported_media_type").await;

    assert_error(
        post(&app, &analyst, &resolve, json!({"outcome": "maybe"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(&app, &analyst, &resolve, json!({"note": "no outcome"})).await,
        422,
        "validation_failed",
    )
    .await;
    assert_error(
        post(&app, &viewer, &resolve, json!({"outcome": "fraud"})).await,
        403,
        "forbidden",
    )
    .await;
    let (_, detail) = get_json(&app, &analyst, &format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        detail["alert"]["status"], "open",
        "nothing refused changed the case"
    );
    assert!(detail["comments"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingested_block_raises_an_alert_that_streams_posts_a_webhook_and_resolves_into_a_label()
{
    use crate::webhooks::{create_hook, Receiver};
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let admin = app.token("admin").await;
    let viewer = app.token("viewer").await;
    let key = app.api_key(&["ingest"]).await;
    let rule = json!({"name": "big_payment", "expression": "txn.amount_minor >= 100000", "score": 90, "action": "block"});
    assert_eq!(
        post(&app, &analyst, "/api/v1/rules", rule).await.status(),
        201
    );
    let receiver = Receiver::start(std::sync::Arc::new(|_| Some(200))).await;
    create_hook(&app, &admin, &receiver.url, json!(["alert.created"])).await;
    let mut stream = app
        .client
        .get(app.url("/api/v1/events"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let body = crate::transactions::txn("wf-1", "acct-wf", json!("1000.00"));
    let resp = crate::transactions::post(&app, &key, "/api/v1/transactions", &body).await;
    assert_eq!(resp.status(), 201);
    let scored: Value = resp.json().await.unwrap();
    assert_eq!(scored["decision"], "block");
    let alert_id = scored["alert_id"]
        .as_str()
        .expect("a block raises an alert")
        .to_owned();
    let txn_id = scored["transaction"]["id"].as_str().unwrap().to_owned();

    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !seen.contains(&alert_id) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .expect("alert.created streamed")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: alert.created"), "{seen}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while receiver.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook got alert.created"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let delivered: Value = serde_json::from_slice(&receiver.got.lock().unwrap()[0].body).unwrap();
    assert_eq!(delivered["type"], "alert.created");
    assert_eq!(delivered["data"]["id"], alert_id.as_str());

    let (_, queue) = get_json(&app, &viewer, "/api/v1/alerts?status=open").await;
    assert_eq!(queue["items"][0]["id"], alert_id.as_str());
    let resp = post(
        &app,
        &analyst,
        &format!("/api/v1/alerts/{alert_id}/resolve"),
        json!({"outcome": "fraud", "note": "chargeback filed"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (_, txn) = get_json(&app, &viewer, &format!("/api/v1/transactions/{txn_id}")).await;
    let label = txn
        .get("label")
        .or_else(|| txn["transaction"].get("label"))
        .cloned();
    assert_eq!(label, Some(json!("fraud")), "{txn}");
    let (_, overview) = get_json(&app, &viewer, "/api/v1/stats/overview").await;
    assert_eq!(overview["transactions"]["total"], 1);
    assert_eq!(overview["decisions_24h"]["block"], 1);
    assert_eq!(
        overview["blocked_amount_24h"],
        json!([{"amount": "1000.00", "currency": "USD"}])
    );
    assert_eq!(overview["fraud_rate_30d"], 1.0);
    assert_eq!(overview["alerts"]["open"], 0);
}
