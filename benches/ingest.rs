//! Ingestion benchmark (SPEC section 12). Not a test: run it with
//!
//! ```text
//! cargo build --release && cargo bench --bench ingest
//! ```
//!
//! It pre-loads a store with `BENCH_PRELOAD` transactions (default 1 000 000) written straight
//! into SQLite, starts the release binary on it (`BENCH_BINARY`, default
//! `target/release/ledgerguard`), creates an ingest key with the CLI, then measures:
//! - single `POST /api/v1/transactions` with keep-alive at full speed (`BENCH_CONNECTIONS`
//!   connections, `BENCH_SECONDS` seconds): req/s, p50, p99;
//! - the same at a fixed 5 000 req/s: p50, p99;
//! - batch ingest (1 000 per `POST /transactions/batch`, 4 connections): transactions/s;
//! - the server's RSS idle after start and after the load.
//!
//! The load comes from a minimal keep-alive HTTP/1.1 client in this file (a general client
//! such as reqwest spent almost a core of the two on itself). Latency at the fixed rate is
//! measured from when each request was due, so a stalled server cannot hide its queueing
//! (no coordinated omission). The load generator still runs on the same machine and takes
//! CPU from the server; the figures are a floor.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let preload: u64 = env_or("BENCH_PRELOAD", 1_000_000);
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let connections: usize = env_or("BENCH_CONNECTIONS", 32);
    let binary = PathBuf::from(
        std::env::var("BENCH_BINARY").unwrap_or_else(|_| "target/release/ledgerguard".into()),
    );
    anyhow::ensure!(
        binary.exists(),
        "{} not found; run `cargo build --release` first",
        binary.display()
    );
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let cfg = write_config(dir.path(), port)?;

    // The schema comes from a first start of the binary (init), then rows go in directly.
    let status = ledgerguard(&binary, &cfg, &["init"])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "init failed");
    let started = Instant::now();
    preload_rows(&dir.path().join("data/ledgerguard.db"), preload)?;
    println!(
        "preloaded {preload} transactions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let out = ledgerguard(
        &binary,
        &cfg,
        &["apikey", "create", "--name", "bench", "--scopes", "ingest"],
    )
    .output()?;
    let key = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("lg_"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no key printed"))?;

    let start = Instant::now();
    let mut server = ledgerguard(&binary, &cfg, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        while client
            .get(format!("{url}/health/ready"))
            .send()
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(120),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        println!("start-up to ready: {:.2} s", start.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!("RSS idle: {} MB", rss_mb(&server));
        let seq = Arc::new(AtomicU64::new(0));

        let addr = format!("127.0.0.1:{port}");
        let (n, lat) = single(&addr, &key, &seq, connections, seconds, None).await;
        report("single, full speed", n, seconds, &lat);
        let (n, lat) = single(&addr, &key, &seq, connections, seconds, Some(5_000)).await;
        report("single, 5 000 req/s offered", n, seconds, &lat);
        let n = batch(&addr, &key, &seq, 4, seconds).await;
        println!(
            "batch: {n} transactions in {seconds} s = {:.0} tx/s",
            n as f64 / seconds as f64
        );
        println!("RSS after load: {} MB", rss_mb(&server));
        anyhow::Ok(())
    });
    let _ = server.kill();
    let _ = server.wait();
    result
}

fn write_config(dir: &Path, port: u16) -> anyhow::Result<PathBuf> {
    let path = dir.join("ledgerguard.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n\n[storage]\ndata_dir = \"{}\"\n\n[logging]\ndir = \"{}\"\nstdout = false\nlevel = \"warn\"\n",
            dir.join("data").display(),
            dir.join("log").display()
        ),
    )?;
    Ok(path)
}

fn ledgerguard(binary: &Path, cfg: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(binary);
    c.arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("LEDGERGUARD_CONFIG");
    c
}

