//! The packaged files agree with the code: `packaging/ledgerguard.toml` lists every config
//! key with its default, the Grafana dashboard and Prometheus rules use exactly the metric
//! names of `src/metrics.rs`, and the systemd unit matches what the package installs.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ledgerguard::config::{ConfigSource, Settings};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Dotted keys of every leaf in a TOML table.
fn leaves(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => leaves(&key, t, out),
            _ => {
                out.insert(key);
            }
        }
    }
}

/// Keys whose default is "unset" and so can only be shown commented out.
const OPTIONAL_KEYS: &[&str] = &[
    "server.tls.cert_file",
    "server.tls.key_file",
    "auth.jwt_key_file",
    "backup.dir",
];

#[test]
fn packaged_config_loads_to_exactly_the_defaults() {
    let source = ConfigSource {
        path: repo("packaging/ledgerguard.toml"),
        explicit: true,
    };
    let loaded = Settings::load(&source).expect("the packaged config loads");
    assert_eq!(
        loaded,
        Settings::default(),
        "packaging/ledgerguard.toml must state the defaults"
    );
}

#[test]
fn packaged_config_lists_every_key_with_a_comment() {
    let text = read("packaging/ledgerguard.toml");
    let file: toml::Table = toml::from_str(&text).unwrap();
    let mut in_file = BTreeSet::new();
    leaves("", &file, &mut in_file);
    let defaults = toml::Table::try_from(Settings::default()).unwrap();
    let mut all = BTreeSet::new();
    leaves("", &defaults, &mut all);
    let missing: Vec<_> = all.difference(&in_file).collect();
    assert!(
        missing.is_empty(),
        "keys missing from packaging/ledgerguard.toml: {missing:?}"
    );
    // Unset keys are shown commented out in their section.
    for key in OPTIONAL_KEYS {
        let (section, name) = key.rsplit_once('.').unwrap();
        let header = format!("[{section}]");
        let start = text.find(&header).unwrap_or_else(|| panic!("no {header}"));
        let body = &text[start + header.len()..];
        let body = &body[..body.find("\n[").unwrap_or(body.len())];
        assert!(
            body.contains(&format!("# {name} = ")),
            "{key} is not shown commented out"
        );
    }
    // Every key line is preceded by a comment somewhere in its block.
    let mut commented = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') {
            commented = true;
        } else if t.is_empty() || t.starts_with('[') {
            commented = false;
        } else {
            assert!(commented, "no comment above `{t}`");
        }
    }
}

/// The metric names `src/metrics.rs` registers.
fn catalogue() -> BTreeSet<String> {
    let source = read("src/metrics.rs");
    source
        .split('"')
        .filter(|s| {
            s.starts_with("ledgerguard_") && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// `ledgerguard_*` and `process_*` names used in `text`.
fn used(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    for prefix in ["ledgerguard_", "process_"] {
        let mut from = 0;
        while let Some(pos) = text[from..].find(prefix) {
            let start = from + pos;
            let boundary = start == 0
                || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |e| start + e);
            if boundary {
                out.insert(text[start..end].to_owned());
            }
            from = end;
        }
    }
    out
}

fn base_name(name: &str, catalogue: &BTreeSet<String>) -> Option<String> {
    if catalogue.contains(name) {
        return Some(name.to_owned());
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .find(|b| catalogue.contains(*b))
        .map(str::to_owned)
}

#[test]
fn dashboard_and_rules_use_exactly_the_exported_metric_names() {
    let catalogue = catalogue();
    assert_eq!(catalogue.len(), 14, "{catalogue:?}");
    let process = [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_max_fds",
    ];
    let dashboard = read("packaging/grafana-dashboard.json");
    let rules = read("packaging/prometheus-rules.yml");
    serde_json::from_str::<serde_json::Value>(&dashboard).expect("the dashboard is JSON");
    let mut covered = BTreeSet::new();
    for (file, text) in [
        ("grafana-dashboard.json", &dashboard),
        ("prometheus-rules.yml", &rules),
    ] {
        for name in used(text) {
            if name.starts_with("process_") {
                assert!(
                    process.contains(&name.as_str()),
                    "{file} uses unknown {name}"
                );
                continue;
            }
            if name == "ledgerguard_" || name.starts_with("ledgerguard_overview") {
                continue;
            }
            let base = base_name(&name, &catalogue).unwrap_or_else(|| {
                panic!("{file} uses {name}, which src/metrics.rs does not export")
            });
            covered.insert(base);
        }
    }
    let unused: Vec<_> = catalogue.difference(&covered).collect();
    assert!(
        unused.is_empty(),
        "metrics on neither the dashboard nor a rule: {unused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_metrics_carry_every_catalogue_name_once_recorded() {
    let app = crate::helpers::spawn_app().await;
    // Touch the request metrics, then scrape.
    let _ = app.get("/health").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for name in [
        "ledgerguard_http_requests_total",
        "ledgerguard_backup_last_success_timestamp_seconds",
        "process_resident_memory_bytes",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing from /metrics"
        );
    }
}

#[test]
fn systemd_unit_is_notify_watchdog_hardened_and_matches_the_package() {
    let unit = read("systemd/ledgerguard.service");
    for needle in [
        "Type=notify",
        "WatchdogSec=",
        "User=ledgerguard",
        "ExecStart=/usr/bin/ledgerguard --config /etc/ledgerguard/ledgerguard.toml serve",
        "StateDirectory=ledgerguard",
        "LogsDirectory=ledgerguard",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(needle), "unit lacks {needle}");
    }
    let cargo = read("Cargo.toml");
    for needle in [
        "[package.metadata.deb]",
        "\"systemd/ledgerguard.service\", \"lib/systemd/system/\"",
        "\"packaging/ledgerguard.toml\", \"etc/ledgerguard/\"",
        "\"target/release/ledgerguard\", \"usr/bin/\"",
    ] {
        assert!(
            cargo.contains(needle),
            "Cargo.toml [package.metadata.deb] lacks {needle}"
        );
    }
    for script in ["postinst", "postrm", "prerm"] {
        let text = read(&format!("packaging/debian/{script}"));
        assert!(text.starts_with("#!/bin/sh"), "{script}");
        assert!(text.contains("set -e"), "{script}");
        assert!(
            text.contains("#DEBHELPER#") || script != "postinst" || text.contains("adduser"),
            "{script}"
        );
    }
    assert!(
        read("packaging/debian/postrm").contains("purge)"),
        "data removed only on purge"
    );
}
