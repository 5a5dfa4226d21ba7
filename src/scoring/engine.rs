//! The engine: holds the remembered state, the compiled rules, the lists, the merchant label
//! table and the model slot, and turns one validated transaction into an [`Outcome`].
//!
//! Concurrency: features are computed and the transaction is recorded in the windows under
//! one short lock, so concurrent transactions of an account see each other in order; rules
//! and the model run after the lock is released. The transaction is remembered when it is
//! scored, so items of one batch see each other; the pipeline calls [`Engine::forget`] for
//! items the write then does not store (replays that lost a race, conflicts, failed writes).

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use super::decision::{Decision, Outcome, Reason, Severity};
use super::features::{self, MerchantRisk, Thresholds};
use super::model::ModelSlot;
use super::state::{ScoringState, DAY_MS};
use crate::config::Settings;
use crate::lists::ListSet;
use crate::rules::cel::{self as rcel, AccountFacts, Variables};
use crate::rules::{Action, RuleSet};
use crate::transactions::NewTransaction;

/// How many transactions between compactions of empty windows.
const COMPACT_EVERY: u64 = 100_000;

/// The scoring engine, shared by all handlers.
pub struct Engine {
    state: Mutex<ScoringState>,
    rules: RwLock<Arc<RuleSet>>,
    lists: RwLock<Arc<ListSet>>,
    merchants: RwLock<Arc<MerchantRisk>>,
    pub model: ModelSlot,
    thresholds: Thresholds,
    review_threshold: u8,
    block_threshold: u8,
    scored: std::sync::atomic::AtomicU64,
}

