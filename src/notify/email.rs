//! Alert e-mail over SMTP (lettre): alerts at or above `notify.email.min_severity` are
//! collected for `digest_window_s` after the first one arrives and sent as one message — the
//! alert itself when it came alone, a digest when several did — so a burst of fraud does not
//! become a burst of mail.
//!
//! The worker listens to the event bus for `alert.created` and reads the alert from the store,
//! so it does not depend on the event's exact payload. Mail is best effort (a failed send is
//! retried twice, then logged); webhooks are the durable channel.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::broadcast::error::RecvError;

use crate::alerts::{Alert, Severity};
use crate::app::AppState;
use crate::config::{EmailSettings, SmtpTls};

/// Pauses before the 2nd and 3rd try of a failed send.
const RETRY: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(30)];
/// The longest one SMTP exchange may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Alerts listed in one digest at most (the rest are counted).
const DIGEST_MAX: usize = 100;

/// The alert id in an `alert.created` payload, whatever its exact shape.
fn alert_id(data: &serde_json::Value) -> Option<String> {
    [
        data.pointer("/alert/id"),
        data.get("alert_id"),
        data.get("id"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str().map(str::to_owned))
}

/// Starts the worker when e-mail is enabled.
pub fn spawn(state: AppState) {
    let settings = state.settings.notify.email.clone();
    if !settings.enabled {
        return;
    }
    let min = Severity::parse(&settings.min_severity).unwrap_or(Severity::High);
    let window = Duration::from_secs(settings.digest_window_s);
    let mut events = state.events.subscribe();
    tokio::spawn(async move {
        let mut pending: Vec<Alert> = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            if state.lifecycle.is_stopping() {
                break;
            }
            // Wake at least every second to notice a shutdown.
            let soon = tokio::time::Instant::now() + Duration::from_secs(1);
            let sleep_until = deadline.map_or(soon, |d| d.min(soon));
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) if event.kind == "alert.created" => {
                        let Some(id) = alert_id(&event.data) else { continue };
                        let found = state
                            .store
                            .read_async(move |conn| crate::alerts::store::get(conn, &id))
                            .await;
                        match found {
                            Ok(Some(alert)) => {
                                let severe = Severity::parse(&alert.severity).is_some_and(|s| s >= min);
                                if severe {
                                    pending.push(alert);
                                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + window);
                                }
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "cannot read an alert for e-mail"),
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "the e-mail notifier fell behind; some alerts were not mailed");
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep_until(sleep_until) => {
                    if deadline.is_some_and(|d| d <= tokio::time::Instant::now()) {
                        deadline = None;
                        let batch = std::mem::take(&mut pending);
                        let (settings, public_url) = (settings.clone(), public_url(&state));
                        tokio::spawn(async move { send_with_retries(&settings, &public_url, &batch).await });
                    }
                }
            }
        }
    });
}

fn public_url(state: &AppState) -> String {
    let configured = state.settings.server.public_url.trim_end_matches('/');
    if configured.is_empty() {
        format!("http://{}", state.settings.server.listen)
    } else {
        configured.to_owned()
    }
}

async fn send_with_retries(settings: &EmailSettings, public_url: &str, alerts: &[Alert]) {
    let Some(message) = compose(settings, public_url, alerts) else {
        tracing::error!("cannot compose the alert e-mail (check notify.email.from and to)");
        return;
    };
    for pause in std::iter::once(None).chain(RETRY.iter().map(Some)) {
        if let Some(p) = pause {
            tokio::time::sleep(*p).await;
        }
        match send(settings, message.clone()).await {
            Ok(()) => {
                tracing::info!(alerts = alerts.len(), "alert e-mail sent");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "sending the alert e-mail failed"),
        }
    }
    tracing::error!(
        alerts = alerts.len(),
        "giving up on an alert e-mail after 3 tries"
    );
}

