//! Rules over HTTP: the seeded default pack, validation with positions, versions and audit on
//! every change, immediate effect on scoring, and backtests over stored history.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::transactions::{get_json, post, txn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_pack_is_seeded_enabled() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let r = send(&app, &viewer, reqwest::Method::GET, "/api/v1/rules", None).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in [
        "card_testing",
        "account_takeover",
        "structuring",
        "high_risk_mcc",
        "expense_duplicate_claim",
        "expense_split_claim",
        "expense_personal_mcc",
        "expense_weekend",
        "expense_round_amount",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    assert!(body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["enabled"] == true && r["builtin"] == true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_expressions_are_refused_naming_the_problem() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules/validate",
        Some(json!({"expression": "txn.amount >"})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["errors"][0]["message"].is_string());
    assert!(v["errors"][0]["position"].is_number());
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules/validate",
        Some(json!({"expression": "txn.amount > 10.0"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v, json!({"valid": true, "errors": []}));
    for (body, field) in [
        (
            json!({"name": "r1", "expression": "txn.amout > 1.0", "score": 10, "action": "flag"}),
            "expression",
        ),
        (
            json!({"name": "r1", "expression": "txn.amount", "score": 10, "action": "flag"}),
            "expression",
        ),
        (
            json!({"name": "r1", "expression": "true", "score": 101, "action": "flag"}),
            "score",
        ),
        (
            json!({"name": "r1", "expression": "true", "score": 10, "action": "nuke"}),
            "action",
        ),
        (
            json!({"name": "<script>", "expression": "true", "score": 10, "action": "flag"}),
            "name",
        ),
        (
            json!({"name": "r1", "expression": "true", "score": 10, "action": "flag", "owner": "x"}),
            "owner",
        ),
    ] {
        let r = send(
            &app,
            &analyst,
            reqwest::Method::POST,
            "/api/v1/rules",
            Some(body),
        )
        .await;
        let e = assert_error(r, 422, "validation_failed").await;
        assert_eq!(e["error"]["details"][0]["field"], field, "{e}");
    }
    let viewer = app.token("viewer").await;
    let r = send(
        &app,
        &viewer,
        reqwest::Method::POST,
        "/api/v1/rules",
        Some(json!({"name": "x", "expression": "true", "score": 1, "action": "flag"})),
    )
    .await;
    assert_error(r, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_makes_a_version_and_an_audit_entry_and_takes_effect_at_once() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    let r = send(&app, &analyst, reqwest::Method::POST, "/api/v1/rules", Some(json!({
        "name": "big_spender", "description": "Large payment", "expression": "txn.amount_minor >= 100000",
        "score": 10, "action": "block"}))).await;
    assert_eq!(r.status(), 201);
    let rule: Value = r.json().await.unwrap();
    let id = rule["id"].as_str().unwrap().to_owned();
    assert_eq!(rule["version"], 1);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules",
        Some(json!({
        "name": "big_spender", "expression": "true", "score": 1, "action": "flag"})),
    )
    .await;
    assert_error(r, 409, "conflict").await;

    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("big-1", "rich", json!("1000.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["decision"], "block");
    assert!(d["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "rule:big_spender" && r["weight"] == 10.0));

    let r = send(
        &app,
        &analyst,
        reqwest::Method::PATCH,
        &format!("/api/v1/rules/{id}"),
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 2);
    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("big-2", "rich2", json!("1000.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_ne!(d["decision"], "block", "a disabled rule no longer applies");
    let r = send(
        &app,
        &analyst,
        reqwest::Method::PATCH,
        &format!("/api/v1/rules/{id}"),
        Some(json!({"expression": "txn.("})),
    )
    .await;
    assert_error(r, 422, "validation_failed").await;

    let r = send(
        &app,
        &analyst,
        reqwest::Method::DELETE,
        &format!("/api/v1/rules/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        &format!("/api/v1/rules/{id}"),
        None,
    )
    .await;
    assert_error(r, 404, "not_found").await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::DELETE,
        &format!("/api/v1/rules/{id}"),
        None,
    )
    .await;
    assert_error(r, 404, "not_found").await;
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        &format!("/api/v1/rules/{id}/versions"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let versions: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    assert_eq!(v["items"][0]["deleted"], true);
    let audits: i64 = app.state.store.read_async(|c| Ok(c.query_row(
        "SELECT COUNT(*) FROM audit_log WHERE action IN ('rule.created','rule.updated','rule.deleted') AND actor_type = 'user'", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(audits, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backtest_reports_matches_against_labels() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    for i in 0..6 {
        post(
            &app,
            &key,
            "/api/v1/transactions",
            &txn(
                &format!("bt-{i}"),
                "acct",
                json!(format!("{}.00", 100 + i * 100)),
            ),
        )
        .await;
    }
    let body = json!({"expression": "txn.amount >= 400.0", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"});
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules/backtest",
        Some(body.clone()),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["evaluated"], 6);
    assert_eq!(v["matched"], 3);
    assert!(
        v["precision"].is_null() && v["recall"].is_null(),
        "no labels yet: {v}"
    );
    assert_eq!(v["sample_ids"].as_array().unwrap().len(), 3);
    app.state.store.writer.write(|c| {
        c.execute("UPDATE transactions SET label = 'fraud', labelled_at = '2026-01-06T00:00:00Z' WHERE external_id IN ('bt-5', 'bt-1')", [])?;
        c.execute("UPDATE transactions SET label = 'legitimate', labelled_at = '2026-01-06T00:00:00Z' WHERE external_id IN ('bt-4', 'bt-0')", [])?;
        Ok(())
    }).await.unwrap();
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules/backtest",
        Some(body),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["matched_fraud"], 1);
    assert_eq!(v["matched_legitimate"], 1);
    assert_eq!(v["precision"], 0.5);
    assert_eq!(v["recall"], 0.5);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/rules/backtest",
        Some(json!({"expression": "txn.nope", "from": "x", "to": "2026-02-01T00:00:00Z"})),
    )
    .await;
    let e = assert_error(r, 422, "validation_failed").await;
    assert_eq!(e["error"]["details"].as_array().unwrap().len(), 2);
    let reader = app.api_key(&["read"]).await;
    let (status, _) = get_json(&app, &reader, "/api/v1/rules").await;
    assert_eq!(status, 200);
}
