//! Dashboard statistics from the roll-ups: the overview's figures and the time series'
//! buckets, with their query validation.

use serde_json::{json, Value};

use crate::alerts::{get_json, post, seed_alert};
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_counts_transactions_decisions_alerts_accounts_and_blocked_money() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    let analyst = app.token("analyst").await;
    let (_, empty) = get_json(&app, &viewer, "/api/v1/stats/overview").await;
    assert_eq!(empty["transactions"], json!({"last_24h": 0, "total": 0}));
    assert!(
        empty["fraud_rate_30d"].is_null(),
        "no rate without transactions"
    );
    assert_eq!(empty["blocked_amount_24h"], json!([]));

    seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await;
    seed_alert(&app, "critical", "2026-03-01T10:00:00.000Z", "acct-2").await;
    let third = seed_alert(&app, "critical", "2026-03-01T10:00:00.000Z", "acct-2").await;
    app.state
        .store
        .writer
        .write(|conn| {
            conn.execute("UPDATE accounts SET status = 'frozen' WHERE account_ref = 'acct-2'", [])?;
            let now = ledgerguard::store::now_rfc3339();
            conn.execute(
                "INSERT INTO budgets (id, name, period, limit_minor, currency, thresholds, created_at, updated_at)
                 VALUES ('b1', 'Travel', 'monthly', 100000, 'USD', '[0.8,1.0]', ?1, ?1)",
                [&now],
            )?;
            conn.execute(
                "INSERT INTO budget_crossings (budget_id, period_key, threshold, alert_id, crossed_at)
                 VALUES ('b1', 'now', '0.8', 'a', ?1), ('b1', 'now', '1.0', 'b', ?1)",
                [&now],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let resp = post(
        &app,
        &analyst,
        &format!("/api/v1/alerts/{third}/resolve"),
        json!({"outcome": "fraud"}),
    )
    .await;
    assert_eq!(resp.status(), 200);

    let (status, o) = get_json(&app, &viewer, "/api/v1/stats/overview").await;
    assert_eq!(status, 200);
    assert_eq!(o["transactions"], json!({"last_24h": 3, "total": 3}));
    assert_eq!(
        o["decisions_24h"],
        json!({"allow": 0, "review": 0, "block": 3})
    );
    assert_eq!(o["alerts"]["open"], 2);
    assert_eq!(
        o["alerts"]["by_severity"],
        json!({"low": 0, "medium": 0, "high": 1, "critical": 1})
    );
    assert_eq!(o["accounts"], json!({"active": 1, "frozen": 1}));
    assert_eq!(
        o["blocked_amount_24h"],
        json!([{"amount": "376.50", "currency": "USD"}])
    );
    let rate = o["fraud_rate_30d"].as_f64().unwrap();
    assert!((rate - 1.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(
        o["budgets_over_threshold"], 1,
        "one budget, however many thresholds"
    );

    let metrics = app.get("/metrics").await.text().await.unwrap();
    // The gauge is process-wide (other tests share it), so only its presence is checked here.
    assert!(
        metrics.contains("ledgerguard_alerts_open{severity=\"critical\"}"),
        "the gauge is exported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_series_have_every_bucket_and_refuse_bad_ranges() {
    let app = spawn_app().await;
    let viewer = app.token("viewer").await;
    seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await;
    seed_alert(&app, "low", "2026-03-01T10:00:00.000Z", "acct-1").await;

    let (status, s) = get_json(
        &app,
        &viewer,
        "/api/v1/stats/timeseries?metric=transactions&interval=minute",
    )
    .await;
    assert_eq!(status, 200);
    let points = s["points"].as_array().unwrap();
    assert_eq!(points.len(), 60, "an hour of minutes by default");
    assert_eq!(
        points
            .iter()
            .map(|p| p["value"].as_i64().unwrap())
            .sum::<i64>(),
        2
    );
    let now = chrono::Utc::now().timestamp() / 60 * 60;
    let last = chrono::DateTime::parse_from_rfc3339(points.last().unwrap()["t"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(now - last <= 60, "the current minute is last");
    assert!(points[0]["t"].as_str().unwrap().ends_with(":00Z"));

    for (metric, want) in [("alerts", 2), ("blocked", 2)] {
        let (_, s) = get_json(
            &app,
            &viewer,
            &format!("/api/v1/stats/timeseries?metric={metric}&interval=day"),
        )
        .await;
        let points: &Vec<Value> = s["points"].as_array().unwrap();
        assert_eq!(points.len(), 30);
        assert_eq!(
            points
                .iter()
                .map(|p| p["value"].as_i64().unwrap())
                .sum::<i64>(),
            want,
            "{metric}"
        );
    }
    let (_, s) = get_json(&app, &viewer, "/api/v1/stats/timeseries?metric=alerts&interval=hour&from=2026-01-01T00:30:00Z&to=2026-01-01T03:00:00%2B00:00").await;
    let times: Vec<&str> = s["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["t"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2026-01-01T00:00:00Z",
            "2026-01-01T01:00:00Z",
            "2026-01-01T02:00:00Z"
        ]
    );

    for bad in [
        "interval=minute",
        "metric=revenue",
        "metric=alerts&interval=week",
        "metric=alerts&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
        "metric=alerts&interval=minute&from=2026-01-01T00:00:00Z&to=2026-01-05T00:00:00Z",
        "metric=alerts&from=1%27%20OR%201=1",
        "metric=alerts&format=csv",
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/stats/timeseries?{bad}")))
            .bearer_auth(&viewer)
            .send()
            .await
            .unwrap();
        assert_error(resp, 400, "bad_request").await;
    }
    let ingest = app.api_key(&["ingest"]).await;
    let resp = app
        .client
        .get(app.url("/api/v1/stats/overview"))
        .bearer_auth(&ingest)
        .send()
        .await
        .unwrap();
    assert_error(resp, 403, "forbidden").await;
}