/// Builds the message: one alert on its own, several as a digest.
pub fn compose(settings: &EmailSettings, public_url: &str, alerts: &[Alert]) -> Option<Message> {
    let first = alerts.first()?;
    let from: Mailbox = settings.from.parse().ok()?;
    let subject = if alerts.len() == 1 {
        format!(
            "[Ledgerguard] {} alert: account {} (score {})",
            first.severity,
            first.account_id.as_deref().unwrap_or("-"),
            first.score
        )
    } else {
        format!("[Ledgerguard] {} new alerts", alerts.len())
    };
    let mut body = String::new();
    if alerts.len() > 1 {
        body.push_str(&format!(
            "{} alerts at or above {} severity were raised.\n\n",
            alerts.len(),
            settings.min_severity
        ));
    }
    for a in alerts.iter().take(DIGEST_MAX) {
        let reasons: Vec<String> = a
            .reasons
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| {
                        r.get("message")
                            .or_else(|| r.get("code"))
                            .and_then(|m| m.as_str())
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        body.push_str(&format!(
            "- {} alert {} on account {} (score {}), raised {}\n  {}\n  {}/alerts/{}\n",
            a.severity,
            a.id,
            a.account_id.as_deref().unwrap_or("-"),
            a.score,
            a.created_at,
            if reasons.is_empty() {
                "no reasons recorded".to_owned()
            } else {
                reasons.join("; ")
            },
            public_url,
            a.id
        ));
    }
    if alerts.len() > DIGEST_MAX {
        body.push_str(&format!(
            "\n… and {} more in the alert queue.\n",
            alerts.len() - DIGEST_MAX
        ));
    }
    let mut builder = Message::builder()
        .from(from)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    let mut any = false;
    for to in &settings.to {
        if let Ok(m) = to.parse::<Mailbox>() {
            builder = builder.to(m);
            any = true;
        }
    }
    if !any {
        return None;
    }
    builder.body(body).ok()
}

/// One SMTP send with the configured encryption and credentials.
pub async fn send(settings: &EmailSettings, message: Message) -> Result<(), String> {
    crate::tls::install_crypto_provider();
    let host = settings.smtp_host.as_str();
    let builder = match settings.tls {
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
        SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            host,
        )),
    }
    .map_err(|e| format!("SMTP setup: {e}"))?;
    let mut builder = builder
        .port(settings.smtp_port)
        .timeout(Some(Duration::from_secs(30)));
    if !settings.username.is_empty() {
        builder = builder
            .credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose().to_owned(),
            ))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    // lettre's own timeout covers single commands; this bounds the whole exchange.
    match tokio::time::timeout(SEND_TIMEOUT, builder.build().send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("SMTP: {e}")),
        Err(_) => Err(format!(
            "SMTP: no answer within {}s",
            SEND_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(id: &str, severity: &str) -> Alert {
        Alert {
            id: id.into(),
            kind: "transaction".into(),
            severity: severity.into(),
            status: "open".into(),
            score: 91,
            reasons: json!([{"code": "velocity", "message": "12 payments in a minute"}]),
            transaction_id: Some("t".into()),
            account_id: Some("acct-7".into()),
            budget_id: None,
            assignee_id: None,
            outcome: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            updated_at: "2026-01-01T00:00:00.000Z".into(),
            severity_rank: 3,
        }
    }

    fn settings() -> EmailSettings {
        EmailSettings {
            from: "Ledgerguard <lg@example.test>".into(),
            to: vec!["fraud-team@example.test".into()],
            ..EmailSettings::default()
        }
    }

    #[test]
    fn the_alert_id_is_found_in_any_payload_shape() {
        assert_eq!(
            alert_id(&json!({"alert": {"id": "a"}})).as_deref(),
            Some("a")
        );
        assert_eq!(alert_id(&json!({"alert_id": "b"})).as_deref(), Some("b"));
        assert_eq!(alert_id(&json!({"id": "c"})).as_deref(), Some("c"));
        assert_eq!(alert_id(&json!({})), None);
    }

    #[test]
    fn one_alert_is_mailed_alone_and_several_as_a_digest() {
        let one = compose(&settings(), "https://lg.example", &[alert("a1", "high")]).unwrap();
        let text = String::from_utf8(one.formatted()).unwrap();
        assert!(text.contains("high alert: account acct-7"), "{text}");
        assert!(text.contains("https://lg.example/alerts/a1"));
        let many = compose(
            &settings(),
            "https://lg.example",
            &[alert("a1", "high"), alert("a2", "critical")],
        )
        .unwrap();
        let text = String::from_utf8(many.formatted()).unwrap();
        assert!(
            text.contains("Subject: [Ledgerguard] 2 new alerts"),
            "{text}"
        );
        assert!(text.contains("a2"));
    }

    #[test]
    fn no_valid_recipient_means_no_message() {
        let mut s = settings();
        s.to = vec!["not an address".into()];
        assert!(compose(&s, "x", &[alert("a", "high")]).is_none());
    }
}
