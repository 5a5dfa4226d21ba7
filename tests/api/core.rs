//! The appliance core: headers, errors, health, metrics.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_every_check() {
    let app = spawn_app().await;
    let resp = app.get("/health").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert_eq!(
        body["checks"]["backup"]["status"], "warn",
        "no backup yet is a warning"
    );
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}
