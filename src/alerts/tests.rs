//! Case workflow against a real store on a temp dir, with rows seeded by SQL (the scoring
//! pipeline that raises alerts is not needed to test what happens to them afterwards).

use rusqlite::{params, Connection};
use serde_json::json;

use super::cases::{self, CaseError};
use super::domain::{AlertPatch, Outcome, Resolve, Severity, Status};
use super::store::{self, Filter, Position};
use crate::audit::Actor;
use crate::config::Settings;
use crate::store::Store;

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.storage.data_dir = dir.path().join("data");
    let store = Store::open(&settings).unwrap();
    store
        .writer
        .write_blocking(|conn| {
            for (id, role) in [("u-analyst", "analyst"), ("u-viewer", "viewer")] {
                conn.execute(
                    "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at, password_changed_at)
                     VALUES (?1, ?1 || '@example.test', ?1, ?2, 'x', 't', 't', 't')",
                    params![id, role],
                )?;
            }
            conn.execute(
                "INSERT INTO accounts (account_ref, created_at, updated_at, last_seen_at, txn_count)
                 VALUES ('acct-1', 't', 't', 't', 1)",
                [],
            )?;
            conn.execute(
                "INSERT INTO webhooks (id, url, events, secret, created_at)
                 VALUES ('wh-1', 'http://127.0.0.1:9/', '[\"alert.updated\"]', 'whsec_AAAA', 't')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    Fixture { store, _dir: dir }
}

/// Seeds a transaction and its alert; returns the alert id.
fn seed_alert(conn: &Connection, n: u32, severity: Severity, created_at: &str) -> String {
    let txn = format!("txn-{n}");
    let alert = format!("alert-{n}");
    conn.execute(
        "INSERT INTO transactions (id, sender, external_id, payload_hash, account_ref, amount_minor, currency,
           occurred_at, occurred_ms, received_at, kind, score, decision, severity, reasons, alert_id)
         VALUES (?1, 'key:k', ?1, 'h', 'acct-1', 12550, 'USD', ?2, 0, '2026-01-01T00:00:00.000Z',
           'payment', 90, 'block', ?3, '[]', ?4)",
        params![txn, created_at, severity.as_str(), alert],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO alerts (id, type, severity, severity_rank, status, score, reasons, transaction_id,
           account_ref, created_at, updated_at)
         VALUES (?1, 'transaction', ?2, ?3, 'open', 90, '[{\"code\":\"velocity\"}]', ?4, 'acct-1', ?5, ?5)",
        params![alert, severity.as_str(), severity.rank(), txn, created_at],
    )
    .unwrap();
    alert
}

fn analyst() -> Actor {
    Actor {
        kind: "user".into(),
        id: Some("u-analyst".into()),
        label: Some("analyst@example.test".into()),
        ip: None,
    }
}

fn write<R: Send + 'static>(
    f: &Fixture,
    job: impl FnOnce(&Connection) -> Result<R, crate::store::StoreError> + Send + 'static,
) -> R {
    f.store.writer.write_blocking(job).unwrap()
}

#[test]
fn the_queue_is_ordered_by_severity_then_age_then_id_and_pages_cover_every_alert() {
    let f = fixture();
    write(&f, |conn| {
        seed_alert(conn, 1, Severity::Low, "2026-01-01T00:00:01.000Z");
        seed_alert(conn, 2, Severity::Critical, "2026-01-01T00:00:05.000Z");
        seed_alert(conn, 3, Severity::Critical, "2026-01-01T00:00:02.000Z");
        seed_alert(conn, 4, Severity::High, "2026-01-01T00:00:02.000Z");
        seed_alert(conn, 5, Severity::High, "2026-01-01T00:00:02.000Z");
        Ok(())
    });
    let conn = f.store.read().unwrap();
    let all = store::list(&conn, &Filter::default(), None, 50).unwrap();
    let ids: Vec<_> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["alert-3", "alert-2", "alert-4", "alert-5", "alert-1"]);

    let mut seen = Vec::new();
    let mut after: Option<Position> = None;
    for _ in 0..10 {
        let mut page = store::list(&conn, &Filter::default(), after.as_ref(), 2).unwrap();
        let more = page.len() > 2;
        page.truncate(2);
        after = page.last().map(Position::of);
        seen.extend(page.into_iter().map(|a| a.id));
        if !more {
            break;
        }
    }
    assert_eq!(seen, ids);

    let high = Filter {
        severities: vec![Severity::High, Severity::Critical],
        from: Some("2026-01-01T00:00:03.000Z".into()),
        ..Filter::default()
    };
    let found = store::list(&conn, &high, None, 50).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, "alert-2");
}

#[test]
fn hostile_filter_values_are_bound_not_interpolated() {
    let f = fixture();
    write(&f, |conn| {
        seed_alert(conn, 1, Severity::Low, "2026-01-01T00:00:01.000Z");
        Ok(())
    });
    let conn = f.store.read().unwrap();
    let filter = Filter {
        account_id: Some("acct-1' OR '1'='1".into()),
        ..Filter::default()
    };
    assert!(store::list(&conn, &filter, None, 50).unwrap().is_empty());
}

