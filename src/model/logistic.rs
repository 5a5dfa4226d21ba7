//! L2-regularised logistic regression over standardised features, fitted by Newton's method
//! (iteratively reweighted least squares), written out here rather than taken from linfa.
//!
//! Why hand-written: the model is a few dozen weights over a few dozen features; Newton's
//! method converges in about ten deterministic iterations with no learning rate to tune, and
//! the whole fit is ~200 lines with tests. linfa-logistic would add ndarray, argmin and
//! their dependency trees (minutes of build on the 2-core machine) for the same result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scoring::model::{FeatureVector, ModelScorer};

/// Standardised values are clipped to this many standard deviations, so one absurd input
/// (an amount of 10^15) cannot dominate a score.
const CLIP: f64 = 8.0;

/// Fitting options.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FitOptions {
    /// L2 penalty on the weights (not the intercept), per example.
    pub l2: f64,
    pub max_iterations: usize,
    /// Stop when the largest weight change falls below this.
    pub tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            l2: 1e-3,
            max_iterations: 25,
            tolerance: 1e-6,
        }
    }
}

/// A fitted model: everything needed to score, serialisable into `models.params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    pub version: String,
    pub features: Vec<String>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub weights: Vec<f64>,
    pub intercept: f64,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn finite(v: f64) -> f64 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

impl LogisticModel {
    /// The standardised design row of `x` (absent features are 0, as the engine stores them).
    fn row(&self, x: &FeatureVector) -> Vec<f64> {
        self.features
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let v = finite(x.get(name).copied().unwrap_or(0.0));
                ((v - self.mean[j]) / self.std[j]).clamp(-CLIP, CLIP)
            })
            .collect()
    }

    /// Fraud probability of `x`.
    pub fn predict(&self, x: &FeatureVector) -> f64 {
        let z = self.intercept
            + self
                .row(x)
                .iter()
                .zip(&self.weights)
                .map(|(a, w)| a * w)
                .sum::<f64>();
        sigmoid(z)
    }

    /// Each feature's contribution to the log-odds of `x`, largest magnitude first.
    pub fn contributions(&self, x: &FeatureVector) -> Vec<(String, f64)> {
        let mut c: Vec<(String, f64)> = self
            .row(x)
            .iter()
            .zip(&self.weights)
            .zip(&self.features)
            .map(|((a, w), n)| (n.clone(), a * w))
            .filter(|(_, v)| *v != 0.0)
            .collect();
        c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        c
    }

    /// Fits a model to `data` (features, is_fraud). `progress(iteration, max)` is called once
    /// per Newton step.
    pub fn fit(
        version: &str,
        data: &[(FeatureVector, bool)],
        options: FitOptions,
        mut progress: impl FnMut(usize, usize),
    ) -> Self {
        let mut names: BTreeMap<&str, ()> = BTreeMap::new();
        for (x, _) in data {
            for k in x.keys() {
                names.insert(k, ());
            }
        }
        let features: Vec<String> = names.keys().map(|k| (*k).to_owned()).collect();
        let d = features.len();
        let n = data.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        let mut sq = vec![0.0; d];
        for (x, _) in data {
            for (j, name) in features.iter().enumerate() {
                let v = finite(x.get(name).copied().unwrap_or(0.0));
                mean[j] += v;
                sq[j] += v * v;
            }
        }
        let mut std = vec![1.0; d];
        for j in 0..d {
            mean[j] /= n;
            let var = (sq[j] / n - mean[j] * mean[j]).max(0.0);
            std[j] = if var > 1e-12 { var.sqrt() } else { 1.0 };
        }
        let mut model = LogisticModel {
            version: version.to_owned(),
            features,
            mean,
            std,
            weights: vec![0.0; d],
            intercept: 0.0,
        };
        let rows: Vec<(Vec<f64>, f64)> = data
            .iter()
            .map(|(x, y)| (model.row(x), if *y { 1.0 } else { 0.0 }))
            .collect();
        // Start the intercept at the base rate's log-odds.
        let positives = rows.iter().filter(|(_, y)| *y > 0.5).count() as f64;
        let rate = ((positives + 0.5) / (n + 1.0)).clamp(1e-6, 1.0 - 1e-6);
        model.intercept = (rate / (1.0 - rate)).ln();

        // Parameters: index 0 is the intercept, 1..=d the weights.
        let p = d + 1;
        for it in 0..options.max_iterations {
            progress(it + 1, options.max_iterations);
            let mut grad = vec![0.0; p];
            let mut hess = vec![0.0; p * p];
            for (x, y) in &rows {
                let z = model.intercept
                    + x.iter()
                        .zip(&model.weights)
                        .map(|(a, w)| a * w)
                        .sum::<f64>();
                let mu = sigmoid(z);
                let r = mu - y;
                let s = (mu * (1.0 - mu)).max(1e-10);
                grad[0] += r;
                for j in 0..d {
                    grad[j + 1] += r * x[j];
                }
                // Upper triangle of X' S X with the intercept column.
                hess[0] += s;
                for j in 0..d {
                    hess[j + 1] += s * x[j];
                    let sxj = s * x[j];
                    for k in j..d {
                        hess[(j + 1) * p + k + 1] += sxj * x[k];
                    }
                }
            }
            for j in 0..p {
                for k in 0..j {
                    hess[j * p + k] = hess[k * p + j];
                }
            }
            for j in 1..p {
                grad[j] += options.l2 * n * model.weights[j - 1];
                hess[j * p + j] += options.l2 * n;
            }
            hess[0] += 1e-9 * n;
            let Some(step) = solve_spd(&mut hess, &grad, p) else {
                break;
            };
            let mut largest: f64 = 0.0;
            model.intercept -= step[0];
            largest = largest.max(step[0].abs());
            for j in 0..d {
                model.weights[j] -= step[j + 1];
                largest = largest.max(step[j + 1].abs());
            }
            if largest < options.tolerance {
                break;
            }
        }
        model
    }
}

