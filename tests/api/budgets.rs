//! Budgets: CRUD with validation and audit, usage (spent/remaining/projected), and exactly one
//! `budget` alert per threshold and period with its events.

use serde_json::{json, Value};

use crate::helpers::*;
use crate::labels::{seed, Seed};

async fn create(app: &TestApp, auth: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/budgets"))
        .bearer_auth(auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, auth: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(auth)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_created_read_listed_updated_and_deleted_with_audit() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let viewer = app.token("viewer").await;
    let resp = create(
        &app,
        &analyst,
        json!({"name": "Sales travel", "category": "travel", "department": "sales", "period": "quarterly", "limit": "5000.5", "currency": "EUR", "thresholds": [1.0, 0.5]}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let b: Value = resp.json().await.unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(b["limit"], "5000.50");
    assert_eq!(b["thresholds"], json!([0.5, 1.0]));
    assert_eq!(
        (
            b["spent"].as_str(),
            b["remaining"].as_str(),
            b["projected"].as_str()
        ),
        (Some("0.00"), Some("5000.50"), Some("0.00"))
    );
    assert!(b["period_key"].as_str().unwrap().contains("-Q"));

    let got: Value = get(&app, &viewer, &format!("/api/v1/budgets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["name"], "Sales travel");
    for i in 0..2 {
        create(
            &app,
            &analyst,
            json!({"name": format!("b{i}"), "period": "monthly", "limit": 10, "currency": "USD"}),
        )
        .await;
    }
    let page: Value = get(&app, &viewer, "/api/v1/budgets?limit=2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = get(
        &app,
        &viewer,
        &format!("/api/v1/budgets?limit=2&cursor={cursor}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());

    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/budgets/{id}")))
        .bearer_auth(&analyst)
        .json(&json!({"name": "All travel", "department": null, "limit": 6000, "period": "yearly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            b["name"].as_str(),
            b["department"].is_null(),
            b["category"].as_str()
        ),
        (Some("All travel"), true, Some("travel"))
    );
    assert_eq!(
        (b["limit"].as_str(), b["period"].as_str()),
        (Some("6000.00"), Some("yearly"))
    );

    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/budgets/{id}")))
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_error(
        get(&app, &viewer, &format!("/api/v1/budgets/{id}")).await,
        404,
        "not_found",
    )
    .await;
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/budgets/{id}")))
        .bearer_auth(&analyst)
        .send()
        .await
        .unwrap();
    assert_error(resp, 404, "not_found").await;

    let actions: Vec<String> = app
        .state
        .store
        .read_async(move |c| {
            let mut s =
                c.prepare("SELECT action FROM audit_log WHERE target_id = ?1 ORDER BY seq")?;
            let rows = s
                .query_map([id], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        actions,
        ["budget.created", "budget.updated", "budget.deleted"]
    );
    assert_error(
        create(
            &app,
            &viewer,
            json!({"name": "x", "period": "monthly", "limit": 1, "currency": "EUR"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_budgets_are_refused_naming_each_field() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let resp = create(
        &app,
        &analyst,
        json!({"name": "", "period": "weekly", "limit": "12.345", "currency": "usd", "thresholds": [0, 20]}),
    )
    .await;
    let err = assert_error(resp, 422, "validation_failed").await;
    let fields: Vec<&str> = err["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "name",
        "period",
        "currency",
        "thresholds[0]",
        "thresholds[1]",
    ] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    for (body, field) in [
        (
            json!({"name": "x", "period": "monthly", "limit": "12.345", "currency": "USD"}),
            "limit",
        ),
        (
            json!({"name": "x", "period": "monthly", "limit": -1, "currency": "USD"}),
            "limit",
        ),
        (
            json!({"name": "x", "period": "monthly", "limit": 1e300, "currency": "USD"}),
            "limit",
        ),
        (
            json!({"name": "x", "period": "monthly", "limit": true, "currency": "USD"}),
            "limit",
        ),
        (
            json!({"name": "x", "period": "monthly", "limit": 1, "currency": "USD", "owner": "me"}),
            "owner",
        ),
        (
            json!({"name": "n".repeat(201), "period": "monthly", "limit": 1, "currency": "USD"}),
            "name",
        ),
        (
            json!({"name": "x", "period": "monthly", "limit": 1, "currency": "USD", "thresholds": []}),
            "thresholds",
        ),
        (
            json!({"name": 5, "period": "monthly", "limit": 1, "currency": "USD"}),
            "name",
        ),
    ] {
        let err = assert_error(create(&app, &analyst, body).await, 422, "validation_failed").await;
        assert_eq!(err["error"]["details"][0]["field"], field, "{err}");
    }
    let bad_json = app
        .client
        .post(app.url("/api/v1/budgets"))
        .bearer_auth(&analyst)
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_error(bad_json, 400, "bad_request").await;
    assert_error(
        get(&app, &analyst, "/api/v1/budgets?cursor=garbage!").await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        get(&app, &analyst, "/api/v1/budgets/' OR 1=1 --").await,
        404,
        "not_found",
    )
    .await;

    // Markup and SQL in names are stored and returned verbatim, as data.
    let name = "<script>alert(1)</script>'; DROP TABLE budgets; -- ☕";
    let b: Value = create(
        &app,
        &analyst,
        json!({"name": name, "period": "monthly", "limit": 1, "currency": "JPY"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(b["name"], name);
    assert_eq!(b["limit"], "1");
    let patch = app
        .client
        .patch(app.url(&format!("/api/v1/budgets/{}", b["id"].as_str().unwrap())))
        .bearer_auth(&analyst)
        .json(&json!({"thresholds": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_error(patch, 422, "validation_failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crossing_a_threshold_raises_one_budget_alert_per_threshold_and_period() {
    let app = spawn_app().await;
    let analyst = app.token("analyst").await;
    let b: Value = create(
        &app,
        &analyst,
        json!({"name": "Travel", "category": "travel", "period": "monthly", "limit": "100.00", "currency": "EUR"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let id = b["id"].as_str().unwrap().to_owned();
    let mut events = app.state.events.subscribe();
    let now = chrono::Utc::now().timestamp_millis();
    let expense = |ext, amount, category| Seed {
        external_id: ext,
        amount_minor: amount,
        kind: "expense",
        category,
        occurred_ms: now,
        ..Seed::default()
    };
    seed(
        &app,
        vec![
            expense("e1", 8_500, Some("travel")),
            expense("e2", 50_000, Some("meals")),
            Seed {
                currency: "USD",
                ..expense("e3", 50_000, Some("travel"))
            },
        ],
    )
    .await;
    // Two evaluations racing each other still raise the 80 % alert once.
    let (a, b2) = tokio::join!(
        ledgerguard::budgets::evaluate_now(&app.state),
        ledgerguard::budgets::evaluate_now(&app.state)
    );
    assert_eq!(
        a.unwrap() + b2.unwrap(),
        2,
        "alert.created + budget.threshold_crossed once"
    );
    assert_eq!(
        ledgerguard::budgets::evaluate_now(&app.state)
            .await
            .unwrap(),
        0
    );

    let got: Value = get(&app, &analyst, &format!("/api/v1/budgets/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (got["spent"].as_str(), got["remaining"].as_str()),
        (Some("85.00"), Some("15.00"))
    );
    let projected: f64 = got["projected"].as_str().unwrap().parse().unwrap();
    assert!(projected >= 85.0, "{got}");

    let mut kinds = Vec::new();
    while let Ok(e) = events.try_recv() {
        if e.kind == "budget.threshold_crossed" {
            assert_eq!(e.data["budget_id"], id.as_str());
            assert_eq!(e.data["threshold"], 0.8);
            assert_eq!(e.data["spent"], "85.00");
        }
        kinds.push(e.kind);
    }
    assert_eq!(kinds, ["alert.created", "budget.threshold_crossed"]);

    seed(&app, vec![expense("e4", 2_000, Some("travel"))]).await;
    ledgerguard::budgets::evaluate_now(&app.state)
        .await
        .unwrap();
    let id2 = id.clone();
    let alerts: Vec<(String, String, String, String)> = app
        .state
        .store
        .read_async(move |c| {
            let mut s = c.prepare(
                "SELECT a.type, a.severity, a.status, x.threshold FROM budget_crossings x JOIN alerts a ON a.id = x.alert_id
                 WHERE x.budget_id = ?1 ORDER BY x.threshold",
            )?;
            let rows = s.query_map([id2], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        alerts,
        [
            (
                "budget".into(),
                "medium".into(),
                "open".into(),
                "0.8".into()
            ),
            ("budget".into(), "high".into(), "open".into(), "1".into()),
        ]
    );
}

#[test]
fn an_unknown_time_zone_stops_start_up_naming_the_key() {
    let mut s = ledgerguard::config::Settings::default();
    s.expenses.timezone = "Mars/Olympus_Mons".into();
    let (key, message) = s.validate().unwrap_err();
    assert_eq!(key, "expenses.timezone");
    assert!(message.contains("Mars/Olympus_Mons"));
    s.expenses.timezone = "America/New_York".into();
    assert!(s.validate().is_ok());
}
