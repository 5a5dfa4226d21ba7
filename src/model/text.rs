//! A multinomial naive Bayes text classifier and the tokenizer it is fed with, shared by the
//! scam-message analyser (`crate::analyze`) and the expense categoriser
//! (`crate::expenses::categorize`).
//!
//! Naive Bayes is chosen over a linear model for these two because it trains in one pass over
//! counts (milliseconds for the shipped corpora, so the binary trains at first use from data
//! compiled into it and needs no stored weights), is deterministic, and behaves well with few
//! examples per class — which is what the categoriser has.

use std::collections::{HashMap, HashSet};

/// A trained multinomial naive Bayes model over string tokens.
#[derive(Debug, Clone)]
pub struct NaiveBayes {
    classes: Vec<String>,
    log_prior: Vec<f64>,
    /// Per token, `ln P(token | class)` for every class.
    log_likelihood: HashMap<String, Vec<f64>>,
}

/// One training example: its tokens, the index of its class, and a weight (1.0 normally).
pub struct Example<'a> {
    pub tokens: &'a [String],
    pub class: usize,
    pub weight: f64,
}

impl NaiveBayes {
    /// Trains with Laplace smoothing `alpha` over `classes`. A class without examples keeps a
    /// small prior so it can still be predicted from strong evidence.
    pub fn train<'a>(
        classes: &[&str],
        examples: impl IntoIterator<Item = Example<'a>>,
        alpha: f64,
    ) -> Self {
        let k = classes.len();
        let mut class_weight = vec![0.0_f64; k];
        let mut token_total = vec![0.0_f64; k];
        let mut counts: HashMap<String, Vec<f64>> = HashMap::new();
        for ex in examples {
            if ex.class >= k || ex.weight <= 0.0 {
                continue;
            }
            class_weight[ex.class] += ex.weight;
            for t in ex.tokens {
                let row = counts.entry(t.clone()).or_insert_with(|| vec![0.0; k]);
                row[ex.class] += ex.weight;
                token_total[ex.class] += ex.weight;
            }
        }
        let total: f64 = class_weight.iter().sum::<f64>() + k as f64 * 0.5;
        let log_prior = class_weight
            .iter()
            .map(|w| ((w + 0.5) / total).ln())
            .collect();
        let vocabulary = counts.len().max(1) as f64;
        let log_likelihood = counts
            .into_iter()
            .map(|(token, row)| {
                let probs = row
                    .iter()
                    .enumerate()
                    .map(|(c, n)| ((n + alpha) / (token_total[c] + alpha * vocabulary)).ln())
                    .collect();
                (token, probs)
            })
            .collect();
        Self {
            classes: classes.iter().map(|c| (*c).to_owned()).collect(),
            log_prior,
            log_likelihood,
        }
    }

    /// Replaces the class priors learnt from the data with equal ones.
    pub fn with_uniform_prior(mut self) -> Self {
        let k = self.log_prior.len().max(1) as f64;
        self.log_prior.iter_mut().for_each(|p| *p = -(k.ln()));
        self
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Unnormalised log scores per class (prior plus the likelihood of known tokens).
    pub fn log_scores(&self, tokens: &[String]) -> Vec<f64> {
        let mut scores = self.log_prior.clone();
        for t in tokens {
            if let Some(row) = self.log_likelihood.get(t) {
                for (s, l) in scores.iter_mut().zip(row) {
                    *s += l;
                }
            }
        }
        scores
    }

    /// Posterior probability per class, summing to 1.
    pub fn posterior(&self, tokens: &[String]) -> Vec<f64> {
        softmax(&self.log_scores(tokens))
    }

    /// True when none of `tokens` was seen in training (the posterior is then the prior).
    pub fn knows_none(&self, tokens: &[String]) -> bool {
        !tokens.iter().any(|t| self.log_likelihood.contains_key(t))
    }
}

/// Normalises log scores into probabilities without overflow.
pub fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        let n = scores.len().max(1) as f64;
        return vec![1.0 / n; scores.len()];
    }
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Lower-case word tokens: runs of letters or digits (Unicode aware), at most `max` of them.
pub fn words(text: &str, max: usize) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(max)
        .map(str::to_lowercase)
        .collect()
}

/// Word unigrams and adjacent bigrams (`a_b`), each counted once per text: presence rather
/// than frequency works better for short texts.
pub fn unigrams_and_bigrams(words: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(words.len() * 2);
    for w in words {
        if seen.insert(w.clone()) {
            out.push(w.clone());
        }
    }
    for pair in words.windows(2) {
        let b = format!("{}_{}", pair[0], pair[1]);
        if seen.insert(b.clone()) {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        unigrams_and_bigrams(&words(s, 100))
    }

    #[test]
    fn naive_bayes_prefers_the_class_whose_words_it_saw() {
        let a = toks("cheap flights hotel booking");
        let b = toks("lunch dinner restaurant coffee");
        let nb = NaiveBayes::train(
            &["travel", "meals"],
            [
                Example {
                    tokens: &a,
                    class: 0,
                    weight: 1.0,
                },
                Example {
                    tokens: &b,
                    class: 1,
                    weight: 1.0,
                },
            ],
            0.5,
        );
        let p = nb.posterior(&toks("team dinner"));
        assert!(p[1] > p[0], "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(nb.knows_none(&toks("zzz qqq")));
    }

    #[test]
    fn words_are_lowercased_unicode_runs() {
        assert_eq!(words("Café-Bar 24/7!", 10), vec!["café", "bar", "24", "7"]);
        assert_eq!(words("a b c d", 2).len(), 2);
    }

    #[test]
    fn softmax_survives_extreme_scores() {
        let p = softmax(&[-1e9, 0.0, f64::NEG_INFINITY]);
        assert!((p[1] - 1.0).abs() < 1e-12);
        let p = softmax(&[f64::NEG_INFINITY, f64::NEG_INFINITY]);
        assert_eq!(p, vec![0.5, 0.5]);
    }
}
