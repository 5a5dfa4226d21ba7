//! Scam and phishing message analysis (`POST /api/v1/analyze`): a shipped naive Bayes text
//! model ([`classifier`]) plus explainable indicators ([`indicators`]), folded into one score
//! and a label.
//!
//! This module owns the analysis only; the `analyze` rate-limit tier is applied by the HTTP
//! layer to every route that declares `Permission::Analyze`.

pub mod classifier;
pub mod indicators;
pub mod routes;

use serde::{Deserialize, Serialize};

pub use indicators::Indicator;

/// Where the message was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
    Chat,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Scam,
    Suspicious,
    Clean,
}

/// Scores at or above this are `scam`.
pub const SCAM_THRESHOLD: u8 = 70;
/// Scores at or above this (and below [`SCAM_THRESHOLD`]) are `suspicious`.
pub const SUSPICIOUS_THRESHOLD: u8 = 40;

/// The result of analysing one message.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub label: Label,
    /// 0–100.
    pub score: u8,
    pub indicators: Vec<Indicator>,
    pub model_version: &'static str,
}

/// Analyses a message. The model's spam probability and each indicator's weight are
/// combined as independent evidence (noisy-or), so one strong indicator alone makes a message
/// suspicious and two make it a scam, while the model can flag a message on its own.
pub fn analyze(message: &str, sender: Option<&str>, _channel: Option<Channel>) -> Analysis {
    let p = classifier::spam_probability(message);
    let mut indicators = indicators::find(message, sender);
    let mut clean = 1.0 - p.clamp(0.0, 1.0);
    for i in &indicators {
        clean *= 1.0 - i.weight;
    }
    let score = ((1.0 - clean) * 100.0).round().clamp(0.0, 100.0) as u8;
    if p >= 0.5 {
        indicators.insert(
            0,
            Indicator {
                code: "spam_language",
                message: format!(
                    "Reads like known spam and scam messages (model probability {:.2}).",
                    p
                ),
                weight: 0.0,
            },
        );
    }
    let label = if score >= SCAM_THRESHOLD {
        Label::Scam
    } else if score >= SUSPICIOUS_THRESHOLD {
        Label::Suspicious
    } else {
        Label::Clean
    };
    Analysis {
        label,
        score,
        indicators,
        model_version: classifier::MODEL_VERSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_otp_phishing_text_is_a_scam_with_reasons() {
        let a = analyze(
            "URGENT: your bank account has been locked. Verify at http://10.0.0.7/login and reply with your OTP.",
            None,
            Some(Channel::Sms),
        );
        assert_eq!(a.label, Label::Scam, "{a:?}");
        let codes: Vec<_> = a.indicators.iter().map(|i| i.code).collect();
        for c in ["urgency", "otp_request", "raw_ip_link"] {
            assert!(codes.contains(&c), "{codes:?}");
        }
    }

    #[test]
    fn an_ordinary_message_is_clean() {
        let a = analyze(
            "Are we still on for lunch at noon? I'll bring the report.",
            None,
            None,
        );
        assert_eq!(a.label, Label::Clean, "{a:?}");
        assert!(a.indicators.is_empty());
        assert_eq!(a.model_version, classifier::MODEL_VERSION);
    }

    #[test]
    fn classic_prize_spam_is_flagged_by_the_model_alone() {
        let a = analyze(
            "WINNER!! You have been selected to receive a £900 prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.",
            None,
            None,
        );
        assert_ne!(a.label, Label::Clean, "{a:?}");
        assert_eq!(a.indicators[0].code, "spam_language");
    }
}
