//! `ledgerguard demo`: a throwaway appliance on embedded defaults with a temp data dir, demo
//! users (passwords generated and printed once), an ingest API key, and live synthetic
//! traffic with injected fraud, posted through the public API like a real integration would.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::app::{Application, RunOptions};
use crate::auth::{password, store as auth_store, tokens, Role, Scope};
use crate::config::Settings;
use crate::logging::{self, LogMode};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Synthetic transactions per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Keep data here instead of a temp dir removed on exit.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(mut settings: Settings, args: DemoArgs) -> anyhow::Result<()> {
    let temp = match &args.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("ledgerguard-demo-")
                .tempdir()?,
        ),
    };
    let dir = args
        .data_dir
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.path().to_path_buf()))
        .context("no data dir")?;
    settings.server.listen = args.listen.clone();
    settings.storage.data_dir = dir.join("data");
    settings.logging.dir = dir.join("log");
    settings.logging.level = "warn,ledgerguard=info".into();
    settings
        .validate()
        .map_err(|(k, m)| anyhow::anyhow!("--{}: {m}", k.rsplit('.').next().unwrap_or(k)))?;
    let _guards = logging::init(&settings, LogMode::Server);
    let rate = args.rate.clamp(0.1, 5_000.0);
    let rt = super::runtime()?;
    rt.block_on(async move {
        let app = Application::build(settings.clone(), RunOptions::default()).await?;
        let state = app.state().clone();
        let mut lines = vec![format!("Ledgerguard demo on http://{}/ (data in {})", settings.server.listen, dir.display())];
        for (role, email) in [(Role::Admin, "admin@demo.ledgerguard.test"), (Role::Analyst, "analyst@demo.ledgerguard.test"), (Role::Viewer, "viewer@demo.ledgerguard.test")] {
            let pw = password::generate();
            let hash = password::hash(&pw, 10).map_err(anyhow::Error::msg)?;
            let e = email.to_owned();
            state.store.writer.write(move |conn| auth_store::insert_user(conn, &e, &format!("Demo {}", role.as_str()), role, &hash)).await?;
            lines.push(format!("  {:<8} {email}  password: {pw}", role.as_str()));
        }
        let key = tokens::new_api_key();
        let k = key.clone();
        state
            .store
            .writer
            .write(move |conn| auth_store::insert_api_key(conn, "demo traffic", &k, &[Scope::Ingest, Scope::Read], None, None))
            .await?;
        lines.push(format!("  ingest API key: {key}"));
        lines.push(format!("Posting about {rate} synthetic transactions per second with injected fraud. Ctrl-C stops and deletes the demo data."));
        println!("{}", lines.join("\n"));
        let base = format!("http://{}", settings.listen_addr());
        tokio::spawn(traffic(base, key, rate));
        app.run_until_stopped().await
    })?;
    drop(temp);
    Ok(())
}

/// One synthetic customer.
struct Account {
    id: String,
    country: &'static str,
    device: String,
    ip: String,
    typical: f64,
}

const MERCHANTS: &[(&str, &str, &str)] = &[
    ("Corner Grocery", "5411", "groceries"),
    ("City Fuel", "5541", "fuel"),
    ("Bistro Verde", "5812", "meals"),
    ("Rail Express", "4112", "travel"),
    ("Office Supplies Co", "5943", "office"),
    ("StreamBox", "4899", "software"),
    ("Pharma Plus", "5912", "health"),
    ("Grand Hotel", "7011", "lodging"),
];
const RISKY: &[(&str, &str)] = &[
    ("Lucky Spin Casino", "7995"),
    ("CoinSwap Exchange", "6051"),
    ("QuickWire Transfers", "4829"),
];
const COUNTRIES: &[&str] = &["DE", "FR", "NL", "ES", "IT", "GB", "US", "PL"];
const DEPARTMENTS: &[&str] = &["sales", "engineering", "finance", "operations"];

