//! Accounts over HTTP: created on first sight, listed and shown, frozen and unfrozen with
//! audit and events, frozen accounts blocked with `account_frozen`, and `freeze` rules.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::transactions::{post, txn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_account_is_blocked_until_unfrozen() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("f-1", "acc/with space", json!("10.00")),
    )
    .await;
    let path = "/api/v1/accounts/acc%2Fwith%20space";
    let r = send(&app, &analyst, reqwest::Method::GET, path, None).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["account"]["status"], "active");
    assert_eq!(v["account"]["txn_count"], 1);
    assert_eq!(v["recent_transactions"].as_array().unwrap().len(), 1);

    let mut events = app.state.events.subscribe();
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("{path}/freeze"),
        Some(json!({"reason": "card reported stolen"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "frozen");
    assert_eq!(v["frozen_reason"], "card reported stolen");
    let e = events.recv().await.unwrap();
    assert_eq!(e.kind, "account.frozen");
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("{path}/freeze"),
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_error(r, 409, "conflict").await;

    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("f-2", "acc/with space", json!("10.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["decision"], "block");
    assert_eq!(d["reasons"][0]["code"], "account_frozen");
    assert!(d["alert_id"].is_string());

    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("{path}/unfreeze"),
        Some(json!({"reason": "customer verified"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("f-3", "acc/with space", json!("10.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(d["reasons"][0]["code"], "account_frozen");
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("{path}/unfreeze"),
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_error(r, 409, "conflict").await;
    let audits: i64 = app.state.store.read_async(|c| Ok(c.query_row(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('account.frozen', 'account.unfrozen')", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(audits, 2);
    for bad in [
        json!({}),
        json!({"reason": ""}),
        json!({"reason": "x".repeat(600)}),
        json!({"reason": 1}),
    ] {
        let r = send(
            &app,
            &analyst,
            reqwest::Method::POST,
            &format!("{path}/freeze"),
            Some(bad),
        )
        .await;
        assert_error(r, 422, "validation_failed").await;
    }
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/accounts/nobody/freeze",
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_error(r, 404, "not_found").await;
    let viewer = app.token("viewer").await;
    let r = send(
        &app,
        &viewer,
        reqwest::Method::POST,
        &format!("{path}/freeze"),
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_error(r, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_rule_freezes_the_account_automatically() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    let r = send(&app, &analyst, reqwest::Method::POST, "/api/v1/rules", Some(json!({
        "name": "mule", "description": "Mule transfer", "expression": "txn.kind == 'transfer' && txn.amount > 5000.0",
        "score": 50, "action": "freeze"}))).await;
    assert_eq!(r.status(), 201);
    let mut t = txn("m-1", "mule-1", json!("7000.00"));
    t["kind"] = json!("transfer");
    let d: Value = post(&app, &key, "/api/v1/transactions", &t)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["decision"], "block");
    assert_eq!(d["severity"], "critical");
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/accounts/mule-1",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["account"]["status"], "frozen");
    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("m-2", "mule-1", json!("1.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["reasons"][0]["code"], "account_frozen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_list_by_status_and_page_through_every_account_once() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    let batch: Vec<Value> = (0..12)
        .map(|i| txn(&format!("a-{i}"), &format!("acct-{i:02}"), json!("20.00")))
        .collect();
    post(&app, &key, "/api/v1/transactions/batch", &json!(batch)).await;
    send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/accounts/acct-03/freeze",
        Some(json!({"reason": "test"})),
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10 {
        let v: Value = send(
            &app,
            &analyst,
            reqwest::Method::GET,
            &format!("/api/v1/accounts?limit=5&cursor={cursor}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        seen.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["account_id"].as_str().unwrap().to_owned()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/accounts?status=frozen",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(v["items"][0]["account_id"], "acct-03");
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/accounts?q=acct-1",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/accounts?status=sleepy",
        None,
    )
    .await;
    assert_error(r, 422, "validation_failed").await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/accounts/ghost",
        None,
    )
    .await;
    assert_error(r, 404, "not_found").await;
}
