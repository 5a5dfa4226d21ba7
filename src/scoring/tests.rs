//! Engine behaviour: each default rule, each feature family, explanations, frozen accounts,
//! thresholds and the model blend, on the pure engine (no store).

use std::sync::Arc;

use serde_json::json;

use super::model::{FeatureVector, ModelScorer, ModelSlot};
use super::{Decision, Engine, Outcome, Severity};
use crate::config::Settings;
use crate::lists::{ListEntry, ListSet};
use crate::rules::pack::DEFAULT_PACK;
use crate::rules::{RuleDef, RuleSet};
use crate::transactions::{validate, Defaults, NewTransaction};

fn engine_with(settings: &Settings) -> Engine {
    let engine = Engine::new(settings, ModelSlot::default());
    let defs = DEFAULT_PACK
        .iter()
        .map(|p| RuleDef {
            id: p.name.into(),
            name: p.name.into(),
            description: p.description.into(),
            expression: p.expression.into(),
            score: p.score,
            action: p.action,
            enabled: true,
        })
        .collect();
    engine.set_rules(RuleSet::compile(defs));
    engine
}

fn engine() -> Engine {
    engine_with(&Settings::default())
}

/// A transaction at `minute` minutes past 2026-01-05 10:00 UTC (a Monday).
fn txn(
    id: &str,
    account: &str,
    amount: &str,
    minute: i64,
    extra: serde_json::Value,
) -> NewTransaction {
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z").unwrap()
        + chrono::Duration::minutes(minute);
    let mut v = json!({
        "external_id": id, "account_id": account, "amount": amount, "currency": "USD",
        "occurred_at": at.to_rfc3339(), "kind": "payment",
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    validate(&v, Defaults::default()).unwrap()
}

fn has_reason(o: &Outcome, code: &str) -> bool {
    o.reasons.iter().any(|r| r.code == code)
}

/// Gives `account` a history of ordinary payments from device d1 in DE, a day earlier.
fn history(e: &Engine, account: &str, n: usize) {
    for i in 0..n {
        let t = txn(
            &format!("h{i}"),
            account,
            "40.00",
            -24 * 60 + i as i64 * 30,
            json!({"device_id": "d1", "country": "DE", "ip": "10.0.0.1", "merchant": "Grocer"}),
        );
        e.score(&t);
    }
}

#[test]
fn an_ordinary_payment_is_allowed_with_its_features() {
    let e = engine();
    history(&e, "a", 6);
    let o = e.score(&txn(
        "t",
        "a",
        "42.00",
        0,
        json!({"device_id": "d1", "country": "DE", "merchant": "Grocer"}),
    ));
    assert_eq!(o.decision, Decision::Allow, "{o:?}");
    assert_eq!(o.severity, Severity::Low);
    assert!(o.score < 50);
    assert_eq!(o.features["account_txn_count"], 6.0);
    assert_eq!(o.features["new_device"], 0.0);
    for name in super::FEATURE_NAMES {
        assert!(o.features.contains_key(*name), "feature {name} computed");
    }
}

#[test]
fn card_testing_small_amounts_in_quick_succession_go_to_review() {
    let e = engine();
    let mut last = None;
    for i in 0..4 {
        last = Some(e.score(&txn(
            &format!("c{i}"),
            "victim",
            "1.00",
            i,
            json!({"device_id": "dx"}),
        )));
    }
    let o = last.unwrap();
    assert!(has_reason(&o, "rule:card_testing"), "{:?}", o.reasons);
    assert!(o.decision >= Decision::Review);
    assert_eq!(o.features["account_1h_count"], 3.0);
}

#[test]
fn account_takeover_new_device_in_a_far_country_is_reviewed_and_explained() {
    let e = engine();
    history(&e, "b", 10);
    let o = e.score(&txn(
        "ato",
        "b",
        "900.00",
        -24 * 60 + 300,
        json!({"device_id": "evil", "country": "US", "ip": "203.0.113.9"}),
    ));
    assert!(has_reason(&o, "rule:account_takeover"), "{:?}", o.reasons);
    assert!(has_reason(&o, "impossible_travel"), "{:?}", o.reasons);
    assert!(has_reason(&o, "new_device"));
    assert!(o.decision >= Decision::Review);
    assert!(o.features["travel_kmh"] > 900.0);
    let rule = o
        .reasons
        .iter()
        .find(|r| r.code == "rule:account_takeover")
        .unwrap();
    assert_eq!(rule.weight, 45.0);
}

#[test]
fn structuring_repeated_amounts_under_the_threshold_are_reviewed() {
    let e = engine();
    let first = e.score(&txn("s1", "c", "9500.00", 0, json!({})));
    assert_eq!(first.features["structuring"], 1.0);
    assert!(!has_reason(&first, "rule:structuring"));
    let second = e.score(&txn("s2", "c", "9800.00", 60, json!({})));
    assert_eq!(second.features["near_threshold_24h"], 2.0);
    assert!(
        has_reason(&second, "rule:structuring"),
        "{:?}",
        second.reasons
    );
    assert!(second.decision >= Decision::Review);
    let over = e.score(&txn("s3", "c2", "10000.00", 0, json!({})));
    assert_eq!(
        over.features["structuring"], 0.0,
        "at the threshold is not under it"
    );
}

#[test]
fn high_risk_merchant_category_adds_its_flag() {
    let e = engine();
    let o = e.score(&txn(
        "m",
        "d",
        "50.00",
        0,
        json!({"merchant_category": "7995"}),
    ));
    assert!(has_reason(&o, "rule:high_risk_mcc"));
    assert_eq!(o.features["mcc_high_risk"], 1.0);
    assert!(o.score >= 20);
}

#[test]
fn a_block_list_hit_blocks() {
    let e = engine();
    let mut lists = ListSet::default();
    lists.lists.insert(
        "stolen_devices".into(),
        ListEntry {
            kind: "device".into(),
            mode: "block".into(),
            items: ["bad-device".to_string()].into_iter().collect(),
        },
    );
    e.set_lists(lists);
    let o = e.score(&txn(
        "l",
        "e",
        "10.00",
        0,
        json!({"device_id": "bad-device"}),
    ));
    assert_eq!(o.decision, Decision::Block);
    assert!(has_reason(&o, "rule:block_list_hit"));
    assert!(o.severity >= Severity::High);
}

fn expense(
    id: &str,
    who: &str,
    amount: &str,
    minute: i64,
    extra: serde_json::Value,
) -> NewTransaction {
    let mut t = txn(id, &format!("emp-{who}"), amount, minute, extra);
    t.kind = "expense";
    t.submitted_by = Some(who.into());
    t
}

#[test]
fn duplicate_expense_claims_are_reviewed() {
    let e = engine();
    let m = json!({"merchant": "Hotel Ibis"});
    let first = e.score(&expense("x1", "ann", "123.45", 0, m.clone()));
    assert!(!has_reason(&first, "rule:expense_duplicate_claim"));
    let again = e.score(&expense("x2", "ann", "123.45", 3 * 24 * 60, m));
    assert!(
        has_reason(&again, "rule:expense_duplicate_claim"),
        "{:?}",
        again.reasons
    );
    assert!(again.decision >= Decision::Review);
}

#[test]
fn split_claims_under_the_approval_limit_are_reviewed() {
    let e = engine();
    let m = json!({"merchant": "Laptop Store"});
    e.score(&expense("p1", "bob", "400.00", 0, m.clone()));
    let second = e.score(&expense("p2", "bob", "350.00", 10, m));
    assert_eq!(second.features["split_claim"], 1.0);
    assert!(
        has_reason(&second, "rule:expense_split_claim"),
        "{:?}",
        second.reasons
    );
}

#[test]
fn personal_categories_weekend_spend_and_round_amounts_are_flagged_on_expenses() {
    let e = engine();
    let bar = e.score(&expense(
        "b",
        "cy",
        "35.10",
        0,
        json!({"merchant_category": "5813"}),
    ));
    assert!(has_reason(&bar, "rule:expense_personal_mcc"));
    // 2026-01-10 is a Saturday.
    let weekend = e.score(&expense("w", "cy", "12.34", 5 * 24 * 60, json!({})));
    assert!(has_reason(&weekend, "rule:expense_weekend"));
    let round = e.score(&expense("r", "di", "300.00", 0, json!({})));
    assert!(has_reason(&round, "rule:expense_round_amount"));
    // The same round amount as a payment is not an expense rule hit.
    let pay = e.score(&txn("rp", "z", "300.00", 0, json!({})));
    assert!(!has_reason(&pay, "rule:expense_round_amount"));
}

#[test]
fn a_frozen_account_is_blocked_with_account_frozen() {
    let e = engine();
    e.set_frozen("f", true);
    let o = e.score(&txn("fz", "f", "5.00", 0, json!({})));
    assert_eq!(o.decision, Decision::Block);
    assert_eq!(o.reasons[0].code, "account_frozen");
    e.set_frozen("f", false);
    let o = e.score(&txn("fz2", "f", "5.00", 1, json!({})));
    assert!(!has_reason(&o, "account_frozen"));
}

#[test]
fn amount_far_above_the_accounts_usual_is_explained_with_its_weight() {
    let e = engine();
    for i in 0..10 {
        let amount = format!("{}.00", 20 + i % 3);
        e.score(&txn(
            &format!("u{i}"),
            "g",
            &amount,
            -600 + i * 10,
            json!({}),
        ));
    }
    let o = e.score(&txn("big", "g", "5000.00", 0, json!({})));
    assert!(o.features["amount_z"] > 3.0, "{}", o.features["amount_z"]);
    let r = o
        .reasons
        .iter()
        .find(|r| r.code == "amount_anomaly")
        .unwrap();
    assert!(r.weight > 0.0 && r.weight <= 25.0);
}

#[test]
fn thresholds_come_from_settings() {
    let mut s = Settings::default();
    s.scoring.review_threshold = 5;
    s.scoring.block_threshold = 15;
    let e = engine_with(&s);
    let o = e.score(&txn(
        "t",
        "h",
        "50.00",
        0,
        json!({"merchant_category": "7995"}),
    ));
    assert_eq!(o.decision, Decision::Block, "score {} ≥ 15", o.score);
}

struct Always(f64);
impl ModelScorer for Always {
    fn version(&self) -> &str {
        "test-model-1"
    }
    fn probability(&self, _: &FeatureVector) -> f64 {
        self.0
    }
}

#[test]
fn an_active_model_is_blended_in_and_reported() {
    let e = engine();
    let plain = e.score(&txn("m1", "i", "10.00", 0, json!({})));
    assert_eq!(plain.model_version, None);
    e.model.set(Some(Arc::new(Always(1.0))));
    let o = e.score(&txn("m2", "j", "10.00", 0, json!({})));
    assert_eq!(o.model_version.as_deref(), Some("test-model-1"));
    assert!(o.score >= 50, "{}", o.score);
    assert!(has_reason(&o, "model"));
}

#[test]
fn a_freeze_rule_blocks_and_asks_for_the_freeze() {
    let e = engine();
    e.set_rules(RuleSet::compile(vec![RuleDef {
        id: "1".into(),
        name: "freeze_big".into(),
        description: "Huge transfer".into(),
        expression: "txn.amount > 1000.0".into(),
        score: 10,
        action: crate::rules::Action::Freeze,
        enabled: true,
    }]));
    let o = e.score(&txn("fr", "k", "5000.00", 0, json!({})));
    assert!(o.freeze);
    assert_eq!(o.decision, Decision::Block);
    assert_eq!(o.severity, Severity::Critical);
}

#[test]
fn a_forgotten_transaction_no_longer_counts_in_windows_or_profile() {
    let e = engine();
    history(&e, "q", 6);
    let t = txn("dup", "q", "1.00", 0, json!({"device_id": "d1"}));
    e.score(&t);
    e.forget(std::slice::from_ref(&t));
    let next = e.score(&txn("n", "q", "40.00", 1, json!({"device_id": "d1"})));
    assert_eq!(next.features["account_txn_count"], 6.0);
    assert_eq!(next.features["account_1m_count"], 0.0);
    assert_eq!(next.features["device_1h_count"], 0.0);
    assert!(
        next.features["amount_z"].abs() < 1.0,
        "profile restored: {}",
        next.features["amount_z"]
    );
}
