//! `spawn_app()`: the real server, in process, on port 0, with a fresh temp data dir.
//! Set `TEST_LOG=1` to see its logs.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Once;

use ledgerguard::app::{Application, RunOptions};
use ledgerguard::config::Settings;
use tempfile::TempDir;

pub struct TestApp {
    pub state: ledgerguard::app::AppState,
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub dir: TempDir,
    pub handle: actix_web::dev::ServerHandle,
    pub settings: Settings,
}

static LOG: Once = Once::new();

/// Settings for a test server in `dir`: loopback, port 0, logs in the temp dir, fast bcrypt.
pub fn test_settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::default();
    s.server.listen = "127.0.0.1:0".into();
    s.server.workers = 2;
    s.storage.data_dir = dir.join("data");
    s.logging.dir = dir.join("log");
    s.logging.stdout = false;
    s.auth.bcrypt_cost = 10;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after letting `tweak` adjust its settings.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    LOG.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let mut s = Settings::default();
            s.logging.dir = std::env::temp_dir().join("ledgerguard-test-logs");
            std::mem::forget(ledgerguard::logging::init(
                &s,
                ledgerguard::logging::LogMode::Server,
            ));
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(dir.path());
    tweak(&mut settings);
    let app = Application::build(
        settings.clone(),
        RunOptions {
            handle_signals: false,
        },
    )
    .await
    .expect("app builds");
    let port = app.port();
    let handle = app.handle();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let address = format!("http://127.0.0.1:{port}");
    // Wait until ready.
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{address}/health/ready")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    TestApp {
        state,
        address,
        port,
        client,
        dir,
        handle,
        settings,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.settings.storage.data_dir.clone()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Creates a user with `role` directly in the store; returns (email, password).
    pub async fn create_user(&self, role: &str) -> (String, String) {
        let email = format!("{role}-{}@example.com", uuid::Uuid::now_v7().simple());
        let password = "correct horse battery staple 42!".to_owned();
        let hash = ledgerguard::auth::password::hash(&password, 10).unwrap();
        let role = ledgerguard::auth::Role::parse(role).expect("role");
        let e = email.clone();
        self.state
            .store
            .writer
            .write(move |conn| {
                ledgerguard::auth::store::insert_user(conn, &e, "Test User", role, &hash)
            })
            .await
            .unwrap()
            .expect("user created");
        (email, password)
    }

    /// Logs in and returns the whole session response.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// An access token for a new user with `role`.
    pub async fn token(&self, role: &str) -> String {
        let (email, password) = self.create_user(role).await;
        let resp = self.login(&email, &password).await;
        assert_eq!(resp.status(), 200, "login works");
        let body: serde_json::Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A new API key secret with `scopes` (e.g. `&["ingest"]`).
    pub async fn api_key(&self, scopes: &[&str]) -> String {
        let secret = ledgerguard::auth::tokens::new_api_key();
        let scopes: Vec<_> = scopes
            .iter()
            .map(|s| ledgerguard::auth::Scope::parse(s).expect("scope"))
            .collect();
        let s = secret.clone();
        self.state
            .store
            .writer
            .write(move |conn| {
                ledgerguard::auth::store::insert_api_key(conn, "test key", &s, &scopes, None, None)
            })
            .await
            .unwrap();
        secret
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// The path of the built `ledgerguard` binary, for tests that run it as a process.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledgerguard"))
}

/// Asserts the spec's error shape and returns the body.
pub async fn assert_error(resp: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let rid = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = resp.json().await.expect("error body is JSON");
    assert_eq!(body["error"]["code"], code, "code in {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message in {body}"
    );
    assert!(body["error"]["details"].is_array(), "details in {body}");
    assert_eq!(
        body["error"]["request_id"].as_str(),
        rid.as_deref(),
        "request id in {body}"
    );
    body
}

/// Sends `method path` with a bearer credential and an optional JSON body.
pub async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut r = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}
