//! The one ingestion path every entry point uses (single, batch, NDJSON, CSV, CLI import):
//! validate each item, answer replays from the store, score the new ones, then store them
//! with their account, alert, roll-up and event rows in one group-committed write job, and
//! publish the events once that write is durable.
//!
//! Idempotency: `(sender, external_id)` is unique. A replay with the same canonical payload
//! answers the stored result; a different payload is a conflict. The check runs twice: once
//! on a read connection before scoring (so replays are not scored again), and again inside
//! the write job, where the single writer serialises concurrent duplicates so only one row is
//! ever stored and the others become replays.

use std::sync::Arc;

use serde_json::{json, Value};

use super::input::{self, Defaults, NewTransaction};
use super::store::{self as tstore, MinuteTally, StoredTransaction};
use crate::audit::{self, Actor, Entry};
use crate::events::{self, Event, EventBus};
use crate::expenses::categorize::Categorizer;
use crate::http::error::FieldError;
use crate::metrics;
use crate::scoring::{Decision, Engine, Outcome};
use crate::store::{new_id, now_rfc3339, Store, StoreError};

/// What happened to one item.
#[derive(Debug, Clone)]
pub enum ItemOutcome {
    Created(StoredTransaction),
    Duplicate(StoredTransaction),
    /// Same `external_id`, different payload.
    Conflict,
    Rejected(Vec<FieldError>),
}

/// One item's result, in input order.
#[derive(Debug, Clone)]
pub struct ItemResult {
    pub index: usize,
    pub external_id: Option<String>,
    pub outcome: ItemOutcome,
}

/// Everything ingestion needs (cheap to clone).
#[derive(Clone)]
pub struct Pipeline {
    pub store: Store,
    pub engine: Arc<Engine>,
    pub events: EventBus,
    /// Assigns a category to expenses sent without one.
    pub categorizer: Option<Categorizer>,
}

struct Scored {
    index: usize,
    txn: NewTransaction,
    hash: String,
    outcome: Outcome,
    /// Set when the categoriser chose the category (its confidence).
    category_confidence: Option<f64>,
}

enum JobItem {
    Created(StoredTransaction, Decision, Option<(String, &'static str)>),
    Duplicate(StoredTransaction),
    Conflict,
}

impl Pipeline {
    /// Ingests parsed items (each a JSON value or a parse error) for `sender`.
    pub async fn ingest(
        &self,
        sender: String,
        items: Vec<Result<Value, Vec<FieldError>>>,
        defaults: Defaults,
    ) -> Result<Vec<ItemResult>, StoreError> {
        let this = self.clone();
        let heavy = items.len() > 16;
        let prepare = move || this.prepare(&sender, items, defaults);
        let (sender, mut results, scored) = if heavy {
            tokio::task::spawn_blocking(prepare)
                .await
                .map_err(|e| StoreError::Other(format!("scoring task failed: {e}")))??
        } else {
            prepare()?
        };
        if scored.is_empty() {
            return Ok(results);
        }
        // Kept to undo the engine's memory of items the write does not store.
        let copies: Vec<(usize, NewTransaction)> =
            scored.iter().map(|s| (s.index, s.txn.clone())).collect();
        let written = self
            .store
            .writer
            .write(move |conn| write_job(conn, &sender, scored))
            .await;
        let (stored, events, frozen) = match written {
            Ok(w) => w,
            Err(e) => {
                let all: Vec<NewTransaction> = copies.into_iter().map(|(_, t)| t).collect();
                self.engine.forget(&all);
                return Err(e);
            }
        };
        let not_stored: std::collections::HashSet<usize> = stored
            .iter()
            .filter(|(_, item)| !matches!(item, JobItem::Created(..)))
            .map(|(i, _)| *i)
            .collect();
        let forget: Vec<NewTransaction> = copies
            .into_iter()
            .filter(|(i, _)| not_stored.contains(i))
            .map(|(_, t)| t)
            .collect();
        self.engine.forget(&forget);
        for event in events {
            self.events.publish_event(event);
        }
        for account in frozen {
            self.engine.set_frozen(&account, true);
        }
        for (index, item) in stored {
            if let Some(slot) = results.get_mut(index) {
                slot.outcome = match item {
                    JobItem::Created(t, decision, alert) => {
                        let m = metrics::global();
                        m.transactions_scored_total
                            .with_label_values(&[decision.as_str()])
                            .inc();
                        if let Some((_, severity)) = alert {
                            m.alerts_created_total
                                .with_label_values(&["transaction", severity])
                                .inc();
                        }
                        ItemOutcome::Created(t)
                    }
                    JobItem::Duplicate(t) => ItemOutcome::Duplicate(t),
                    JobItem::Conflict => ItemOutcome::Conflict,
                };
            }
        }
        Ok(results)
    }

    /// Validates, answers replays from a read connection, and scores the rest.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        sender: &str,
        items: Vec<Result<Value, Vec<FieldError>>>,
        defaults: Defaults,
    ) -> Result<(String, Vec<ItemResult>, Vec<Scored>), StoreError> {
        let conn = self.store.read()?;
        let mut results = Vec::with_capacity(items.len());
        let mut scored = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let external_id = item
                .as_ref()
                .ok()
                .and_then(|v| v.get("external_id"))
                .and_then(Value::as_str)
                .map(|s| s.chars().take(128).collect::<String>());
            let validated = item.and_then(|v| input::validate(&v, defaults));
            let outcome = match validated {
                Err(errors) => ItemOutcome::Rejected(errors),
                Ok(txn) => {
                    let hash = txn.payload_hash();
                    match tstore::existing_hash(&conn, sender, &txn.external_id)? {
                        Some(h) if h == hash => {
                            match tstore::find_by_external(&conn, sender, &txn.external_id)? {
                                Some(t) => ItemOutcome::Duplicate(t),
                                None => ItemOutcome::Conflict,
                            }
                        }
                        Some(_) => ItemOutcome::Conflict,
                        None => {
                            // Categorised after hashing, so a replay stays the same payload
                            // even when the categoriser has since learnt from corrections.
                            let mut txn = txn;
                            let mut category_confidence = None;
                            if let (Some(c), "expense", None) =
                                (&self.categorizer, txn.kind, &txn.category)
                            {
                                let (category, confidence) = c.categorize(
                                    txn.description.as_deref().unwrap_or(""),
                                    txn.merchant.as_deref(),
                                    txn.merchant_category.as_deref(),
                                );
                                txn.category = Some(category.to_owned());
                                category_confidence = Some(confidence);
                            }
                            let outcome = self.engine.score(&txn);
                            scored.push(Scored {
                                category_confidence,
                                index,
                                txn,
                                hash,
                                outcome,
                            });
                            // Placeholder until the write answers.
                            ItemOutcome::Conflict
                        }
                    }
                }
            };
            results.push(ItemResult {
                index,
                external_id,
                outcome,
            });
        }
        Ok((sender.to_owned(), results, scored))
    }
}

