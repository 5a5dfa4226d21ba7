//! The seam between the scoring engine and a trained fraud model: the engine computes a
//! numeric feature vector per transaction and, when a model is active, asks it for a fraud
//! probability. Training and storage of models live in `crate::model`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// A numeric feature vector, keyed by feature name (stable names; stored with each transaction).
pub type FeatureVector = BTreeMap<String, f64>;

/// A trained model the engine can consult.
pub trait ModelScorer: Send + Sync {
    /// The version string reported as `model_version`.
    fn version(&self) -> &str;
    /// Probability in [0, 1] that the transaction with these features is fraud.
    fn probability(&self, features: &FeatureVector) -> f64;
}

/// The active model, swapped atomically when a better one is trained.
#[derive(Default, Clone)]
pub struct ModelSlot(Arc<RwLock<Option<Arc<dyn ModelScorer>>>>);

impl ModelSlot {
    pub fn current(&self) -> Option<Arc<dyn ModelScorer>> {
        self.0.read().ok().and_then(|g| g.clone())
    }
    pub fn set(&self, model: Option<Arc<dyn ModelScorer>>) {
        if let Ok(mut g) = self.0.write() {
            *g = model;
        }
    }
}
