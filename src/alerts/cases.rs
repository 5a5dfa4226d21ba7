//! The case workflow: each change (status, assignment, comment, resolve) runs inside one
//! write job that checks the status machine against the row as it is now, makes the change,
//! appends to the alert's history and the audit chain, labels the transaction on resolve, and
//! records the `alert.updated` event (webhook outbox rows included) — all or nothing.

use serde_json::json;

use super::domain::{patch_transition, resolve_transition, AlertPatch, Outcome, Status};
use super::domain::{Resolve, TransitionError};
use super::store::{self, Alert, Comment};
use crate::audit::{self, Actor, Entry};
use crate::events::{self, Event};
use crate::store::{now_rfc3339, StoreError};

/// Why a case change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("no such alert")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error("{0}")]
    Assignee(String),
}

/// A committed change: the alert as it is now, the event to publish, and whether the alert
/// left the `open` status (for the open-alerts gauge).
#[derive(Debug, Clone)]
pub struct Change {
    pub alert: Alert,
    pub event: Option<Event>,
    pub left_open: bool,
}

type CaseResult<T> = Result<Result<T, CaseError>, StoreError>;

fn load(conn: &rusqlite::Connection, id: &str) -> Result<Option<Alert>, StoreError> {
    store::get(conn, id)
}

fn event(
    conn: &rusqlite::Connection,
    alert: &Alert,
    change: serde_json::Value,
) -> Result<Event, StoreError> {
    // The alert as `alert.created` carries it, plus what changed.
    let mut data = serde_json::to_value(alert).unwrap_or_else(|_| json!({}));
    data["change"] = change;
    events::record(conn, "alert.updated", data)
}

/// `PATCH /alerts/{id}`: status and/or assignee.
pub fn patch(
    conn: &rusqlite::Connection,
    id: &str,
    patch: &AlertPatch,
    actor: &Actor,
) -> CaseResult<Change> {
    let Some(before) = load(conn, id)? else {
        return Ok(Err(CaseError::NotFound));
    };
    let from = before.status();
    if from.is_final() {
        return Ok(Err(TransitionError::Final(from.as_str()).into()));
    }
    let mut status = from;
    if let Some(to) = patch.status {
        match patch_transition(from, to) {
            Ok(_) => status = to,
            Err(e) => return Ok(Err(e.into())),
        }
    }
    let mut assignee = before.assignee_id.clone();
    if let Some(wanted) = &patch.assignee_id {
        if let Some(user) = wanted {
            match store::assignable_user_role(conn, user)?.as_deref() {
                Some("admin" | "analyst") => {}
                Some(_) => {
                    return Ok(Err(CaseError::Assignee(
                        "the user cannot work alerts (viewer)".into(),
                    )))
                }
                None => {
                    return Ok(Err(CaseError::Assignee(
                        "no enabled user has this id".into(),
                    )))
                }
            }
        }
        assignee = wanted.clone();
    }
    let status_changed = status != from;
    let assignee_changed = assignee != before.assignee_id;
    if !status_changed && !assignee_changed {
        return Ok(Ok(Change {
            alert: before,
            event: None,
            left_open: false,
        }));
    }
    let now = now_rfc3339();
    store::update(conn, id, status, assignee.as_deref(), None, &now)?;
    let mut change = serde_json::Map::new();
    if status_changed {
        let detail = json!({"from": from.as_str(), "to": status.as_str()});
        store::add_history(
            conn,
            id,
            actor.id.as_deref(),
            "status_changed",
            &detail,
            &now,
        )?;
        change.insert("status".into(), detail);
    }
    if assignee_changed {
        let detail = json!({"from": before.assignee_id, "to": assignee});
        store::add_history(conn, id, actor.id.as_deref(), "assigned", &detail, &now)?;
        change.insert("assignee_id".into(), detail);
    }
    let change = serde_json::Value::Object(change);
    audit::append(
        conn,
        Entry::new(actor, "alert.updated")
            .target("alert", id)
            .details(change.clone()),
    )?;
    let Some(alert) = load(conn, id)? else {
        return Ok(Err(CaseError::NotFound));
    };
    let event = event(conn, &alert, change)?;
    Ok(Ok(Change {
        alert,
        event: Some(event),
        left_open: from == Status::Open && status != Status::Open,
    }))
}

/// `POST /alerts/{id}/comments`.
pub fn comment(
    conn: &rusqlite::Connection,
    id: &str,
    body: &str,
    actor: &Actor,
) -> CaseResult<(Comment, Event)> {
    if load(conn, id)?.is_none() {
        return Ok(Err(CaseError::NotFound));
    }
    let now = now_rfc3339();
    let comment = store::add_comment(conn, id, actor.id.as_deref(), body, &now)?;
    let detail = json!({"comment_id": comment.id});
    store::add_history(conn, id, actor.id.as_deref(), "commented", &detail, &now)?;
    conn.execute(
        "UPDATE alerts SET updated_at = ?2 WHERE id = ?1",
        rusqlite::params![id, now],
    )?;
    audit::append(
        conn,
        Entry::new(actor, "alert.commented")
            .target("alert", id)
            .details(detail.clone()),
    )?;
    let Some(alert) = load(conn, id)? else {
        return Ok(Err(CaseError::NotFound));
    };
    let event = event(conn, &alert, json!({"comment": comment}))?;
    Ok(Ok((comment, event)))
}

/// `POST /alerts/{id}/resolve`: records the outcome, labels the transaction for training and
/// keeps the fraud roll-up right.
pub fn resolve(
    conn: &rusqlite::Connection,
    id: &str,
    request: &Resolve,
    note: Option<&str>,
    actor: &Actor,
) -> CaseResult<Change> {
    let Some(before) = load(conn, id)? else {
        return Ok(Err(CaseError::NotFound));
    };
    let from = before.status();
    if let Err(e) = resolve_transition(from) {
        return Ok(Err(e.into()));
    }
    let now = now_rfc3339();
    let outcome = request.outcome;
    store::update(
        conn,
        id,
        Status::Resolved,
        before.assignee_id.as_deref(),
        Some(outcome),
        &now,
    )?;
    let mut labelled = false;
    if let Some(txn) = &before.transaction_id {
        if let Some((old_label, received_at)) = store::label_transaction(conn, txn, outcome, &now)?
        {
            labelled = true;
            let was_fraud = old_label.as_deref() == Some("fraud");
            let is_fraud = outcome == Outcome::Fraud;
            if was_fraud != is_fraud {
                let delta = if is_fraud { 1 } else { -1 };
                crate::stats::rollup::adjust_fraud_labels(conn, &received_at, delta)?;
            }
        }
    }
    if let Some(n) = note {
        store::add_comment(conn, id, actor.id.as_deref(), n, &now)?;
    }
    let detail = json!({
        "from": from.as_str(),
        "to": "resolved",
        "outcome": outcome.as_str(),
        "note": note,
        "transaction_labelled": labelled,
    });
    store::add_history(conn, id, actor.id.as_deref(), "resolved", &detail, &now)?;
    audit::append(
        conn,
        Entry::new(actor, "alert.resolved")
            .target("alert", id)
            .details(detail.clone()),
    )?;
    let Some(alert) = load(conn, id)? else {
        return Ok(Err(CaseError::NotFound));
    };
    let event = event(conn, &alert, json!({"resolved": detail}))?;
    Ok(Ok(Change {
        alert,
        event: Some(event),
        left_open: from == Status::Open,
    }))
}
