//! Dashboard statistics benchmark (SPEC section 12: overview ≤ 50 ms with 10 M stored
//! transactions). Not a test: run it with
//!
//! ```text
//! cargo bench --bench stats            # BENCH_ROWS=10000000 by default
//! ```
//!
//! It opens a store in a temp dir through the library, fills it straight through SQL with
//! `BENCH_ROWS` transactions spread over the last 30 days (one alert per 20 transactions, a
//! fifth of them still open; 200 000 accounts, 1 % frozen) and the roll-ups that ingestion
//! keeps for them, then times `stats::overview` and a day of minute buckets on a pooled read
//! connection, as the HTTP handler does. The preload takes a few minutes and about 3 GB.
//!
//! Measured 2026-12-02 on the 2-core machine under load from other builds (`--profile dev`,
//! SQLite optimised): 10 M transactions, 100 000 open alerts, 200 000 accounts: overview p50
//! 7.0 ms, p99 16.4 ms (first call 23.6 ms); 1 440 minute buckets p50 1.4 ms, p99 1.8 ms.

use std::time::{Duration, Instant};

use ledgerguard::config::Settings;
use ledgerguard::store::Store;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let rows: i64 = env_or("BENCH_ROWS", 10_000_000);
    let runs: usize = env_or("BENCH_RUNS", 50);
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::default();
    settings.storage.data_dir = dir.path().join("data");
    let store = Store::open(&settings)?;
    let now_minute = chrono::Utc::now().timestamp() / 60;
    let started = Instant::now();
    store
        .writer
        .write_blocking(move |conn| preload(conn, rows, now_minute))?;
    store.close();
    println!(
        "preloaded {rows} transactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Reopen so the measurement runs on a store as a restarted server sees it.
    let store = Store::open(&settings)?;
    let conn = store.read()?;
    let first = Instant::now();
    let overview = ledgerguard::stats::overview(&conn, now_minute)?;
    println!(
        "overview, first call: {:.1} ms",
        first.elapsed().as_secs_f64() * 1e3
    );
    println!("{}", serde_json::to_string(&overview)?);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        ledgerguard::stats::overview(&conn, ledgerguard::stats::rollup::now_minute())?;
        times.push(t.elapsed());
    }
    report("overview", &mut times);
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        ledgerguard::stats::store::timeseries(
            &conn,
            ledgerguard::stats::store::Metric::Transactions,
            ledgerguard::stats::store::Interval::Minute,
            now_minute - 1_440,
            now_minute,
        )?;
        times.push(t.elapsed());
    }
    report("timeseries (1 440 minute buckets)", &mut times);
    drop(conn);
    store.close();
    Ok(())
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {} runs",
        ms(p(0.5)),
        ms(p(0.99)),
        ms(times[times.len() - 1]),
        times.len()
    );
}

fn preload(
    conn: &rusqlite::Connection,
    rows: i64,
    now_minute: i64,
) -> Result<(), ledgerguard::store::StoreError> {
    let span = 30 * 24 * 60_i64;
    let start_ms = (now_minute - span + 1) * 60_000;
    let step_ms = (span * 60_000 / rows.max(1)).max(1);
    let chunk = 500_000_i64;
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        conn.execute(
            "WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1 + ?2 - 1)
             INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor,
               currency, occurred_at, occurred_ms, received_at, kind, merchant, score, decision, severity,
               reasons, alert_id)
             SELECT printf('t%012d', i), 'key:bench', printf('e%012d', i), 'h', printf('acct-%d', i % 200000),
               1000 + (i * 7919) % 500000, CASE i % 7 WHEN 0 THEN 'EUR' ELSE 'USD' END,
               strftime('%Y-%m-%dT%H:%M:%fZ', (?3 + i * ?4) / 1000.0, 'unixepoch'), ?3 + i * ?4,
               strftime('%Y-%m-%dT%H:%M:%fZ', (?3 + i * ?4) / 1000.0, 'unixepoch'), 'payment',
               printf('m%d', i % 5000), CASE WHEN i % 20 = 0 THEN 90 ELSE 10 END,
               CASE WHEN i % 20 = 0 THEN 'block' ELSE 'allow' END,
               CASE WHEN i % 20 = 0 THEN 'high' ELSE 'low' END, '[]',
               CASE WHEN i % 20 = 0 THEN printf('a%012d', i) END
             FROM seq",
            rusqlite::params![done, n, start_ms, step_ms],
        )?;
        done += n;
    }
    conn.execute_batch(&format!(
        "INSERT INTO accounts (account_ref, status, created_at, updated_at, last_seen_at, txn_count)
           SELECT printf('acct-%d', value), CASE WHEN value % 100 = 0 THEN 'frozen' ELSE 'active' END,
             'x', 'x', 'x', 50 FROM (WITH RECURSIVE n(value) AS (SELECT 0 UNION ALL
               SELECT value + 1 FROM n WHERE value < 199999) SELECT value FROM n);
         INSERT INTO alerts (id, type, severity, severity_rank, status, score, reasons, transaction_id,
           account_ref, created_at, updated_at)
           SELECT alert_id, 'transaction', CASE (rowid / 20) % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'medium'
             WHEN 2 THEN 'high' ELSE 'critical' END, 1 + (rowid / 20) % 4,
             CASE WHEN (rowid / 20) % 5 = 0 THEN 'open' ELSE 'resolved' END, 90, '[]', id, account_ref,
             received_at, received_at
           FROM transactions WHERE alert_id IS NOT NULL;
         INSERT INTO stats_minute (minute, transactions, allow, review, block, alerts, fraud_labels)
           SELECT occurred_ms / 60000, COUNT(*), SUM(decision = 'allow'), 0, SUM(decision = 'block'),
             SUM(alert_id IS NOT NULL), SUM(alert_id IS NOT NULL AND rowid % 3 = 0)
           FROM transactions GROUP BY occurred_ms / 60000;
         INSERT INTO stats_blocked_minute (minute, currency, amount_minor)
           SELECT occurred_ms / 60000, currency, SUM(amount_minor) FROM transactions
           WHERE decision = 'block' GROUP BY occurred_ms / 60000, currency;
         INSERT INTO budgets (id, name, period, limit_minor, currency, thresholds, created_at, updated_at)
           VALUES ('b1', 'Travel', 'monthly', 1000000, 'USD', '[0.8,1.0]', 'x', 'x');
         INSERT INTO budget_crossings VALUES ('b1', 'p', '0.8', 'a', '{}');",
        ledgerguard::store::now_rfc3339()
    ))?;
    Ok(())
}
