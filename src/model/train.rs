//! One training run: read the labelled transactions, split them by time (the newest 20 % are
//! the holdout, never trained on), fit, measure, compare with the active model on the same
//! holdout, store the new version, and activate it only if it is not worse.
//!
//! "Not worse" means its average precision on the holdout is at least the active model's:
//! average precision summarises the whole precision/recall trade-off and, unlike AUC, is not
//! flattered by the mass of easy legitimate transactions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::evaluate::{metrics, Metrics};
use super::logistic::{FitOptions, LogisticModel};
use super::store;
use crate::scoring::model::{FeatureVector, ModelSlot};
use crate::store::{now_rfc3339, Store, StoreError};

/// Share of the labelled rows (the most recent) kept out of training for measurement.
pub const HOLDOUT_SHARE: f64 = 0.2;
/// Probability at or above which the holdout precision and recall count a prediction as fraud.
pub const THRESHOLD: f64 = 0.5;

/// Why a training run did not produce a model.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("not enough labelled transactions to train: {fraud} fraud and {legitimate} legitimate, at least {needed} of each are needed (model.min_labels)")]
    NotEnoughLabels {
        fraud: u64,
        legitimate: u64,
        needed: u32,
    },
    #[error("the newest {share}% of labelled transactions (the holdout) hold no {missing} label; label more recent transactions")]
    HoldoutIncomplete { share: u32, missing: &'static str },
    #[error("a training run is already in progress")]
    AlreadyRunning,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Steps reported while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Loading,
    Loaded { rows: usize },
    Fitting { iteration: usize, of: usize },
    Evaluating,
    Saving,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: String,
    pub activated: bool,
    pub metrics: Metrics,
    /// The model that was active before, and its figures on the same holdout.
    pub previous_version: Option<String>,
    pub previous_metrics: Option<Metrics>,
    pub train_size: usize,
    pub holdout_size: usize,
    pub features: usize,
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Releases the one-run-at-a-time flag when a run ends, however it ends.
struct RunGuard;

impl RunGuard {
    fn acquire() -> Option<Self> {
        RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| RunGuard)
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

/// A labelled feature vector (`true` = fraud).
pub type Labelled = (FeatureVector, bool);

/// Splits time-ordered rows into (train, holdout).
pub fn split(rows: &[Labelled]) -> (&[Labelled], &[Labelled]) {
    let holdout = ((rows.len() as f64) * HOLDOUT_SHARE).ceil() as usize;
    rows.split_at(rows.len() - holdout.min(rows.len()))
}

/// Fits on `train` and measures on `holdout` (pure; used by the run and by the evaluation
/// test).
pub fn fit_and_measure(
    version: &str,
    train: &[(FeatureVector, bool)],
    holdout: &[(FeatureVector, bool)],
    progress: &mut impl FnMut(Progress),
) -> (LogisticModel, Metrics) {
    let model = LogisticModel::fit(version, train, FitOptions::default(), |iteration, of| {
        progress(Progress::Fitting { iteration, of })
    });
    progress(Progress::Evaluating);
    let scored: Vec<(f64, bool)> = holdout
        .iter()
        .map(|(x, y)| (model.predict(x), *y))
        .collect();
    let m = metrics(&scored, THRESHOLD);
    (model, m)
}

/// Runs one training (blocking: call from `spawn_blocking` or the CLI). Installs the new
/// model into `slot` when it is activated.
pub fn run(
    store: &Store,
    slot: &ModelSlot,
    min_labels: u32,
    mut progress: impl FnMut(Progress),
) -> Result<Report, TrainError> {
    let _guard = RunGuard::acquire().ok_or(TrainError::AlreadyRunning)?;
    progress(Progress::Loading);
    let conn = store.read()?;
    let (fraud, legitimate) = store::label_counts(&conn)?;
    let needed = u64::from(min_labels.max(1));
    if fraud < needed || legitimate < needed {
        return Err(TrainError::NotEnoughLabels {
            fraud,
            legitimate,
            needed: min_labels.max(1),
        });
    }
    let rows = store::labelled_rows(&conn)?;
    let active = store::active(&conn)?;
    drop(conn);
    progress(Progress::Loaded { rows: rows.len() });
    let (train, holdout) = split(&rows);
    let share = (HOLDOUT_SHARE * 100.0).round() as u32;
    for (wanted, missing) in [(true, "fraud"), (false, "legitimate")] {
        if !holdout.iter().any(|(_, y)| *y == wanted) {
            return Err(TrainError::HoldoutIncomplete { share, missing });
        }
        if !train.iter().any(|(_, y)| *y == wanted) {
            return Err(TrainError::NotEnoughLabels {
                fraud,
                legitimate,
                needed: min_labels.max(1),
            });
        }
    }
    let version = {
        let conn = store.read()?;
        store::next_version(&conn)?
    };
    let (model, m) = fit_and_measure(&version, train, holdout, &mut progress);
    let previous_metrics = active.as_ref().map(|a| {
        let scored: Vec<(f64, bool)> = holdout.iter().map(|(x, y)| (a.predict(x), *y)).collect();
        metrics(&scored, THRESHOLD)
    });
    let activated = previous_metrics
        .as_ref()
        .is_none_or(|p| m.average_precision >= p.average_precision);
    progress(Progress::Saving);
    let stored = json!({
        "holdout": m,
        "train_size": train.len(),
        "features": model.features.len(),
        "previous_version": active.as_ref().map(|a| a.version.clone()),
        "previous_on_holdout": previous_metrics,
    });
    let saved = model.clone();
    store.writer.write_blocking(move |conn| {
        store::insert(conn, &saved, &stored, activated, &now_rfc3339())
    })?;
    if activated {
        slot.set(Some(Arc::new(model.clone())));
    }
    tracing::info!(version = %model.version, activated, auc = m.auc_roc, ap = m.average_precision, "fraud model trained");
    Ok(Report {
        version: model.version.clone(),
        activated,
        metrics: m,
        previous_version: active.map(|a| a.version),
        previous_metrics,
        train_size: train.len(),
        holdout_size: holdout.len(),
        features: model.features.len(),
    })
}

/// Start-up: the active fraud model in a new slot, the categoriser trained with the stored
/// corrections, and the message classifier warmed (each failure is logged, never fatal).
pub fn load_models(store: &Store) -> (ModelSlot, crate::expenses::categorize::Categorizer) {
    let slot = load_slot(store);
    let corrections = store
        .read()
        .and_then(|c| crate::expenses::categorize::load_corrections(&c))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot load category corrections");
            Vec::new()
        });
    let categorizer = crate::expenses::categorize::Categorizer::new(&corrections);
    crate::analyze::classifier::warm_up();
    (slot, categorizer)
}

/// Loads the active model from the store into a new slot (start-up).
pub fn load_slot(store: &Store) -> ModelSlot {
    let slot = ModelSlot::default();
    match store.read().and_then(|c| store::active(&c)) {
        Ok(Some(m)) => {
            tracing::info!(version = %m.version, "fraud model loaded");
            slot.set(Some(Arc::new(m)));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot load the active fraud model"),
    }
    slot
}

/// Installs the store's active model into `slot` when it differs from the installed one (a
/// model trained by the CLI, or by another process).
pub fn refresh_slot(store: &Store, slot: &ModelSlot) -> Result<(), StoreError> {
    let conn = store.read()?;
    let stored = store::active_version(&conn)?;
    let current = slot.current().map(|m| m.version().to_owned());
    if stored != current {
        let model = store::active(&conn)?;
        slot.set(model.map(|m| Arc::new(m) as Arc<dyn crate::scoring::model::ModelScorer>));
    }
    Ok(())
}