fn gaussian(rng: &mut StdRng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn accounts(rng: &mut StdRng) -> Vec<Account> {
    (0..200)
        .map(|i| Account {
            id: format!("ACC-{:05}", 1000 + i),
            country: COUNTRIES[rng.random_range(0..COUNTRIES.len())],
            device: format!("dev-{:08x}", rng.random::<u32>()),
            ip: format!("198.51.100.{}", rng.random_range(1..255)),
            typical: (3.0 + gaussian(rng) * 0.6).exp(),
        })
        .collect()
}

fn amount(v: f64) -> String {
    format!("{:.2}", v.clamp(0.5, 250_000.0))
}

/// Builds the next batch of synthetic transactions: mostly normal, sometimes an attack.
fn next_batch(rng: &mut StdRng, accts: &[Account], seq: &mut u64) -> Vec<Value> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let a = &accts[rng.random_range(0..accts.len())];
    let mut id = || {
        *seq += 1;
        format!("demo-{}-{}", std::process::id(), seq)
    };
    let roll: f64 = rng.random_range(0.0..1.0);
    let (merchant, mcc, category) = MERCHANTS[rng.random_range(0..MERCHANTS.len())];
    if roll < 0.02 {
        // Card testing: a burst of tiny online charges from a new device.
        let device = format!("dev-new-{:06x}", rng.random::<u32>() & 0xff_ffff);
        (0..6)
            .map(|_| json!({"external_id": id(), "account_id": a.id, "amount": amount(rng.random_range(0.5..2.0)), "currency": "EUR",
                "occurred_at": now, "kind": "payment", "channel": "online", "merchant": "Tiny Donations Ltd", "merchant_category": "8398",
                "device_id": device, "ip": "203.0.113.66", "country": a.country}))
            .collect()
    } else if roll < 0.035 {
        // Account takeover: new device, new country, a big transfer.
        vec![
            json!({"external_id": id(), "account_id": a.id, "amount": amount(a.typical * rng.random_range(20.0..60.0)), "currency": "EUR",
            "occurred_at": now, "kind": "transfer", "channel": "online", "device_id": format!("dev-x-{:06x}", rng.random::<u32>() & 0xff_ffff),
            "ip": "45.155.205.7", "country": "NG"}),
        ]
    } else if roll < 0.045 {
        // Structuring: just under the reporting threshold.
        vec![
            json!({"external_id": id(), "account_id": a.id, "amount": amount(rng.random_range(9_500.0..9_990.0)), "currency": "EUR",
            "occurred_at": now, "kind": "withdrawal", "channel": "atm", "country": a.country, "device_id": a.device}),
        ]
    } else if roll < 0.055 {
        let (m, c) = RISKY[rng.random_range(0..RISKY.len())];
        vec![
            json!({"external_id": id(), "account_id": a.id, "amount": amount(a.typical * 8.0), "currency": "EUR", "occurred_at": now,
            "kind": "payment", "channel": "online", "merchant": m, "merchant_category": c, "device_id": a.device, "ip": a.ip, "country": a.country}),
        ]
    } else if roll < 0.15 {
        let dept = DEPARTMENTS[rng.random_range(0..DEPARTMENTS.len())];
        vec![
            json!({"external_id": id(), "account_id": format!("CORP-{dept}"), "amount": amount((3.5 + gaussian(rng) * 0.8).exp()), "currency": "EUR",
            "occurred_at": now, "kind": "expense", "merchant": merchant, "merchant_category": mcc,
            "description": format!("{category} at {merchant}"), "department": dept,
            "submitted_by": format!("employee{}@demo.ledgerguard.test", rng.random_range(1..25))}),
        ]
    } else {
        vec![
            json!({"external_id": id(), "account_id": a.id, "amount": amount(a.typical * (gaussian(rng) * 0.4).exp()), "currency": "EUR",
            "occurred_at": now, "kind": "payment", "channel": if rng.random_bool(0.6) { "card_present" } else { "online" },
            "merchant": merchant, "merchant_category": mcc, "device_id": a.device, "ip": a.ip, "country": a.country}),
        ]
    }
}

async fn traffic(base: String, key: String, rate: f64) {
    let client = reqwest::Client::new();
    let mut rng = StdRng::from_os_rng();
    let accts = accounts(&mut rng);
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut warned = false;
    loop {
        tick.tick().await;
        for txn in next_batch(&mut rng, &accts, &mut seq) {
            let path = if txn["kind"] == "expense" {
                "/api/v1/expenses"
            } else {
                "/api/v1/transactions"
            };
            match client
                .post(format!("{base}{path}"))
                .header("x-api-key", &key)
                .json(&txn)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {}
                Ok(r) if !warned => {
                    warned = true;
                    tracing::warn!(status = r.status().as_u16(), "demo traffic was refused");
                }
                Ok(_) => {}
                Err(_) => return, // the server is shutting down
            }
        }
    }
}
