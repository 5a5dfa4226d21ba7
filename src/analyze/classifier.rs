//! The shipped text model: multinomial naive Bayes trained, at first use, from the UCI SMS
//! Spam Collection compiled into the binary (`data/sms_spam_collection.tsv`, CC BY 4.0).
//!
//! The corpus is split deterministically: every fifth message (index.is_multiple_of(5)) is held out
//! and never trained on, so the precision and recall the tests print and `docs/models.md`
//! states are those of the very model the binary answers with.

use std::sync::LazyLock;

use crate::model::text::{unigrams_and_bigrams, words, Example, NaiveBayes};

/// Reported as `model_version` by `POST /api/v1/analyze`.
pub const MODEL_VERSION: &str = "sms-nb-1";

const CORPUS: &str = include_str!("../../data/sms_spam_collection.tsv");
const CLASSES: [&str; 2] = ["ham", "spam"];
/// Words of a message the model looks at; longer messages are judged on their start.
const MAX_WORDS: usize = 400;

/// One labelled message of the corpus.
pub struct Message<'a> {
    pub spam: bool,
    pub text: &'a str,
}

/// The whole corpus in file order (malformed lines are skipped).
pub fn corpus() -> Vec<Message<'static>> {
    CORPUS
        .lines()
        .filter_map(|line| {
            let (label, text) = line.split_once('\t')?;
            match label {
                "spam" => Some(Message { spam: true, text }),
                "ham" => Some(Message { spam: false, text }),
                _ => None,
            }
        })
        .collect()
}

/// True for the messages held out of training.
pub fn is_held_out(index: usize) -> bool {
    index.is_multiple_of(5)
}

/// The tokens the model sees: word unigrams and bigrams (long digit runs folded into one
/// token) plus markers for links, phone-like numbers, money symbols and shouting.
pub fn tokens(text: &str) -> Vec<String> {
    let mut raw = words(text, MAX_WORDS);
    for w in raw.iter_mut() {
        if w.len() >= 5 && w.chars().all(|c| c.is_ascii_digit()) {
            *w = "__longnum__".into();
        }
    }
    let mut out = unigrams_and_bigrams(&raw);
    let lower = text.to_lowercase();
    if lower.contains("http") || lower.contains("www.") || lower.contains(".com") {
        out.push("__link__".into());
    }
    if text.contains(['£', '$', '€']) {
        out.push("__money__".into());
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let upper = text.chars().filter(|c| c.is_uppercase()).count();
    if letters >= 12 && upper * 10 >= letters * 4 {
        out.push("__shouting__".into());
    }
    out
}

/// Trains a model on the messages `keep` accepts.
pub fn train(keep: impl Fn(usize) -> bool) -> NaiveBayes {
    let data: Vec<(Vec<String>, usize)> = corpus()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, m)| (tokens(m.text), usize::from(m.spam)))
        .collect();
    NaiveBayes::train(
        &CLASSES,
        data.iter().map(|(t, c)| Example {
            tokens: t,
            class: *c,
            weight: 1.0,
        }),
        0.5,
    )
}

static MODEL: LazyLock<NaiveBayes> = LazyLock::new(|| train(|i| !is_held_out(i)));

/// Probability that `text` is spam/scam under the shipped model.
pub fn spam_probability(text: &str) -> f64 {
    let tokens = tokens(text);
    MODEL.posterior(&tokens).get(1).copied().unwrap_or(0.0)
}

/// Forces training now (start-up warms the model so the first request does not pay for it).
pub fn warm_up() {
    LazyLock::force(&MODEL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_has_every_message_of_the_collection() {
        let c = corpus();
        assert_eq!(c.len(), 5574);
        assert_eq!(c.iter().filter(|m| m.spam).count(), 747);
    }

    #[test]
    fn held_out_precision_and_recall_meet_the_floor() {
        let c = corpus();
        let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
        for (i, m) in c.iter().enumerate().filter(|(i, _)| is_held_out(*i)) {
            let _ = i;
            let predicted = spam_probability(m.text) >= 0.5;
            match (predicted, m.spam) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                (false, false) => tn += 1,
            }
        }
        let precision = f64::from(tp) / f64::from(tp + fp);
        let recall = f64::from(tp) / f64::from(tp + fn_);
        println!(
            "sms-nb-1 held-out ({} messages): precision {precision:.3}, recall {recall:.3} (tp {tp}, fp {fp}, fn {fn_}, tn {tn})",
            tp + fp + fn_ + tn
        );
        assert!(precision >= 0.9, "precision {precision}");
        assert!(recall >= 0.85, "recall {recall}");
    }

    #[test]
    fn tokens_mark_links_money_and_long_numbers() {
        let t = tokens("WIN £1000 now! Call 08712345678 or visit http://x.co");
        assert!(t.contains(&"__money__".to_string()));
        assert!(t.contains(&"__longnum__".to_string()));
        assert!(t.contains(&"__link__".to_string()));
    }
}
