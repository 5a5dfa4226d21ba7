//! Quality measures of a fraud model on a holdout: precision and recall at a threshold, ROC
//! AUC, average precision, and precision among the top-k scores (a fixed alert budget).

use serde::{Deserialize, Serialize};

/// The figures stored with every model in `models.metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub auc_roc: f64,
    pub average_precision: f64,
    pub precision_at_100: f64,
    pub holdout_size: usize,
    pub holdout_fraud: usize,
}

/// Computes [`Metrics`] from `(probability, is_fraud)` pairs at `threshold`.
pub fn metrics(scored: &[(f64, bool)], threshold: f64) -> Metrics {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for &(p, y) in scored {
        match (p >= threshold, y) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Metrics {
        threshold,
        precision: ratio(tp, tp + fp),
        recall: ratio(tp, tp + fn_),
        auc_roc: auc_roc(scored),
        average_precision: average_precision(scored),
        precision_at_100: precision_at_k(scored, 100),
        holdout_size: scored.len(),
        holdout_fraud: scored.iter().filter(|(_, y)| *y).count(),
    }
}

/// Scores sorted descending (ties keep input order, then are handled as groups).
fn sorted_desc(scored: &[(f64, bool)]) -> Vec<(f64, bool)> {
    let mut s = scored.to_vec();
    s.sort_by(|a, b| b.0.total_cmp(&a.0));
    s
}

/// Area under the ROC curve: the probability that a random fraud outscores a random
/// legitimate transaction (ties count half). 0.5 when a class is missing.
pub fn auc_roc(scored: &[(f64, bool)]) -> f64 {
    let pos = scored.iter().filter(|(_, y)| *y).count() as f64;
    let neg = scored.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    let mut s = scored.to_vec();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the (average, 1-based) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j + 1 < s.len() && s[j + 1].0 == s[i].0 {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += s[i..=j].iter().filter(|(_, y)| *y).count() as f64 * avg_rank;
        i = j + 1;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Average precision: the mean of precision at each fraud's rank (tied scores are one step
/// of the curve, as scikit-learn computes it). 0 when there is no fraud.
pub fn average_precision(scored: &[(f64, bool)]) -> f64 {
    let pos = scored.iter().filter(|(_, y)| *y).count() as f64;
    if pos == 0.0 {
        return 0.0;
    }
    let s = sorted_desc(scored);
    let (mut tp, mut seen, mut ap, mut last_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < s.len() {
        let mut j = i;
        while j + 1 < s.len() && s[j + 1].0 == s[i].0 {
            j += 1;
        }
        for item in &s[i..=j] {
            seen += 1.0;
            if item.1 {
                tp += 1.0;
            }
        }
        let recall = tp / pos;
        ap += (recall - last_recall) * (tp / seen);
        last_recall = recall;
        i = j + 1;
    }
    ap
}

/// The share of fraud among the `k` highest scores (fewer when there are fewer items).
pub fn precision_at_k(scored: &[(f64, bool)], k: usize) -> f64 {
    let s = sorted_desc(scored);
    let top = &s[..k.min(s.len())];
    if top.is_empty() {
        return 0.0;
    }
    top.iter().filter(|(_, y)| *y).count() as f64 / top.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_ranking_scores_one_and_a_reversed_one_zero() {
        let perfect = [(0.9, true), (0.8, true), (0.2, false), (0.1, false)];
        assert_eq!(auc_roc(&perfect), 1.0);
        assert_eq!(average_precision(&perfect), 1.0);
        let reversed = [(0.1, true), (0.2, true), (0.8, false), (0.9, false)];
        assert_eq!(auc_roc(&reversed), 0.0);
    }

    #[test]
    fn ties_count_half_and_match_hand_computed_values() {
        assert_eq!(auc_roc(&[(0.5, true), (0.5, false)]), 0.5);
        // Ranking: T F T F → AP = (1/1 + 2/3) / 2.
        let s = [(0.9, true), (0.8, false), (0.7, true), (0.6, false)];
        assert!((average_precision(&s) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!((auc_roc(&s) - 0.75).abs() < 1e-12);
    }

    #[test]
    fn threshold_metrics_and_top_k() {
        let s = [(0.9, true), (0.6, false), (0.4, true), (0.1, false)];
        let m = metrics(&s, 0.5);
        assert_eq!((m.precision, m.recall), (0.5, 0.5));
        assert_eq!(precision_at_k(&s, 1), 1.0);
        assert_eq!(precision_at_k(&s, 100), 0.5);
        assert_eq!(m.holdout_fraud, 2);
        assert_eq!(metrics(&[], 0.5).auc_roc, 0.5);
    }
}
