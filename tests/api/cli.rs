//! The binary as an operator runs it: config errors, check-config, the data-dir lock, CLI
//! changes on a live server, audit verification and graceful shutdown.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

/// Writes a config file for `dir` (data and logs inside it) plus `extra` TOML.
pub fn write_config(dir: &Path, listen: &str, extra: &str) -> PathBuf {
    let path = dir.join("ledgerguard.toml");
    let text = format!(
        "[server]\nlisten = \"{listen}\"\nworkers = 1\n\n[storage]\ndata_dir = \"{}\"\n\n[logging]\ndir = \"{}\"\nstdout = false\n\n[auth]\nbcrypt_cost = 10\n{extra}\n",
        dir.join("data").display(),
        dir.join("log").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn ledgerguard(config: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(binary());
    c.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("LEDGERGUARD_CONFIG");
    c
}

fn run_with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn bad_config_stops_with_exit_2_naming_key_and_source() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[server]\nbogus = 1\n", "server.bogus"),
        ("[server]\nlisten = 42\n", "server.listen"),
        (
            "[auth]\naccess_token_minutes = -5\n",
            "auth.access_token_minutes",
        ),
        (
            "[auth]\naccess_token_minutes = 0\n",
            "auth.access_token_minutes",
        ),
        (
            "[server.tls]\ncert_file = \"/nonexistent.pem\"\nkey_file = \"/nonexistent.key\"\n",
            "server.tls.cert_file",
        ),
        (
            "[cors]\nallowed_origins = [\"*\"]\nallow_credentials = true\n",
            "cors.allowed_origins",
        ),
        ("[backup]\nschedule = \"every day\"\n", "backup.schedule"),
        ("this is not toml", "ledgerguard.toml"),
    ];
    for (toml, key) in cases {
        let path = dir.path().join("ledgerguard.toml");
        std::fs::write(&path, toml).unwrap();
        let out = ledgerguard(&path, &["check-config"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{toml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{key} in {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        let out = ledgerguard(&path, &["serve"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "serve refuses too: {toml}");
    }
    // Environment overrides name their source.
    let path = write_config(dir.path(), "127.0.0.1:0", "");
    let out = ledgerguard(&path, &["check-config"])
        .env("LEDGERGUARD_SERVER__LISTEN", "nonsense")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("environment"));
    let out = Command::new(binary())
        .args(["--config", "/nonexistent/ledgerguard.toml", "check-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(binary()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown command is bad usage");
}

#[test]
fn check_config_prints_effective_config_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        dir.path(),
        "127.0.0.1:9999",
        "[metrics]\nbearer_token = \"s3cr3t-token-value\"\n",
    );
    let out = ledgerguard(&path, &["check-config"])
        .env("LEDGERGUARD_SERVER__HSTS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:9999\""), "{text}");
    assert!(text.contains("hsts = true"), "env beats file: {text}");
    assert!(text.contains("[redacted]"));
    assert!(!text.contains("s3cr3t-token-value"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["check-config", "--help"],
        vec!["init", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["apikey", "create", "--help"],
        vec!["audit", "verify", "--help"],
    ] {
        let out = Command::new(binary()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let out = Command::new(binary()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_server_on_the_same_data_dir_is_refused() {
    let app = spawn_app().await;
    let cfg = write_config(app.dir.path(), "127.0.0.1:0", "");
    let out = ledgerguard(&cfg, &["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.get("/health/ready").await.status(),
        200,
        "the first one keeps serving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_user_and_key_changes_reach_a_running_server() {
    let app = spawn_app().await;
    let cfg = write_config(app.dir.path(), "127.0.0.1:0", "");
    let out = run_with_stdin(
        ledgerguard(
            &cfg,
            &[
                "user",
                "add",
                "--email",
                "ops@example.com",
                "--name",
                "Ops",
                "--role",
                "admin",
                "--password-stdin",
            ],
        ),
        "correct horse battery staple 42!\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("correct horse"),
        "a given password is never printed"
    );
    assert_eq!(
        app.login("ops@example.com", "correct horse battery staple 42!")
            .await
            .status(),
        200
    );
    // A weak password is refused with the reason.
    let out = run_with_stdin(
        ledgerguard(
            &cfg,
            &[
                "user",
                "add",
                "--email",
                "w@example.com",
                "--name",
                "W",
                "--role",
                "viewer",
                "--password-stdin",
            ],
        ),
        "password\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("12 characters"));
    // A generated password is printed once and works.
    let out = ledgerguard(
        &cfg,
        &[
            "user",
            "add",
            "--email",
            "gen@example.com",
            "--name",
            "Gen",
            "--role",
            "viewer",
        ],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let pw = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap()
        .to_owned();
    assert_eq!(app.login("gen@example.com", &pw).await.status(), 200);

    let out = ledgerguard(
        &cfg,
        &[
            "apikey",
            "create",
            "--name",
            "feed",
            "--scopes",
            "ingest,read",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let secret = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let me = |s: String| {
        app.client
            .get(app.url("/api/v1/auth/me"))
            .header("x-api-key", s)
            .send()
    };
    assert_eq!(me(secret.clone()).await.unwrap().status(), 200);
    let list = ledgerguard(&cfg, &["apikey", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(!list.contains(&secret));
    let id = list
        .lines()
        .find(|l| l.contains("feed"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        ledgerguard(&cfg, &["apikey", "revoke", &id])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let start = Instant::now();
    loop {
        if me(secret.clone()).await.unwrap().status() == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "revocation by the CLI reaches the server within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Disable through the CLI.
    let login: Value = app
        .login("gen@example.com", &pw)
        .await
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        ledgerguard(&cfg, &["user", "disable", "gen@example.com"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let start = Instant::now();
    loop {
        let r = app
            .client
            .get(app.url("/api/v1/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if r.status() == 401 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "disable by the CLI reaches the server within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The CLI's changes are in the audit trail file too.
    let audit_file: String = std::fs::read_dir(app.dir.path().join("log"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("audit.log"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        audit_file.contains("user.created") && audit_file.contains("api_key.revoked"),
        "{audit_file}"
    );
    let out = ledgerguard(&cfg, &["user", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("gen@example.com"));
}

#[test]
fn audit_verify_names_the_first_altered_row() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "127.0.0.1:0", "");
    let out = ledgerguard(&cfg, &["init", "--admin-email", "root@example.com"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for i in 0..3 {
        let out = ledgerguard(
            &cfg,
            &[
                "apikey",
                "create",
                "--name",
                &format!("k{i}"),
                "--scopes",
                "read",
            ],
        )
        .output()
        .unwrap();
        assert_eq!(out.status.code(), Some(0));
    }
    let out = ledgerguard(&cfg, &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 rows"));
    let db = rusqlite::Connection::open(dir.path().join("data/ledgerguard.db")).unwrap();
    db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor_label = 'mallory' WHERE seq = 2;").unwrap();
    drop(db);
    let out = ledgerguard(&cfg, &["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 2") && err.contains("altered"), "{err}");
}

#[test]
fn sigterm_drains_and_closes_the_store_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(dir.path(), &format!("127.0.0.1:{port}"), "");
    let mut child = ledgerguard(&cfg, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    while client
        .get(format!("{url}/health/ready"))
        .send()
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(start.elapsed() < Duration::from_secs(20), "server starts");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Some writes to flush.
    for _ in 0..3 {
        client
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"email": "a@b.co", "password": "xxxxxxxxxxxx"}))
            .send()
            .unwrap();
    }
    #[allow(unsafe_code)]
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(35),
            "drains within the shutdown timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    let wal = dir.path().join("data/ledgerguard.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed on close"
    );
    let db = rusqlite::Connection::open(dir.path().join("data/ledgerguard.db")).unwrap();
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let failures: i64 = db
        .query_row("SELECT count(*) FROM login_failures", [], |r| r.get(0))
        .unwrap();
    assert_eq!(failures, 3, "acknowledged writes are on disk");
    let log: String = std::fs::read_dir(dir.path().join("log"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("ledgerguard.log")
        })
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(log.contains("ledgerguard stopped"));
    assert!(log.contains("setup_url"), "first run logs a setup URL");
    for line in log.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("JSON line: {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string());
    }
    let request_line = log
        .lines()
        .find(|l| l.contains("\"route\":\"/api/v1/auth/login\""))
        .expect("a request line");
    let v: Value = serde_json::from_str(request_line).unwrap();
    for field in [
        "request_id",
        "method",
        "route",
        "status",
        "latency_ms",
        "client_ip",
    ] {
        assert!(!v[field].is_null(), "{field} in {request_line}");
    }
    let failed = log
        .lines()
        .find(|l| l.contains("auth.login_failed"))
        .expect("fail2ban line");
    assert!(
        failed.contains("\"client_ip\":\"127.0.0.1\"") && failed.contains("\"email\":\"a@b.co\""),
        "{failed}"
    );
    assert!(
        !log.contains("xxxxxxxxxxxx"),
        "passwords never reach the log"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "127.0.0.1:0", "");
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let db = rusqlite::Connection::open(dir.path().join("data/ledgerguard.db")).unwrap();
    db.pragma_update(None, "user_version", 999).unwrap();
    drop(db);
    let out = ledgerguard(&cfg, &["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("newer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ledgerguard_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), "127.0.0.1:9898", "");
    let out = Command::new(binary())
        .arg("check-config")
        .env("LEDGERGUARD_CONFIG", &path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:9898"));
}
