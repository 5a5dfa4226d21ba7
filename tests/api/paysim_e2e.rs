//! End-to-end measurement of the fraud model on PaySim, through the public API only:
//! import the sample's earlier hours, label them, train, then score the later hours and
//! measure the answered scores against PaySim's truth. Ignored by default (it ingests 51,392
//! transactions); run it with `cargo test --test api -- --ignored paysim --nocapture`.

use serde_json::{json, Value};

use ledgerguard::model::evaluate::{auc_roc, average_precision, precision_at_k};

use crate::helpers::*;

struct Row {
    external_id: String,
    step: i64,
    body: Value,
    fraud: bool,
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/paysim_sample.csv"
    ))
    .unwrap();
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
    let mut rows: Vec<Row> = text
        .lines()
        .skip(1)
        .enumerate()
        .filter_map(|(i, line)| {
            let c: Vec<&str> = line.split(',').collect();
            let step: i64 = c[0].parse().ok()?;
            let amount: f64 = c[2].parse().ok()?;
            if amount < 0.01 {
                return None;
            }
            let (kind, channel) = match c[1] {
                "PAYMENT" => ("payment", "online"),
                "TRANSFER" => ("transfer", "transfer"),
                "CASH_OUT" => ("withdrawal", "atm"),
                "DEBIT" => ("withdrawal", "other"),
                _ => ("transfer", "other"),
            };
            // Spread a step's rows over its hour, in file order.
            let at =
                base + chrono::Duration::hours(step) + chrono::Duration::seconds((i % 3600) as i64);
            let external_id = format!("ps-{i}");
            Some(Row {
                body: json!({
                    "external_id": external_id,
                    "account_id": c[3],
                    "amount": format!("{amount:.2}"),
                    "currency": "USD",
                    "occurred_at": at.to_rfc3339(),
                    "kind": kind,
                    "channel": channel,
                    "merchant": c[6],
                }),
                external_id,
                step,
                fraud: c[9].parse::<f64>().ok()? > 0.5,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        a.body["occurred_at"]
            .as_str()
            .cmp(&b.body["occurred_at"].as_str())
    });
    rows
}

/// Sends rows in batches; returns each row's answered score (None when rejected).
async fn ingest(app: &TestApp, key: &str, rows: &[Row]) -> Vec<Option<f64>> {
    let mut scores = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(5_000) {
        let body: Vec<&Value> = chunk.iter().map(|r| &r.body).collect();
        let resp = app
            .client
            .post(app.url("/api/v1/transactions/batch"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            200,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        let summary: Value = resp.json().await.unwrap();
        for item in summary["items"].as_array().unwrap() {
            scores.push(item["score"].as_f64());
        }
    }
    scores
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "ingests the whole PaySim sample; run on demand"]
async fn paysim_end_to_end_through_the_api() {
    let app = spawn_app_with(|s| s.rate_limit.enabled = false).await;
    let key = app.api_key(&["ingest"]).await;
    let admin = app.token("admin").await;
    let rows = rows();
    let cut = rows.len() * 8 / 10;
    let (earlier, later) = rows.split_at(cut);
    println!(
        "earlier hours: {} rows (steps {}..={}), later hours: {} rows (steps {}..={})",
        earlier.len(),
        earlier[0].step,
        earlier[earlier.len() - 1].step,
        later.len(),
        later[0].step,
        later[later.len() - 1].step
    );

    let before = ingest(&app, &key, earlier).await;
    let rules_only: Vec<(f64, bool)> = before
        .iter()
        .zip(earlier)
        .filter_map(|(s, r)| s.map(|s| (s, r.fraud)))
        .collect();
    for chunk in earlier.chunks(10_000) {
        let labels: Vec<Value> = chunk
            .iter()
            .map(|r| json!({"external_id": r.external_id, "outcome": if r.fraud { "fraud" } else { "legitimate" }, "source": "import"}))
            .collect();
        let resp = app
            .client
            .post(app.url("/api/v1/labels"))
            .bearer_auth(&key)
            .json(&labels)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["unknown"],
            json!([]),
            "every earlier transaction was stored"
        );
    }
    let resp = app
        .client
        .post(app.url("/api/v1/models/train"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let report: Value = resp.json().await.unwrap();
    println!("training report: {report}");
    assert_eq!(report["activated"], true);

    let after = ingest(&app, &key, later).await;
    let scored: Vec<(f64, bool)> = after
        .iter()
        .zip(later)
        .filter_map(|(s, r)| s.map(|s| (s, r.fraud)))
        .collect();
    let fraud = scored.iter().filter(|(_, y)| *y).count();
    println!(
        "rules and anomaly features only, earlier hours ({} rows, {} fraud): AUC ROC {:.3}, average precision {:.3}, precision@100 {:.2}",
        rules_only.len(),
        rules_only.iter().filter(|(_, y)| *y).count(),
        auc_roc(&rules_only),
        average_precision(&rules_only),
        precision_at_k(&rules_only, 100)
    );
    println!(
        "with model {}, later hours ({} rows, {fraud} fraud): AUC ROC {:.3}, average precision {:.3}, precision@100 {:.2}",
        report["version"],
        scored.len(),
        auc_roc(&scored),
        average_precision(&scored),
        precision_at_k(&scored, 100)
    );
    assert!(fraud > 0);
    assert!(
        auc_roc(&scored) > 0.5,
        "the model ranks later fraud better than chance"
    );
}
