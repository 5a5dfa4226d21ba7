//! The fraud model: training refusal without labels, training and activation over HTTP and
//! from the CLI, "not worse" activation, and the evaluation quality floor on PaySim.

use std::process::Command;
use std::sync::Arc;

use serde_json::{json, Value};

use ledgerguard::model::logistic::LogisticModel;
use ledgerguard::model::train::{fit_and_measure, split, Labelled};
use ledgerguard::scoring::model::FeatureVector;

use crate::helpers::*;
use crate::labels::{seed, Seed};

/// A deterministic pseudo-random number in [0, 1).
fn lcg(seed: &mut u64) -> f64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 11) as f64) / ((1u64 << 53) as f64)
}

/// Labelled transactions whose `signal` feature predicts fraud (noisily), in time order;
/// with `noisy_until` rows before that index labelled at random instead.
async fn seed_labelled(app: &TestApp, n: usize, noisy_until: usize) {
    let mut s = 42;
    let start = 1_760_000_000_000_i64;
    let rows: Vec<(String, String, i64)> = (0..n)
        .map(|i| {
            let fraud = lcg(&mut s) < 0.3;
            let signal = if fraud { 2.0 } else { 0.0 } + lcg(&mut s) * 1.5;
            let label_fraud = if i < noisy_until {
                lcg(&mut s) < 0.3
            } else {
                fraud
            };
            let features = json!({"signal": signal, "noise": lcg(&mut s)}).to_string();
            (
                features,
                if label_fraud { "fraud" } else { "legitimate" }.to_owned(),
                start + i as i64 * 60_000,
            )
        })
        .collect();
    let ids: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let seeds = rows
        .iter()
        .zip(&ids)
        .map(|((f, l, at), id)| Seed {
            external_id: id,
            features: Some(f.clone()),
            label: Some(l.as_str()),
            occurred_ms: *at,
            ..Seed::default()
        })
        .collect();
    seed(app, seeds).await;
}

