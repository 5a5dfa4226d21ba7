//! Backups and restore: the CLI round trip (as separate processes), refusal of damaged files
//! and of a live data dir, backups while a server runs, the schedule, and the admin API.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ledgerguard::store::DataDirLock;

use crate::helpers::*;

/// A config file pointing at `root/data` and `root/log`.
fn write_config(root: &Path) -> PathBuf {
    let path = root.join("ledgerguard.toml");
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[storage]\ndata_dir = \"{}\"\n[logging]\ndir = \"{}\"\nstdout = false\n",
        root.join("data").display(),
        root.join("log").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("LEDGERGUARD_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("ledgerguard runs")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn conn(data_dir: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(data_dir.join("ledgerguard.db")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c
}

fn add_marker(data_dir: &Path, name: &str) {
    conn(data_dir)
        .execute(
            "INSERT INTO lists (id, name, kind, mode, created_at) VALUES (?1, ?1, 'country', 'block', '2026-01-01T00:00:00Z')",
            [name],
        )
        .unwrap();
}

fn markers(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut stmt = c.prepare("SELECT name FROM lists ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn sha(path: &Path) -> String {
    ledgerguard::backup::file::hash_file(path).unwrap().1
}

async fn wait_unlocked(data_dir: &Path) {
    for _ in 0..200 {
        if !DataDirLock::is_held(data_dir) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the server never released the data dir");
}

/// Starts a server on `root`'s data dir (as the config file describes it).
async fn serve_on(root: &Path) -> TestApp {
    let data = root.join("data");
    let log = root.join("log");
    spawn_app_with(move |s| {
        s.storage.data_dir = data;
        s.logging.dir = log;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_serving_then_restore_round_trip_serves_the_restored_data() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(root.path());
    let data = root.path().join("data");
    let app = serve_on(root.path()).await;
    add_marker(&data, "before-backup");

    // A backup while the server runs.
    let out = cli(&config, &["backup"]);
    assert!(out.status.success(), "{}", text(&out));
    let backup_path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        backup_path.starts_with(data.join("backups")),
        "{}",
        text(&out)
    );
    let name = backup_path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        name.starts_with("ledgerguard-") && name.ends_with("Z.db"),
        "{name}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("integrity ok"));

    // Listed with its checksum, while the server runs.
    let out = cli(&config, &["backup", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(&name) && listing.contains(&sha(&backup_path)),
        "{listing}"
    );

    // Recorded in the database with an audit row.
    let c = conn(&data);
    let (size, recorded_sha): (i64, String) = c
        .query_row(
            "SELECT size, sha256 FROM backups WHERE name = ?1",
            [&name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(size as u64, std::fs::metadata(&backup_path).unwrap().len());
    assert_eq!(recorded_sha, sha(&backup_path));
    let audited: i64 = c
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'backup.created' AND target_id = ?1",
            [&name],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
    drop(c);

    // Restore refuses while the server holds the data dir, and changes nothing.
    let db_sha = sha(&data.join("ledgerguard.db"));
    let out = cli(
        &config,
        &["restore", backup_path.to_str().unwrap(), "--yes"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{}",
        text(&out)
    );
    assert_eq!(sha(&data.join("ledgerguard.db")), db_sha);

    // Changes after the backup, then the server stops.
    add_marker(&data, "after-backup");
    app.stop().await;
    wait_unlocked(&data).await;

    let out = cli(
        &config,
        &["restore", backup_path.to_str().unwrap(), "--yes"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(markers(&data.join("ledgerguard.db")), ["before-backup"]);
    let replaced: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("ledgerguard.db.replaced-")
        })
        .collect();
    assert_eq!(replaced.len(), 1, "{replaced:?}");
    assert_eq!(
        markers(&replaced[0]),
        ["after-backup", "before-backup"],
        "the replaced database keeps the later changes"
    );
    let leftovers: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ledgerguard.db.restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let restored_audit: i64 = conn(&data)
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'backup.restored'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(restored_audit, 1);

    // The next start serves the restored database.
    let app = serve_on(root.path()).await;
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["database"]["status"], "ok", "{health}");
    assert_eq!(health["checks"]["backup"]["status"], "ok", "{health}");
    assert_eq!(markers(&data.join("ledgerguard.db")), ["before-backup"]);
    let admin = app.token("admin").await;
    let audit: serde_json::Value = app
        .client
        .get(app.url("/api/v1/audit?action=backup.restored"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_and_truncated_backups_are_refused_and_nothing_is_replaced() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(root.path());
    let data = root.path().join("data");
    let app = serve_on(root.path()).await;
    add_marker(&data, "live");
    app.stop().await;
    wait_unlocked(&data).await;
    let out = cli(&config, &["backup"]);
    assert!(out.status.success(), "{}", text(&out));
    let backup_path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let bytes = std::fs::read(&backup_path).unwrap();
    assert!(bytes.len() > 8192);

    let damaged = root.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    let truncated = damaged.join("truncated.db");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let mut smashed = bytes.clone();
    for b in &mut smashed[4096..8192] {
        *b = 0xA5;
    }
    let corrupted = damaged.join("corrupted.db");
    std::fs::write(&corrupted, &smashed).unwrap();
    let garbage = damaged.join("garbage.db");
    std::fs::write(
        &garbage,
        "<script>alert(1)</script>'; DROP TABLE lists; --".repeat(100),
    )
    .unwrap();
    // A single flipped byte in a checksummed backup is caught by its sidecar.
    let mut flipped = bytes.clone();
    let last = flipped.len() - 100;
    flipped[last] ^= 0x01;
    let flipped_path = backup_path.with_file_name("ledgerguard-20200101T000000Z.db");
    std::fs::write(&flipped_path, &flipped).unwrap();
    std::fs::copy(
        format!("{}.sha256", backup_path.display()),
        format!("{}.sha256", flipped_path.display()),
    )
    .unwrap();
    let sidecar = std::fs::read_to_string(format!("{}.sha256", flipped_path.display())).unwrap();
    let old_name = backup_path.file_name().unwrap().to_str().unwrap();
    std::fs::write(
        format!("{}.sha256", flipped_path.display()),
        sidecar.replace(old_name, "ledgerguard-20200101T000000Z.db"),
    )
    .unwrap();

    let db = data.join("ledgerguard.db");
    let before = sha(&db);
    let names_before = dir_names(&data);
    for bad in [&truncated, &corrupted, &garbage, &flipped_path] {
        let out = cli(&config, &["restore", bad.to_str().unwrap(), "--yes"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {}",
            bad.display(),
            text(&out)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("refusing") && err.contains("nothing was changed"),
            "{}: {err}",
            bad.display()
        );
        assert_eq!(sha(&db), before, "{}", bad.display());
        assert_eq!(dir_names(&data), names_before, "{}", bad.display());
    }
    let out = cli(
        &config,
        &["restore", flipped_path.to_str().unwrap(), "--yes"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum"),
        "{}",
        text(&out)
    );
    // A missing file is an operation failure too.
    let out = cli(
        &config,
        &[
            "restore",
            damaged.join("missing.db").to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "ledgerguard.lock")
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_off_a_terminal_without_yes_is_bad_usage() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(root.path());
    let file = root.path().join("whatever.db");
    std::fs::write(&file, b"x").unwrap();
    let out = cli(&config, &["restore", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(!root.path().join("data").join("ledgerguard.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_another_dir_and_listing_without_backups() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(root.path());
    let out = cli(&config, &["backup", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no backups"));
    // No database yet: a clear failure, not an empty backup.
    let out = cli(&config, &["backup"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no database"),
        "{}",
        text(&out)
    );

    let app = serve_on(root.path()).await;
    let elsewhere = root.path().join("offsite");
    let out = cli(&config, &["backup", "--out", elsewhere.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.starts_with(&elsewhere));
    assert!(ledgerguard::backup::file::verify(&path).is_ok());
    // Not listed in the backup dir.
    let out = cli(&config, &["backup", "list"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no backups"),
        "{}",
        text(&out)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_takes_backups_prunes_them_and_reports_metrics() {
    let app = spawn_app_with(|s| {
        s.backup.schedule = "* * * * * *".into();
        s.backup.keep = 2;
    })
    .await;
    let dir = app.settings.backup_dir();
    let mut seen = Vec::new();
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = ledgerguard::backup::file::list(&dir).unwrap();
        if seen.len() >= 2 {
            break;
        }
    }
    assert!(seen.len() >= 2, "{seen:?}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let kept = ledgerguard::backup::file::list(&dir).unwrap();
    assert!(
        kept.len() <= 3,
        "pruned to keep = 2 (one may be in flight): {kept:?}"
    );
    assert!(kept
        .iter()
        .all(|b| b.integrity == "ok" && b.sha256.is_some()));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("ledgerguard_backup_last_success_timestamp_seconds "))
        .unwrap_or_default();
    let value: i64 = line.rsplit(' ').next().unwrap_or("0").parse().unwrap_or(0);
    assert!(value > 1_700_000_000, "{line}");
    assert!(metrics.contains("ledgerguard_backup_duration_seconds_count"));
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["backup"]["status"], "ok", "{health}");
    app.stop().await;
}

async fn post_backup(app: &TestApp, credential: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/backups"))
        .bearer_auth(credential)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_takes_lists_and_downloads_verified_backups() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let mut events = app.state.events.subscribe();

    let resp = post_backup(&app, &admin).await;
    assert_eq!(resp.status(), 201);
    let first: serde_json::Value = resp.json().await.unwrap();
    let name = first["name"].as_str().unwrap().to_owned();
    assert!(
        ledgerguard::backup::naming::BackupName::parse(&name).is_some(),
        "{first}"
    );
    assert_eq!(first["integrity"], "ok");
    let path = app.settings.backup_dir().join(&name);
    assert_eq!(first["sha256"], sha(&path));
    assert_eq!(first["size"], std::fs::metadata(&path).unwrap().len());
    chrono::DateTime::parse_from_rfc3339(first["created_at"].as_str().unwrap()).unwrap();

    let event = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.kind, "backup.completed");
    assert_eq!(event.data["name"], name.as_str());

    // A second one in the same second gets its own name.
    let second: serde_json::Value = post_backup(&app, &admin).await.json().await.unwrap();
    assert_ne!(second["name"], first["name"]);

    let list: serde_json::Value = app
        .client
        .get(app.url("/api/v1/backups"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["name"], second["name"], "newest first");
    assert_eq!(items[1], first);
    assert!(list["next_cursor"].is_null());

    // Paging with limit and cursor.
    let page: serde_json::Value = app
        .client
        .get(app.url("/api/v1/backups?limit=1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/backups?limit=1&cursor={cursor}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"][0]["name"], first["name"], "{rest}");
    assert!(rest["next_cursor"].is_null());

    // Download: the exact bytes, audited.
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/backups/{name}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.sqlite3");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&name));
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len() as u64, first["size"].as_u64().unwrap());
    assert_eq!(std::fs::read(&path).unwrap(), body.to_vec());

    let audit: serde_json::Value = app
        .client
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "backup.created").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "backup.downloaded")
            .count(),
        1,
        "{actions:?}"
    );

    // An admin key may do the same; the health check now sees a fresh backup.
    let key = app.api_key(&["admin"]).await;
    assert_eq!(post_backup(&app, &key).await.status(), 201);
    let health: serde_json::Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["backup"]["status"], "ok", "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_api_refuses_hostile_names_other_roles_and_bad_queries() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let first: serde_json::Value = post_backup(&app, &admin).await.json().await.unwrap();
    let dir = app.settings.backup_dir();
    // A symlink with a backup name pointing outside the backup dir is not served.
    std::os::unix::fs::symlink(
        app.data_dir().join("ledgerguard.db"),
        dir.join("ledgerguard-20200101T000000Z.db"),
    )
    .unwrap();
    std::fs::write(dir.join("notes.db"), b"private").unwrap();

    for name in [
        "ledgerguard-20200101T000000Z.db",
        "ledgerguard-20990101T000000Z.db",
        "notes.db",
        "..%2Fledgerguard.db",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "ledgerguard.db",
        "ledgerguard-20200101T000000Z.db.sha256",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "x'%20OR%20'1'%3D'1",
        "ledgerguard-%E2%80%AE20200101T000000Z.db",
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/backups/{name}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_error(resp, 404, "not_found").await;
    }
    let name = first["name"].as_str().unwrap();
    // (Clients resolve `..` before sending; these arrive as other paths and must not serve files.)
    for path in [
        format!("/api/v1/backups/{name}/../../ledgerguard.db"),
        format!("/api/v1/backups/{name}/extra"),
    ] {
        let resp = app
            .client
            .get(app.url(&path))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_ne!(resp.status(), 200, "{path}");
    }

    let analyst = app.token("analyst").await;
    let reader = app.api_key(&["read"]).await;
    for credential in [&analyst, &reader] {
        let resp = app
            .client
            .get(app.url("/api/v1/backups"))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        assert_error(resp, 403, "forbidden").await;
        assert_error(post_backup(&app, credential).await, 403, "forbidden").await;
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/backups/{name}")))
            .bearer_auth(credential)
            .send()
            .await
            .unwrap();
        assert_error(resp, 403, "forbidden").await;
    }
    let resp = app
        .client
        .get(app.url("/api/v1/backups"))
        .send()
        .await
        .unwrap();
    assert_error(resp, 401, "unauthorized").await;
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/backups/{name}")))
        .send()
        .await
        .unwrap();
    assert_error(resp, 401, "unauthorized").await;

    for query in [
        "limit=0",
        "limit=abc",
        "limit=99999999999999999999",
        "cursor=not-a-cursor",
        "cursor=%27%3B%20DROP%20TABLE%20backups%3B--",
        // A well-formed cursor holding something other than a backup name.
        "cursor=ImV2aWwuZGIi",
        "evil=1",
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/backups?{query}")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_error(resp, 400, "bad_request").await;
    }
    // Nothing above removed or added backups.
    let names: Vec<String> = ledgerguard::backup::file::list(&dir)
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(names.contains(&name.to_owned()));
    assert!(std::fs::read(dir.join("notes.db")).unwrap() == b"private");
}