impl Engine {
    pub fn new(settings: &Settings, model: ModelSlot) -> Self {
        Self {
            state: Mutex::new(ScoringState::default()),
            rules: RwLock::new(Arc::new(RuleSet::default())),
            lists: RwLock::new(Arc::new(ListSet::default())),
            merchants: RwLock::new(Arc::new(MerchantRisk::default())),
            model,
            thresholds: Thresholds {
                reporting_threshold: settings.scoring.reporting_threshold,
                approval_limit: settings.expenses.approval_limit,
                duplicate_window_ms: i64::from(settings.expenses.duplicate_window_days) * DAY_MS,
                max_travel_kmh: settings.scoring.max_travel_kmh,
            },
            review_threshold: settings.scoring.review_threshold,
            block_threshold: settings.scoring.block_threshold,
            scored: Default::default(),
        }
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Replaces the remembered state (at start-up).
    pub fn replace_state(&self, state: ScoringState) {
        if let Ok(mut g) = self.state.lock() {
            *g = state;
        }
    }

    pub fn set_rules(&self, rules: RuleSet) {
        if let Ok(mut g) = self.rules.write() {
            *g = Arc::new(rules);
        }
    }

    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules.read().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn set_lists(&self, lists: ListSet) {
        if let Ok(mut g) = self.lists.write() {
            *g = Arc::new(lists);
        }
    }

    pub fn lists(&self) -> Arc<ListSet> {
        self.lists.read().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn set_merchant_risk(&self, risk: MerchantRisk) {
        if let Ok(mut g) = self.merchants.write() {
            *g = Arc::new(risk);
        }
    }

    /// Marks an account frozen or active for the fast path (the store stays authoritative).
    pub fn set_frozen(&self, account: &str, frozen: bool) {
        if let Ok(mut g) = self.state.lock() {
            if frozen {
                g.frozen.insert(account.to_owned());
            } else {
                g.frozen.remove(account);
            }
        }
    }

    /// Forgets transactions that were scored but not stored (see [`ScoringState::forget`]).
    pub fn forget(&self, txns: &[NewTransaction]) {
        if txns.is_empty() {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            for t in txns {
                state.forget(t);
            }
        }
    }

    /// Scores a transaction and remembers it in the profiles and windows.
    pub fn score(&self, t: &NewTransaction) -> Outcome {
        let started = Instant::now();
        let lists = self.lists();
        let merchants = self.merchants.read().map(|g| g.clone()).unwrap_or_default();
        let (features, facts, frozen) = {
            let Ok(mut state) = self.state.lock() else {
                return self.degraded(t);
            };
            let features = features::extract(&state, t, &self.thresholds, &lists, &merchants);
            let facts = state
                .accounts
                .get(&t.account_ref)
                .map(|p| AccountFacts {
                    status: "active",
                    txn_count: p.count,
                    mean_amount: p.mean_log.exp() - 1.0,
                    known_devices: p.devices.len() as u64,
                    known_countries: p.countries.len() as u64,
                })
                .unwrap_or(AccountFacts {
                    status: "active",
                    ..Default::default()
                });
            let frozen = state.frozen.contains(&t.account_ref);
            let near = features.vector.get("structuring").is_some_and(|v| *v > 0.0);
            state.observe(t, near, self.thresholds.duplicate_window_ms);
            let n = self
                .scored
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n % COMPACT_EVERY == COMPACT_EVERY - 1 {
                state.compact();
            }
            (features, facts, frozen)
        };
        let facts = AccountFacts {
            status: if frozen { "frozen" } else { "active" },
            ..facts
        };
        let rules = self.rules();
        let vars = Variables {
            txn: t,
            features: &features.vector,
            account: facts,
            lists,
        };
        let ctx = rcel::context(&vars, &rules.needs, false);
        let hits = rules.matching(&ctx);
        drop(ctx);

        let mut reasons = Vec::new();
        let mut rule_score = 0.0;
        let mut floor = Decision::Allow;
        let mut freeze = false;
        for rule in &hits {
            rule_score += f64::from(rule.score);
            match rule.action {
                Action::Flag => {}
                Action::Review => floor = floor.max(Decision::Review),
                Action::Block => floor = Decision::Block,
                Action::Freeze => {
                    floor = Decision::Block;
                    freeze = true;
                }
            }
            reasons.push(Reason {
                code: format!("rule:{}", rule.name),
                message: rule.description.clone(),
                weight: f64::from(rule.score),
            });
        }
        let mut contributions = features.contributions.clone();
        let feature_score: f64 = contributions.iter().map(|c| c.weight).sum();
        contributions.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        for c in contributions.iter().take(5) {
            reasons.push(Reason {
                code: c.code.to_owned(),
                message: c.message.clone(),
                weight: (c.weight * 10.0).round() / 10.0,
            });
        }
        let heuristic = (feature_score + rule_score).clamp(0.0, 100.0);
        let (raw, model_version) = match self.model.current() {
            Some(model) => {
                let p = model.probability(&features.vector).clamp(0.0, 1.0);
                reasons.push(Reason {
                    code: "model".into(),
                    message: format!("Fraud model {} gives probability {p:.2}", model.version()),
                    weight: (p * 1000.0).round() / 10.0,
                });
                (0.5 * heuristic + 50.0 * p, Some(model.version().to_owned()))
            }
            None => (heuristic, None),
        };
        let score = raw.round().clamp(0.0, 100.0) as u8;
        let by_score = if score >= self.block_threshold {
            Decision::Block
        } else if score >= self.review_threshold {
            Decision::Review
        } else {
            Decision::Allow
        };
        let decision = by_score.max(floor);
        let mut severity = Severity::from_score(score);
        severity = match decision {
            Decision::Block => severity.max(Severity::High),
            Decision::Review => severity.max(Severity::Medium),
            Decision::Allow => severity,
        };
        if freeze {
            severity = Severity::Critical;
        }
        let mut outcome = Outcome {
            score,
            decision,
            severity,
            reasons,
            features: features.vector,
            model_version,
            freeze,
        };
        if frozen {
            outcome.block_frozen();
        }
        crate::metrics::global()
            .scoring_duration_seconds
            .observe(started.elapsed().as_secs_f64());
        outcome
    }

    /// The answer when the state lock is poisoned: review, so nothing slips through unseen.
    fn degraded(&self, _t: &NewTransaction) -> Outcome {
        Outcome {
            score: self.review_threshold,
            decision: Decision::Review,
            severity: Severity::Medium,
            reasons: vec![Reason {
                code: "engine_degraded".into(),
                message: "The scoring state is unavailable; sent to review".into(),
                weight: 0.0,
            }],
            features: Default::default(),
            model_version: None,
            freeze: false,
        }
    }
}