async fn train(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/models/train"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn training_refuses_clearly_until_enough_labels_exist() {
    let app = spawn_app_with(|s| s.model.min_labels = 50).await;
    let admin = app.token("admin").await;
    seed_labelled(&app, 60, 0).await;
    let err = assert_error(train(&app, &admin).await, 409, "conflict").await;
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("legitimate") && message.contains("at least 50"),
        "{message}"
    );
    let list: Value = app
        .client
        .get(app.url("/api/v1/models"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
    assert!(
        app.state.model.current().is_none(),
        "rules and anomaly features decide"
    );
    let analyst = app.token("analyst").await;
    assert_error(train(&app, &analyst).await, 403, "forbidden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trained_model_is_versioned_measured_activated_and_served() {
    let app = spawn_app_with(|s| s.model.min_labels = 20).await;
    let admin = app.token("admin").await;
    seed_labelled(&app, 400, 0).await;
    let resp = train(&app, &admin).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!(report["version"], "lr-1");
    assert_eq!(report["activated"], true);
    assert_eq!(
        (
            report["train_size"].as_u64(),
            report["holdout_size"].as_u64()
        ),
        (Some(320), Some(80))
    );
    assert!(
        report["metrics"]["auc_roc"].as_f64().unwrap() > 0.9,
        "{report}"
    );
    assert!(
        report["metrics"]["average_precision"].as_f64().unwrap() > 0.8,
        "{report}"
    );
    let served = app.state.model.current().expect("installed in the slot");
    assert_eq!(served.version(), "lr-1");
    let p_fraud = served.probability(&FeatureVector::from([("signal".to_owned(), 3.0)]));
    let p_legit = served.probability(&FeatureVector::from([("signal".to_owned(), 0.2)]));
    assert!(p_fraud > 0.8 && p_legit < 0.2, "{p_fraud} {p_legit}");

    // Retraining on the same data is not worse: the new version takes over.
    let report: Value = train(&app, &admin).await.json().await.unwrap();
    assert_eq!(
        (report["version"].as_str(), report["activated"].as_bool()),
        (Some("lr-2"), Some(true))
    );
    assert_eq!(report["previous_version"], "lr-1");
    let viewer = app.token("viewer").await;
    let list: Value = app
        .client
        .get(app.url("/api/v1/models"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["version"].as_str(), items[0]["active"].as_bool()),
        (Some("lr-2"), Some(true))
    );
    assert_eq!(items[1]["active"], false);
    assert_eq!(items[0]["weights"][0][0], "signal", "largest weight first");
    assert!(items[0]["metrics"]["holdout"]["precision"].is_number());
    assert_eq!(list["serving"], "lr-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worse_model_is_stored_but_not_activated() {
    let app = spawn_app_with(|s| s.model.min_labels = 20).await;
    let admin = app.token("admin").await;
    // Training part labelled at random; the holdout (last 20 %) labelled by the signal.
    seed_labelled(&app, 500, 400).await;
    let good = LogisticModel {
        version: "hand-made".into(),
        features: vec!["signal".into()],
        mean: vec![0.0],
        std: vec![1.0],
        weights: vec![4.0],
        intercept: -6.0,
    };
    let stored = good.clone();
    app.state
        .store
        .writer
        .write(move |c| {
            ledgerguard::model::store::insert(c, &stored, &json!({}), true, "2026-01-01T00:00:00Z")
        })
        .await
        .unwrap();
    app.state.model.set(Some(Arc::new(good)));
    let report: Value = train(&app, &admin).await.json().await.unwrap();
    assert_eq!(report["activated"], false, "{report}");
    assert_eq!(report["previous_version"], "hand-made");
    assert!(
        report["previous_metrics"]["average_precision"]
            .as_f64()
            .unwrap()
            > report["metrics"]["average_precision"].as_f64().unwrap()
    );
    assert_eq!(app.state.model.current().unwrap().version(), "hand-made");
    let list: Value = app
        .client
        .get(app.url("/api/v1/models"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let active: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["active"] == true)
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(active, ["hand-made"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_trains_beside_a_running_server() {
    let app = spawn_app_with(|s| s.model.min_labels = 20).await;
    seed_labelled(&app, 300, 0).await;
    let config =
        crate::cli::write_config(app.dir.path(), "127.0.0.1:0", "[model]\nmin_labels = 20\n");
    let out = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["model", "train"])
        .env_remove("LEDGERGUARD_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("lr-1 is now active"), "{stdout}");
    assert!(stdout.contains("AUC ROC"), "{stdout}");
    assert!(
        stderr.contains("fitting: Newton step 1"),
        "plain progress lines off a terminal: {stderr}"
    );
    // The server notices the newly active model.
    ledgerguard::model::train::refresh_slot(&app.state.store, &app.state.model).unwrap();
    assert_eq!(app.state.model.current().unwrap().version(), "lr-1");

    let empty = tempfile::tempdir().unwrap();
    let config = crate::cli::write_config(empty.path(), "127.0.0.1:0", "");
    let out = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["model", "train"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// PaySim rows as feature vectors, in time order (by `step`, the hour).
fn paysim() -> Vec<(i64, Labelled)> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/paysim_sample.csv"
    ))
    .unwrap();
    let mut rows: Vec<(i64, Labelled)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            let num = |i: usize| c[i].parse::<f64>().unwrap_or(0.0);
            let step = num(0) as i64;
            let amount = num(2);
            let (old_orig, new_orig, old_dest, new_dest) = (num(4), num(5), num(7), num(8));
            let mut f = FeatureVector::new();
            f.insert("log_amount".into(), (1.0 + amount).ln());
            f.insert(format!("type_{}", c[1].to_lowercase()), 1.0);
            f.insert(
                "share_of_balance".into(),
                (amount / old_orig.max(1.0)).min(10.0),
            );
            f.insert(
                "dest_balance_unchanged".into(),
                f64::from(u8::from(old_dest == new_dest)),
            );
            f.insert(
                "orig_balance_error".into(),
                ((old_orig - amount - new_orig).abs() + 1.0).ln(),
            );
            f.insert(
                "orig_had_no_balance".into(),
                f64::from(u8::from(old_orig <= 0.0)),
            );
            (step, (f, num(9) > 0.5))
        })
        .collect();
    rows.sort_by_key(|(step, _)| *step);
    rows
}

/// The evaluation test (a quality floor, not a timing): train on PaySim's earlier hours,
/// measure on its later hours, and require a minimum quality there.
#[test]
fn trained_on_earlier_hours_the_model_ranks_later_fraud_well() {
    let rows: Vec<Labelled> = paysim().into_iter().map(|(_, r)| r).collect();
    let (train_part, holdout) = split(&rows);
    let (model, m) = fit_and_measure("eval", train_part, holdout, &mut |p| println!("{p:?}"));
    println!(
        "{:?}",
        model
            .features
            .iter()
            .zip(&model.weights)
            .collect::<Vec<_>>()
    );
    println!(
        "PaySim evaluation ({} train, {} holdout with {} fraud): AUC ROC {:.3}, average precision {:.3}, precision@100 {:.2}, precision {:.3} / recall {:.3} at 0.5",
        train_part.len(),
        m.holdout_size,
        m.holdout_fraud,
        m.auc_roc,
        m.average_precision,
        m.precision_at_100,
        m.precision,
        m.recall
    );
    assert!(m.holdout_fraud > 50);
    assert!(m.auc_roc >= 0.95, "{m:?}");
    assert!(m.average_precision >= 0.8, "{m:?}");
    assert!(m.precision_at_100 >= 0.9, "{m:?}");
}
