//! The result of scoring: decision, severity and reasons, and how rule actions, thresholds
//! and the model combine into them.

use serde::{Deserialize, Serialize};

use super::model::FeatureVector;

/// allow / review / block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Review,
    Block,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allow" => Some(Decision::Allow),
            "review" => Some(Decision::Review),
            "block" => Some(Decision::Block),
            _ => None,
        }
    }
}

/// low / medium / high / critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Sort rank stored with alerts (low = 1 … critical = 4).
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
    /// Severity from the score alone.
    pub fn from_score(score: u8) -> Self {
        match score {
            85.. => Severity::Critical,
            70.. => Severity::High,
            50.. => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// Why a transaction got its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
    pub weight: f64,
}

/// The engine's answer for one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub score: u8,
    pub decision: Decision,
    pub severity: Severity,
    pub reasons: Vec<Reason>,
    pub features: FeatureVector,
    pub model_version: Option<String>,
    /// A `freeze` rule matched: the account is to be frozen.
    pub freeze: bool,
}

impl Outcome {
    /// Applies a frozen account: block with reason `account_frozen`.
    pub fn block_frozen(&mut self) {
        if self.reasons.iter().any(|r| r.code == "account_frozen") {
            return;
        }
        self.decision = Decision::Block;
        self.severity = self.severity.max(Severity::High);
        self.reasons.insert(
            0,
            Reason {
                code: "account_frozen".into(),
                message: "The account is frozen".into(),
                weight: 0.0,
            },
        );
    }

    /// True when the decision raises an alert.
    pub fn alerts(&self) -> bool {
        self.decision != Decision::Allow
    }
}