/// Solves `A x = b` for a symmetric positive definite `A` (n × n, row-major) by Cholesky
/// decomposition, in place. `None` when `A` is not positive definite.
fn solve_spd(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut s = a[j * n + j];
        for k in 0..j {
            s -= a[j * n + k] * a[j * n + k];
        }
        if s <= 0.0 || !s.is_finite() {
            return None;
        }
        let l = s.sqrt();
        a[j * n + j] = l;
        for i in (j + 1)..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / l;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * y[k];
        }
        y[i] = s / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in (i + 1)..n {
            s -= a[k * n + i] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    Some(x)
}

impl ModelScorer for LogisticModel {
    fn version(&self) -> &str {
        &self.version
    }
    fn probability(&self, features: &FeatureVector) -> f64 {
        self.predict(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fv(pairs: &[(&str, f64)]) -> FeatureVector {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// A deterministic pseudo-random sequence (no rand dependency in tests of the math).
    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64) / ((1u64 << 53) as f64)
    }

    #[test]
    fn recovers_the_direction_of_a_known_logistic_relationship() {
        let mut seed = 7;
        let data: Vec<(FeatureVector, bool)> = (0..4000)
            .map(|_| {
                let a = lcg(&mut seed) * 4.0 - 2.0;
                let b = lcg(&mut seed) * 4.0 - 2.0;
                let noise = lcg(&mut seed) * 10.0;
                let z = 2.0 * a - 1.0 * b - 0.5;
                let y = lcg(&mut seed) < sigmoid(z);
                (
                    fv(&[("a", a), ("b", b), ("noise", noise), ("constant", 1.0)]),
                    y,
                )
            })
            .collect();
        let m = LogisticModel::fit("t", &data, FitOptions::default(), |_, _| {});
        let w: BTreeMap<_, _> = m
            .features
            .iter()
            .cloned()
            .zip(m.weights.iter().copied())
            .collect();
        // Standardised weights: a's true weight 2 × std(a≈1.15) ≈ 2.3, b's ≈ -1.15.
        assert!((w["a"] - 2.3).abs() < 0.3, "{w:?}");
        assert!((w["b"] + 1.15).abs() < 0.25, "{w:?}");
        assert!(w["noise"].abs() < 0.15, "{w:?}");
        assert_eq!(w["constant"], 0.0, "a constant feature carries no weight");
        assert!(m.predict(&fv(&[("a", 2.0)])) > 0.9);
        assert!(m.predict(&fv(&[("a", -2.0), ("b", 2.0)])) < 0.01);
    }

    #[test]
    fn separable_data_stays_finite_thanks_to_the_penalty() {
        let data: Vec<(FeatureVector, bool)> = (0..200)
            .map(|i| (fv(&[("x", i as f64)]), i >= 100))
            .collect();
        let m = LogisticModel::fit("t", &data, FitOptions::default(), |_, _| {});
        assert!(m.weights.iter().all(|w| w.is_finite()));
        assert!(m.predict(&fv(&[("x", 150.0)])) > 0.9);
        assert!(m.predict(&fv(&[("x", 50.0)])) < 0.1);
    }

    #[test]
    fn absurd_and_missing_inputs_score_without_nan() {
        let data = vec![(fv(&[("x", 1.0)]), true), (fv(&[("x", 0.0)]), false)];
        let m = LogisticModel::fit("t", &data, FitOptions::default(), |_, _| {});
        for x in [
            fv(&[]),
            fv(&[("x", f64::NAN)]),
            fv(&[("x", 1e300)]),
            fv(&[("unseen", 5.0)]),
        ] {
            let p = m.predict(&x);
            assert!((0.0..=1.0).contains(&p), "{p}");
        }
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<LogisticModel>(&json).unwrap(), m);
    }

    #[test]
    fn progress_is_reported_per_iteration() {
        let data = vec![(fv(&[("x", 1.0)]), true), (fv(&[("x", 0.0)]), false)];
        let mut calls = 0;
        LogisticModel::fit("t", &data, FitOptions::default(), |i, max| {
            calls += 1;
            assert!(i <= max);
        });
        assert!(calls >= 1);
    }
}
