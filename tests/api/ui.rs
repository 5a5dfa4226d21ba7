//! The web UI's serving: the SPA fallback, caching headers and ETags, gzip, the CSP, and that
//! the shipped HTML and scripts need no inline script or style.

use std::collections::{BTreeSet, VecDeque};
use std::io::Read;

use crate::helpers::spawn_app;

async fn index_html(app: &crate::helpers::TestApp) -> String {
    let resp = app.get("/").await;
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("body")
}

/// The versioned static prefix index.html points at (`/static/<version>`).
fn static_prefix(html: &str) -> String {
    let start = html.find("/static/").expect("index links /static/");
    let rest = &html[start + "/static/".len()..];
    let version: String = rest.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    assert_eq!(version.len(), 12, "a 12-hex-digit version in {rest:.40}");
    format!("/static/{version}")
}

/// Every `src="…"` and `href="…"` value in the HTML.
fn linked_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').expect("closing quote");
            urls.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_routes_get_index_html_with_no_cache_and_the_csp() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/login",
        "/alerts/0193a-some-id",
        "/admin/api-keys",
        "/setup?token=abc",
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        assert_eq!(h["content-type"], "text/html; charset=utf-8", "{path}");
        assert_eq!(h["cache-control"], "no-cache", "{path}");
        assert!(
            h["etag"].to_str().unwrap().starts_with('"'),
            "strong etag on {path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h["x-frame-options"], "DENY");
        let body = resp.text().await.unwrap();
        assert!(body.contains("<div id=\"app\">"), "{path}");
        assert!(
            !body.contains("__STATIC__"),
            "placeholder replaced on {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_health_and_metrics_paths_never_fall_back_to_the_ui() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/no-such-thing",
        "/api/nothing",
        "/api",
        "/health/nope",
        "/metrics/x",
    ] {
        let resp = app.get(path).await;
        assert_eq!(resp.status(), 404, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
    }
    assert_eq!(app.get("/health/live").await.status(), 200);
    let resp = app.get("/metrics").await;
    assert!(!resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // Only GET and HEAD get the page.
    let resp = app.client.post(app.url("/alerts")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app.client.head(app.url("/alerts")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_html_has_no_inline_script_style_or_cdn() {
    let app = spawn_app().await;
    let html = index_html(&app).await;
    let lower = html.to_lowercase();
    let mut rest = lower.as_str();
    let mut scripts = 0;
    while let Some(i) = rest.find("<script") {
        rest = &rest[i + 7..];
        let tag_end = rest.find('>').unwrap();
        assert!(rest[..tag_end].contains(" src="), "every script has a src");
        assert!(
            rest[tag_end + 1..].trim_start().starts_with("</script>"),
            "no inline script body"
        );
        scripts += 1;
    }
    assert!(scripts >= 1);
    assert!(!lower.contains("<style"), "no style element");
    assert!(!lower.contains(" style="), "no style attribute");
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "no inline handler {handler}");
    }
    for url in linked_urls(&html) {
        let same_origin = url.starts_with('#') || (url.starts_with('/') && !url.starts_with("//"));
        assert!(same_origin, "same-origin URL: {url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_linked_file_and_imported_module_is_served_immutable() {
    let app = spawn_app().await;
    let html = index_html(&app).await;
    let prefix = static_prefix(&html);
    // Walk the ES module graph from the entry point over HTTP: every import must resolve.
    let mut queue: VecDeque<String> = linked_urls(&html)
        .into_iter()
        .filter(|u| !u.starts_with('#'))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(url) = queue.pop_front() {
        if !seen.insert(url.clone()) {
            continue;
        }
        assert!(url.starts_with(&prefix), "{url} is under {prefix}");
        let resp = app.get(&url).await;
        assert_eq!(resp.status(), 200, "{url}");
        let h = resp.headers().clone();
        assert_eq!(
            h["cache-control"], "public, max-age=31536000, immutable",
            "{url}"
        );
        assert!(h.contains_key("etag"), "{url}");
        let body = resp.text().await.unwrap();
        if url.ends_with(".js") {
            assert_eq!(h["content-type"], "text/javascript; charset=utf-8", "{url}");
            assert!(!body.contains("eval("), "no eval in {url}");
            assert!(
                !body.contains("innerHTML ="),
                "no innerHTML assignment in {url}"
            );
            for import in module_imports(&body) {
                queue.push_back(resolve(&url, &import));
            }
        }
    }
    assert!(
        seen.len() >= 20,
        "the page graph has the app's modules: {seen:?}"
    );
    assert!(seen
        .iter()
        .any(|u| u.ends_with("/vendor/uplot/uPlot.esm.js")));
}

/// Relative specifiers of `import … from '…'` and `import('…')` in a module.
fn module_imports(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["from '", "import('", "import '"] {
        let mut rest = js;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let end = rest.find('\'').unwrap_or(0);
            let spec = &rest[..end];
            if spec.starts_with("./") || spec.starts_with("../") {
                out.push(spec.to_owned());
            }
        }
    }
    // Pages are loaded by name from the router table.
    if js.contains("import(`./pages/${route.page}.js`)") {
        let mut rest = js;
        while let Some(i) = rest.find("page: '") {
            rest = &rest[i + 7..];
            let end = rest.find('\'').unwrap();
            out.push(format!("./pages/{}.js", &rest[..end]));
        }
    }
    out
}

fn resolve(base: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_answer_304_and_gzip_is_served_when_accepted() {
    let app = spawn_app().await;
    let prefix = static_prefix(&index_html(&app).await);
    let url = app.url(&format!("{prefix}/js/app.js"));
    let plain = app.client.get(&url).send().await.unwrap();
    let etag = plain.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(plain.headers()["vary"], "Accept-Encoding");
    let plain_body = plain.bytes().await.unwrap();

    let again = app
        .client
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    let stale = app
        .client
        .get(&url)
        .header("If-None-Match", "\"nope\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);

    let gz = app
        .client
        .get(&url)
        .header("Accept-Encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let gz_etag = gz.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(gz_etag, etag, "each encoding has its own strong etag");
    let compressed = gz.bytes().await.unwrap();
    assert!(compressed.len() < plain_body.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain_body);

    let refused = app
        .client
        .get(&url)
        .header("Accept-Encoding", "gzip;q=0")
        .send()
        .await
        .unwrap();
    assert!(!refused.headers().contains_key("content-encoding"));

    // index.html validates too.
    let idx = app.get("/").await;
    let idx_etag = idx.headers()["etag"].to_str().unwrap().to_owned();
    let idx304 = app
        .client
        .get(app.url("/"))
        .header("If-None-Match", &idx_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(idx304.status(), 304);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_outside_the_ui_or_of_an_old_version_are_handled_safely() {
    let app = spawn_app().await;
    let prefix = static_prefix(&index_html(&app).await);
    for path in [
        format!("{prefix}/../Cargo.toml"),
        format!("{prefix}/..%2f..%2fCargo.toml"),
        format!("{prefix}/js/../../Cargo.toml"),
        format!("{prefix}/index.html"),
        format!("{prefix}/docs/index.html"),
        format!("{prefix}/no-such-file.js"),
        format!("{prefix}/%3Cscript%3E.js"),
    ] {
        let resp = app.get(&path).await;
        assert_eq!(resp.status(), 404, "{path}");
        let body = resp.text().await.unwrap();
        assert!(!body.contains("[package]"), "{path}");
    }
    // A page from before an upgrade still gets its files, but not as immutable.
    let resp = app.get("/static/000000000000/js/app.js").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-cache");
}