#[test]
fn investigating_then_resolving_labels_the_transaction_and_records_everything() {
    let f = fixture();
    let id = write(&f, |conn| {
        Ok(seed_alert(
            conn,
            1,
            Severity::High,
            "2026-01-01T00:00:01.000Z",
        ))
    });
    let patch = AlertPatch {
        status: Some(Status::Investigating),
        assignee_id: Some(Some("u-analyst".into())),
    };
    let (i, p) = (id.clone(), patch.clone());
    let change = write(&f, move |conn| cases::patch(conn, &i, &p, &analyst())).unwrap();
    assert_eq!(change.alert.status, "investigating");
    assert_eq!(change.alert.assignee_id.as_deref(), Some("u-analyst"));
    assert!(change.left_open);
    assert_eq!(change.event.as_ref().unwrap().kind, "alert.updated");

    let i = id.clone();
    let resolve = Resolve {
        outcome: Outcome::Fraud,
        note: Some("confirmed with the cardholder".into()),
    };
    let change = write(&f, move |conn| {
        cases::resolve(
            conn,
            &i,
            &resolve,
            Some("confirmed with the cardholder"),
            &analyst(),
        )
    })
    .unwrap();
    assert_eq!(change.alert.status, "resolved");
    assert_eq!(change.alert.outcome.as_deref(), Some("fraud"));
    assert!(!change.left_open, "it had already left open");

    let conn = f.store.read().unwrap();
    let (label, source): (String, String) = conn
        .query_row(
            "SELECT label, label_source FROM transactions WHERE id = 'txn-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((label.as_str(), source.as_str()), ("fraud", "analyst"));
    let fraud: i64 = conn
        .query_row("SELECT SUM(fraud_labels) FROM stats_minute", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fraud, 1);
    let audit: Vec<String> = conn
        .prepare("SELECT action FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(audit, ["alert.updated", "alert.resolved"]);
    let outbox: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = 'alert.updated'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        outbox, 2,
        "one outbox row per change for the subscribed webhook"
    );
    let detail = store::detail(&conn, &id).unwrap().unwrap();
    let actions: Vec<_> = detail.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["status_changed", "assigned", "resolved"]);
    assert_eq!(detail.comments.len(), 1, "the note is kept as a comment");
    assert_eq!(detail.transaction.unwrap()["amount"], json!("125.50"));
    assert_eq!(detail.account.unwrap()["account_id"], "acct-1");
}

#[test]
fn final_alerts_refuse_every_change() {
    let f = fixture();
    let id = write(&f, |conn| {
        Ok(seed_alert(
            conn,
            1,
            Severity::Low,
            "2026-01-01T00:00:01.000Z",
        ))
    });
    let dismiss = AlertPatch {
        status: Some(Status::Dismissed),
        assignee_id: None,
    };
    let i = id.clone();
    write(&f, move |conn| cases::patch(conn, &i, &dismiss, &analyst())).unwrap();
    let i = id.clone();
    let reopen = AlertPatch {
        status: Some(Status::Open),
        assignee_id: None,
    };
    let refused = write(&f, move |conn| cases::patch(conn, &i, &reopen, &analyst()));
    assert!(matches!(refused, Err(CaseError::Transition(_))));
    let i = id.clone();
    let resolve = Resolve {
        outcome: Outcome::Legitimate,
        note: None,
    };
    let refused = write(&f, move |conn| {
        cases::resolve(conn, &i, &resolve, None, &analyst())
    });
    assert!(matches!(refused, Err(CaseError::Transition(_))));
    let conn = f.store.read().unwrap();
    let label: Option<String> = conn
        .query_row(
            "SELECT label FROM transactions WHERE id = 'txn-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(label, None, "a refused resolve labels nothing");
}

#[test]
fn assigning_to_a_viewer_or_unknown_user_is_refused() {
    let f = fixture();
    let id = write(&f, |conn| {
        Ok(seed_alert(
            conn,
            1,
            Severity::Low,
            "2026-01-01T00:00:01.000Z",
        ))
    });
    for who in ["u-viewer", "nobody"] {
        let patch = AlertPatch {
            status: None,
            assignee_id: Some(Some(who.into())),
        };
        let i = id.clone();
        let refused = write(&f, move |conn| cases::patch(conn, &i, &patch, &analyst()));
        assert!(matches!(refused, Err(CaseError::Assignee(_))), "{who}");
    }
}

#[test]
fn a_missing_alert_is_not_found() {
    let f = fixture();
    let patch = AlertPatch {
        status: Some(Status::Investigating),
        assignee_id: None,
    };
    let refused = write(&f, move |conn| {
        cases::patch(conn, "nope", &patch, &analyst())
    });
    assert_eq!(refused.unwrap_err(), CaseError::NotFound);
}
