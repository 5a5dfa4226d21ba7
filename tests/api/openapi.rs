//! `/api/openapi.json` and `/api/docs`: the description covers every registered route, and
//! the docs page works under the strict CSP (external scripts and styles only).

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_registered_route_with_its_security() {
    let app = spawn_app().await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let specs = ledgerguard::app::api_table().specs();
    assert!(!specs.is_empty());
    let undocumented = ledgerguard::openapi::undocumented(&specs);
    assert!(
        undocumented.is_empty(),
        "routes missing from src/openapi.rs ROUTES: {undocumented:?}"
    );
    for spec in &specs {
        let path = format!("/api/v1{}", spec.path);
        let op = &doc["paths"][&path][spec.method.as_str().to_lowercase()];
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{path}"
        );
        assert!(op["responses"]["500"].is_object(), "{path}");
        match spec.access {
            ledgerguard::auth::Access::Public => {
                assert_eq!(op["security"], serde_json::json!([]), "{path}")
            }
            _ => assert!(op["responses"]["401"].is_object(), "{path}"),
        }
    }
    let create = &doc["paths"]["/api/v1/backups"]["post"];
    assert!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("/Backup")
    );
    assert_eq!(create["x-ledgerguard-permission"], "admin");
    assert!(doc["components"]["securitySchemes"]["bearerAuth"].is_object());
    assert!(doc["paths"]["/health"]["get"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_loads_only_external_scripts_and_styles_under_the_csp() {
    let app = spawn_app().await;
    for path in ["/api/docs", "/api/docs/"] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = resp.text().await.unwrap();
        // Every script has a src and no body; no inline style anywhere.
        for chunk in html.split("<script").skip(1) {
            let (tag, rest) = chunk.split_once('>').unwrap();
            assert!(
                tag.contains("src=\"/api/docs/"),
                "inline or foreign script: {tag}"
            );
            assert!(rest.starts_with("</script>"), "inline script body: {rest}");
        }
        assert!(
            !html.contains("<style") && !html.contains("style="),
            "inline style in {html}"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no CDN: {html}"
        );
    }
    for (asset, mime) in [
        ("/api/docs/init.js", "javascript"),
        ("/api/docs/vendor/swagger-ui-bundle.js", "javascript"),
        ("/api/docs/vendor/swagger-ui.css", "text/css"),
        ("/api/docs/docs.css", "text/css"),
        ("/api/docs/vendor/LICENSE", "text/plain"),
    ] {
        let resp = app.get(asset).await;
        assert_eq!(resp.status(), 200, "{asset}");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.contains(mime), "{asset}: {ct}");
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    }
    let init = app.get("/api/docs/init.js").await.text().await.unwrap();
    assert!(init.contains("/api/openapi.json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_assets_refuse_traversal_and_unknown_files() {
    let app = spawn_app().await;
    for path in [
        "/api/docs/vendor/nothing.js",
        "/api/docs/../../Cargo.toml",
        "/api/docs/%2e%2e/%2e%2e/Cargo.toml",
        "/api/docs/..%2f..%2fsrc%2flib.rs",
        "/api/docs/vendor//LICENSE",
        "/api/docs/.hidden",
        "/api/docs/<script>alert(1)</script>",
        "/api/docs/index.html%00.js",
    ] {
        let resp = app.get(path).await;
        if path.contains("/../") || path.contains("/%2e%2e/") {
            // The client normalises `..` away before sending; the UI then answers its page,
            // never the file.
            let body = resp.text().await.unwrap();
            assert!(!body.contains("[package]"), "{path}");
        } else {
            assert_eq!(resp.status(), 404, "{path}");
        }
    }
    let resp = app
        .client
        .post(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status() == 404 || resp.status() == 405,
        "{}",
        resp.status()
    );
}