/// Writes `n` plausible scored transactions over the last 60 days, 20 000 accounts.
fn preload_rows(db: &Path, n: u64) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    let now = chrono::Utc::now().timestamp_millis();
    let span = 60 * 86_400_000_i64;
    let mut i = 0;
    while i < n {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref,
                    amount_minor, currency, occurred_at, occurred_ms, received_at, kind, merchant,
                    country, device_id, ip, features, score, decision, severity, reasons)
                 VALUES (?1, 'bench:preload', ?2, 'x', ?3, ?4, 'USD', ?5, ?6, ?5, 'payment', ?7,
                    'DE', ?8, ?9, '{}', 10, 'allow', 'low', '[]')",
            )?;
            for _ in 0..50_000.min(n - i) {
                let ms = now - span + (i as i64 * span / n as i64);
                let at = chrono::DateTime::from_timestamp_millis(ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let account = format!("acct-{}", i % 20_000);
                stmt.execute(rusqlite::params![
                    uuid::Uuid::now_v7().to_string(),
                    format!("pre-{i}"),
                    account,
                    1_000 + (i % 50_000) as i64,
                    at,
                    ms,
                    format!("merchant-{}", i % 500),
                    format!("dev-{}", i % 20_000),
                    format!("10.{}.{}.{}", i % 200, (i / 200) % 250, i % 250),
                ])?;
                i += 1;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch(
        "INSERT OR IGNORE INTO accounts (account_ref, status, created_at, updated_at, last_seen_at, txn_count)
         SELECT account_ref, 'active', MIN(received_at), MAX(received_at), MAX(received_at), COUNT(*)
         FROM transactions GROUP BY account_ref;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )?;
    Ok(())
}

fn body(seq: u64) -> String {
    format!(
        r#"{{"external_id":"bench-{seq}","account_id":"acct-{}","amount":"{}.{:02}","currency":"USD","occurred_at":"{}","kind":"payment","merchant":"merchant-{}","country":"DE","channel":"online","device_id":"dev-{}","ip":"10.1.2.3"}}"#,
        seq % 20_000,
        5 + seq % 500,
        seq % 100,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        seq % 500,
        seq % 20_000,
    )
}

/// A minimal keep-alive HTTP/1.1 client: one request at a time on one connection, responses
/// framed by `Content-Length`. It costs a fraction of a general client's CPU, which matters
/// when the load generator shares the machine's two cores with the server.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            out: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends one request and returns the status and body.
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        key: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        use std::io::Write as _;
        self.out.clear();
        write!(
            self.out,
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )?;
        self.out.extend_from_slice(body);
        self.stream.write_all(&self.out).await?;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head"))?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("status"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| bad("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = self.buf[head_end..head_end + length].to_vec();
        self.buf.drain(..head_end + length);
        Ok((status, body))
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Single-transaction load; `rate` caps the offered rate (requests per second, all
/// connections together). Returns (successful requests, latencies in µs).
async fn single(
    addr: &str,
    key: &str,
    seq: &Arc<AtomicU64>,
    connections: usize,
    seconds: u64,
    rate: Option<u64>,
) -> (u64, Vec<u64>) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (addr, key, seq) = (addr.to_owned(), key.to_owned(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut ok = 0;
            let Ok(mut conn) = Conn::open(&addr).await else {
                return (0, lat);
            };
            let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r as f64));
            let mut next = Instant::now()
                + interval
                    .map(|i| i.mul_f64(c as f64 / connections as f64))
                    .unwrap_or_default();
            while Instant::now() < deadline {
                // Latency counts from when the request was due, so a late start is measured
                // (no coordinated omission).
                let due = if let Some(i) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    let due = next;
                    next += i;
                    due
                } else {
                    Instant::now()
                };
                let b = body(seq.fetch_add(1, Ordering::Relaxed));
                match conn
                    .request("POST", "/api/v1/transactions", &key, b.as_bytes())
                    .await
                {
                    Ok((201, _)) => {
                        ok += 1;
                        lat.push(due.elapsed().as_micros() as u64);
                    }
                    Ok(_) => {}
                    Err(_) => match Conn::open(&addr).await {
                        Ok(c) => conn = c,
                        Err(_) => break,
                    },
                }
            }
            (ok, lat)
        }));
    }
    let mut total = 0;
    let mut all = Vec::new();
    for t in tasks {
        if let Ok((ok, lat)) = t.await {
            total += ok;
            all.extend(lat);
        }
    }
    all.sort_unstable();
    (total, all)
}

async fn batch(
    addr: &str,
    key: &str,
    seq: &Arc<AtomicU64>,
    connections: usize,
    seconds: u64,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, key, seq) = (addr.to_owned(), key.to_owned(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            let Ok(mut conn) = Conn::open(&addr).await else {
                return 0;
            };
            while Instant::now() < deadline {
                let items: Vec<String> = (0..1_000)
                    .map(|_| body(seq.fetch_add(1, Ordering::Relaxed)))
                    .collect();
                let payload = format!("[{}]", items.join(","));
                let Ok((_, answer)) = conn
                    .request(
                        "POST",
                        "/api/v1/transactions/batch",
                        &key,
                        payload.as_bytes(),
                    )
                    .await
                else {
                    break;
                };
                let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
                accepted += v["accepted"].as_u64().unwrap_or(0);
            }
            accepted
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total
}

fn report(label: &str, n: u64, seconds: u64, lat: &[u64]) {
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "{label}: {n} requests in {seconds} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
        n as f64 / seconds as f64,
        pct(0.50),
        pct(0.99)
    );
}

fn rss_mb(child: &Child) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
