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
