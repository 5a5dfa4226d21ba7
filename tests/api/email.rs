//! Alert e-mail against a real SMTP server: Python's aiosmtpd (PyPI), started by the test on a
//! free loopback port with AUTH required. Skipped, with a message, only where aiosmtpd is not
//! installed (`python3 -m pip install aiosmtpd`; `.ci/run` installs it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::alerts::seed_alert;
use crate::helpers::*;

const SERVER: &str = r#"
import os, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, outdir = int(sys.argv[1]), sys.argv[2]

class Keep:
    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(outdir) if f.endswith(".eml")])
        tmp = os.path.join(outdir, "%04d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(envelope.content)
        os.rename(tmp, os.path.join(outdir, "%04d.eml" % n))
        return "250 OK"

def check(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"ledgerguard" and auth_data.password == b"s3cret-pass"
    return AuthResult(success=ok)

c = Controller(Keep(), hostname="127.0.0.1", port=port, authenticator=check,
               auth_required=True, auth_require_tls=False)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"#;

/// The SMTP server process; killed when dropped.
struct Smtp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiosmtpd_available() -> bool {
    Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start_smtp(dir: &Path) -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("python3")
        .args(["-c", SERVER, &port.to_string(), dir.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "aiosmtpd started");
    Smtp {
        child,
        port,
        dir: dir.to_owned(),
    }
}

impl Smtp {
    fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Announces a seeded alert as the scoring pipeline does.
fn announce(app: &TestApp, id: &str) {
    app.state
        .events
        .publish("alert.created", json!({"alert": {"id": id}}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn severe_alerts_are_mailed_as_one_digest_per_burst_over_authenticated_smtp() {
    if !aiosmtpd_available() {
        eprintln!("SKIPPED: python3 -m aiosmtpd is unavailable; install it with `python3 -m pip install aiosmtpd`");
        return;
    }
    let mail_dir = tempfile::tempdir().unwrap();
    let smtp = start_smtp(mail_dir.path());
    let port = smtp.port;
    let app = spawn_app_with(move |s| {
        let e = &mut s.notify.email;
        e.enabled = true;
        e.smtp_host = "127.0.0.1".into();
        e.smtp_port = port;
        e.tls = ledgerguard::config::SmtpTls::None;
        e.username = "ledgerguard".into();
        e.password = ledgerguard::config::Secret::new("s3cret-pass");
        e.from = "Ledgerguard <alerts@example.test>".into();
        e.to = vec!["fraud-team@example.test".into()];
        e.min_severity = "high".into();
        e.digest_window_s = 1;
        s.server.public_url = "https://lg.example.test".into();
    })
    .await;

    let low = seed_alert(&app, "low", "2026-03-01T10:00:00.000Z", "acct-low").await;
    let burst = [
        seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-1").await,
        seed_alert(&app, "critical", "2026-03-01T10:00:00.000Z", "acct-2").await,
        seed_alert(&app, "critical", "2026-03-01T10:00:00.000Z", "acct-3").await,
    ];
    announce(&app, &low);
    for id in &burst {
        announce(&app, id);
    }
    let mail = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(smtp.messages().len(), 1, "one digest for the burst");
    let digest = &mail[0];
    assert!(
        digest.contains("Subject: [Ledgerguard] 3 new alerts"),
        "{digest}"
    );
    assert!(digest.contains("fraud-team@example.test"));
    for id in &burst {
        assert!(digest.contains(id.as_str()), "digest lists {id}");
    }
    assert!(
        !digest.contains(low.as_str()),
        "below min_severity is not mailed"
    );
    assert!(digest.contains("https://lg.example.test/alerts/"));

    let single = seed_alert(&app, "high", "2026-03-01T10:00:00.000Z", "acct-7").await;
    announce(&app, &single);
    let mail = smtp.wait_for(2).await;
    assert!(
        mail[1].contains("Subject: [Ledgerguard] high alert: account acct-7"),
        "{}",
        mail[1]
    );
    assert!(
        mail[1].contains("9 payments in a minute"),
        "reasons are listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_when_configured_is_required_and_nothing_goes_out_in_clear() {
    if !aiosmtpd_available() {
        eprintln!("SKIPPED: python3 -m aiosmtpd is unavailable; install it with `python3 -m pip install aiosmtpd`");
        return;
    }
    let mail_dir = tempfile::tempdir().unwrap();
    let smtp = start_smtp(mail_dir.path());
    let settings = ledgerguard::config::EmailSettings {
        enabled: true,
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.port,
        tls: ledgerguard::config::SmtpTls::None,
        username: "ledgerguard".into(),
        password: ledgerguard::config::Secret::new("s3cret-pass"),
        from: "alerts@example.test".into(),
        to: vec!["team@example.test".into()],
        ..Default::default()
    };
    let message = |subject: &str| {
        lettre::Message::builder()
            .from("alerts@example.test".parse().unwrap())
            .to("team@example.test".parse().unwrap())
            .subject(subject)
            .body(String::from("body"))
            .unwrap()
    };
    ledgerguard::notify::email::send(&settings, message("plain"))
        .await
        .expect("plain SMTP with AUTH works");
    assert_eq!(smtp.wait_for(1).await.len(), 1);
    // This server offers no STARTTLS: a STARTTLS or TLS configuration refuses to go on in clear.
    for tls in [
        ledgerguard::config::SmtpTls::Starttls,
        ledgerguard::config::SmtpTls::Tls,
    ] {
        let strict = ledgerguard::config::EmailSettings {
            tls,
            ..settings.clone()
        };
        let err = ledgerguard::notify::email::send(&strict, message("secret"))
            .await
            .unwrap_err();
        assert!(err.starts_with("SMTP"), "{err}");
    }
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing was sent without encryption"
    );
}
