//! Lists over HTTP: creation, items, their effect on scoring (block lists block through the
//! default pack; rules can ask `lists.contains`), and refused input.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::transactions::{post, txn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_list_item_blocks_until_it_is_removed() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "bad_countries", "kind": "country", "mode": "block"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let list: Value = r.json().await.unwrap();
    let id = list["id"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("/api/v1/lists/{id}/items"),
        Some(json!({"value": "kp"})),
    )
    .await;
    assert_eq!(r.status(), 201);
    let mut t = txn("l-1", "a", json!("10.00"));
    t["country"] = json!("KP");
    let d: Value = post(&app, &key, "/api/v1/transactions", &t)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["decision"], "block", "{d}");
    assert!(d["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "list_block"));
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        &format!("/api/v1/lists/{id}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["items"][0]["value"], "KP");
    assert_eq!(v["item_count"], 1);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::DELETE,
        &format!("/api/v1/lists/{id}/items/KP"),
        None,
    )
    .await;
    assert_eq!(r.status(), 204);
    let r = send(
        &app,
        &analyst,
        reqwest::Method::DELETE,
        &format!("/api/v1/lists/{id}/items/KP"),
        None,
    )
    .await;
    assert_error(r, 404, "not_found").await;
    t["external_id"] = json!("l-2");
    t["account_id"] = json!("b");
    let d: Value = post(&app, &key, "/api/v1/transactions", &t)
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(d["decision"], "block");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_can_ask_lists_contains() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let key = app.api_key(&["ingest"]).await;
    let list: Value = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "vip", "kind": "account", "mode": "allow"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = list["id"].as_str().unwrap();
    send(
        &app,
        &analyst,
        reqwest::Method::POST,
        &format!("/api/v1/lists/{id}/items"),
        Some(json!({"value": "boss"})),
    )
    .await;
    let r = send(&app, &analyst, reqwest::Method::POST, "/api/v1/rules", Some(json!({
        "name": "vip_review", "expression": "lists.contains('vip', txn.account_id)", "score": 5, "action": "review"}))).await;
    assert_eq!(r.status(), 201);
    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("v-1", "boss", json!("1.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["decision"], "review");
    let d: Value = post(
        &app,
        &key,
        "/api/v1/transactions",
        &txn("v-2", "intern", json!("1.00")),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(d["decision"], "allow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_list_input_is_refused() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "x'; DROP TABLE lists;--", "kind": "planet", "mode": "maybe"})),
    )
    .await;
    let e = assert_error(r, 422, "validation_failed").await;
    assert_eq!(e["error"]["details"].as_array().unwrap().len(), 3);
    send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "ips", "kind": "ip", "mode": "block"})),
    )
    .await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "ips", "kind": "ip", "mode": "block"})),
    )
    .await;
    assert_error(r, 409, "conflict").await;
    let r = send(
        &app,
        &analyst,
        reqwest::Method::POST,
        "/api/v1/lists/no-such/items",
        Some(json!({"value": "1.2.3.4"})),
    )
    .await;
    assert_error(r, 404, "not_found").await;
    let v: Value = send(
        &app,
        &analyst,
        reqwest::Method::GET,
        "/api/v1/lists?limit=1",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let id = v["items"][0]["id"].as_str().unwrap().to_owned();
    for bad in [
        json!({"value": ""}),
        json!({"value": "x".repeat(300)}),
        json!({"value": 5}),
        json!({"value": "a\u{0007}"}),
    ] {
        let r = send(
            &app,
            &analyst,
            reqwest::Method::POST,
            &format!("/api/v1/lists/{id}/items"),
            Some(bad),
        )
        .await;
        assert_error(r, 422, "validation_failed").await;
    }
    let viewer = app.token("viewer").await;
    let r = send(
        &app,
        &viewer,
        reqwest::Method::POST,
        "/api/v1/lists",
        Some(json!({"name": "v", "kind": "ip", "mode": "block"})),
    )
    .await;
    assert_error(r, 403, "forbidden").await;
}