type JobOutput = (Vec<(usize, JobItem)>, Vec<Event>, Vec<String>);

/// Stores scored items inside one write job.
fn write_job(
    conn: &rusqlite::Connection,
    sender: &str,
    scored: Vec<Scored>,
) -> Result<JobOutput, StoreError> {
    let now = now_rfc3339();
    let minute = chrono::Utc::now().timestamp() / 60;
    let mut tally = MinuteTally::default();
    let mut out = Vec::with_capacity(scored.len());
    let mut events = Vec::new();
    let mut frozen = Vec::new();
    let single = scored.len() == 1;
    for Scored {
        index,
        txn,
        hash,
        mut outcome,
        category_confidence,
    } in scored
    {
        if let Some(h) = tstore::existing_hash(conn, sender, &txn.external_id)? {
            let item = if h == hash {
                match tstore::find_by_external(conn, sender, &txn.external_id)? {
                    Some(t) => JobItem::Duplicate(t),
                    None => JobItem::Conflict,
                }
            } else {
                JobItem::Conflict
            };
            out.push((index, item));
            continue;
        }
        let status = tstore::touch_account(conn, &txn.account_ref, &now)?;
        if status == "frozen" {
            outcome.block_frozen();
        }
        let id = new_id();
        let alert_id = outcome.alerts().then(new_id);
        tstore::insert(
            conn,
            &id,
            sender,
            &txn,
            &hash,
            &now,
            &outcome,
            alert_id.as_deref(),
        )?;
        if let Some(confidence) = category_confidence {
            conn.prepare_cached(
                "UPDATE transactions SET category_source = 'model', category_confidence = ?2 WHERE id = ?1",
            )?
            .execute(rusqlite::params![id, confidence])?;
        }
        if let Some(alert_id) = &alert_id {
            let alert =
                tstore::insert_alert(conn, alert_id, &id, &txn.account_ref, &outcome, &now)?;
            events.push(events::record(conn, "alert.created", alert)?);
            tally.alerts += 1;
        }
        tally.transactions += 1;
        match outcome.decision {
            Decision::Allow => tally.allow += 1,
            Decision::Review => tally.review += 1,
            Decision::Block => {
                tally.block += 1;
                *tally.blocked.entry(txn.currency).or_default() += txn.amount_minor;
            }
        }
        if outcome.freeze && status != "frozen" {
            let reason = outcome
                .reasons
                .iter()
                .find(|r| r.code.starts_with("rule:"))
                .map(|r| format!("Frozen by {}", &r.code[5..]))
                .unwrap_or_else(|| "Frozen by a rule".into());
            if let Some(event) = freeze_account(conn, &txn.account_ref, &reason, &Actor::system())?
            {
                events.push(event);
                frozen.push(txn.account_ref.clone());
            }
        }
        let alert = alert_id.clone().map(|a| (a, outcome.severity.as_str()));
        let mut stored = tstore::fresh(id, &txn, hash, &now, &outcome, alert_id, single);
        if let (Some(confidence), Some(view)) = (category_confidence, stored.view.as_object_mut()) {
            view.insert("category_source".into(), "model".into());
            view.insert("category_confidence".into(), confidence.into());
        }
        out.push((index, JobItem::Created(stored, outcome.decision, alert)));
    }
    tstore::add_stats(conn, minute, &tally)?;
    Ok((out, events, frozen))
}

/// Freezes an active account inside a write job: status, audit entry and `account.frozen`
/// event. Returns `None` when it was already frozen (or is unknown).
pub fn freeze_account(
    conn: &rusqlite::Connection,
    account: &str,
    reason: &str,
    actor: &Actor,
) -> Result<Option<Event>, StoreError> {
    let now = now_rfc3339();
    let changed = conn
        .prepare_cached(
            "UPDATE accounts SET status = 'frozen', frozen_reason = ?2, frozen_at = ?3, updated_at = ?3
             WHERE account_ref = ?1 AND status = 'active'",
        )?
        .execute(rusqlite::params![account, reason, now])?;
    if changed == 0 {
        return Ok(None);
    }
    audit::append(
        conn,
        Entry::new(actor, "account.frozen")
            .target("account", account)
            .details(json!({ "reason": reason })),
    )?;
    let event = events::record(
        conn,
        "account.frozen",
        json!({"account_id": account, "reason": reason, "frozen_at": now}),
    )?;
    Ok(Some(event))
}
