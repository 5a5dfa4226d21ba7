//! Alert (case) domain: statuses and the status machine of the spec, severities with their
//! queue order, resolve outcomes, and the request types of the alert endpoints with their
//! validation. No I/O here.

use serde::{Deserialize, Deserializer, Serialize};

use crate::http::FieldError;

/// Longest comment or resolve note, in characters.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Investigating,
    Resolved,
    Dismissed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Investigating => "investigating",
            Status::Resolved => "resolved",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Status::Open),
            "investigating" => Some(Status::Investigating),
            "resolved" => Some(Status::Resolved),
            "dismissed" => Some(Status::Dismissed),
            _ => None,
        }
    }

    /// `resolved` and `dismissed` are final.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Resolved | Status::Dismissed)
    }
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the alert is {0} and can no longer change")]
    Final(&'static str),
    #[error("an alert is resolved only through resolve, which records the outcome")]
    ResolveThroughResolve,
    #[error("an alert cannot go from {from} to {to}")]
    Illegal {
        from: &'static str,
        to: &'static str,
    },
}

/// The spec's status machine for a `PATCH` (`resolve` has its own entry point):
/// `open → investigating`, `open | investigating → dismissed`; the same status again on a
/// case that is still open is a no-op (`Ok(false)`); everything else is refused.
pub fn patch_transition(from: Status, to: Status) -> Result<bool, TransitionError> {
    if from.is_final() {
        return Err(TransitionError::Final(from.as_str()));
    }
    if to == Status::Resolved {
        return Err(TransitionError::ResolveThroughResolve);
    }
    match (from, to) {
        (a, b) if a == b => Ok(false),
        (Status::Open, Status::Investigating) => Ok(true),
        (Status::Open | Status::Investigating, Status::Dismissed) => Ok(true),
        (a, b) => Err(TransitionError::Illegal {
            from: a.as_str(),
            to: b.as_str(),
        }),
    }
}

/// `open | investigating → resolved` through `resolve`.
pub fn resolve_transition(from: Status) -> Result<(), TransitionError> {
    if from.is_final() {
        Err(TransitionError::Final(from.as_str()))
    } else {
        Ok(())
    }
}

/// Alert severity; the queue shows the highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
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

    /// The `alerts.severity_rank` column: 1 (low) to 4 (critical).
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
            Severity::Critical => 4,
        }
    }
}

/// The outcome `resolve` records; it becomes the transaction's training label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fraud,
    Legitimate,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fraud => "fraud",
            Outcome::Legitimate => "legitimate",
        }
    }
}

/// `PATCH /alerts/{id}`. `assignee_id: null` unassigns; an absent key leaves it alone.
/// Closed-set fields arrive as strings and are checked in `validate`, so a wrong value is a
/// 422 naming the field (serde_json reports a number where an enum is due as a syntax error).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertPatch {
    #[serde(default, deserialize_with = "status_name")]
    pub status: Option<Status>,
    #[serde(default, deserialize_with = "present")]
    pub assignee_id: Option<Option<String>>,
}

fn status_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Status>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => Status::parse(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom("must be one of open, investigating, resolved, dismissed")
        }),
    }
}

fn outcome_name<'de, D: Deserializer<'de>>(d: D) -> Result<Outcome, D::Error> {
    match String::deserialize(d)?.as_str() {
        "fraud" => Ok(Outcome::Fraud),
        "legitimate" => Ok(Outcome::Legitimate),
        _ => Err(serde::de::Error::custom("must be fraud or legitimate")),
    }
}

/// Distinguishes `"key": null` (Some(None)) from an absent key (None).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl AlertPatch {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.status.is_none() && self.assignee_id.is_none() {
            errors.push(FieldError::new(
                "body",
                "give `status` or `assignee_id` to change",
            ));
        }
        if let Some(Some(id)) = &self.assignee_id {
            if id.is_empty() || id.len() > 64 {
                errors.push(FieldError::new("assignee_id", "must be a user id"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// `POST /alerts/{id}/comments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
}

impl NewComment {
    /// The trimmed body, or why it is refused.
    pub fn validated(&self) -> Result<String, Vec<FieldError>> {
        let body = self.body.trim();
        text_field("body", body, true).map(|()| body.to_owned())
    }
}

/// `POST /alerts/{id}/resolve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    #[serde(deserialize_with = "outcome_name")]
    pub outcome: Outcome,
    #[serde(default)]
    pub note: Option<String>,
}

impl Resolve {
    /// The trimmed note (`None` when empty), or why it is refused.
    pub fn validated_note(&self) -> Result<Option<String>, Vec<FieldError>> {
        match self.note.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(n) => text_field("note", n, false).map(|()| Some(n.to_owned())),
        }
    }
}

fn text_field(field: &str, value: &str, required: bool) -> Result<(), Vec<FieldError>> {
    if required && value.is_empty() {
        return Err(vec![FieldError::new(field, "must not be empty")]);
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(vec![FieldError::new(
            field,
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        )]);
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(vec![FieldError::new(
            field,
            "must not contain control characters",
        )]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_alerts_move_to_investigating_or_dismissed() {
        assert_eq!(
            patch_transition(Status::Open, Status::Investigating),
            Ok(true)
        );
        assert_eq!(patch_transition(Status::Open, Status::Dismissed), Ok(true));
        assert_eq!(
            patch_transition(Status::Investigating, Status::Dismissed),
            Ok(true)
        );
    }

    #[test]
    fn resolved_is_reached_only_through_resolve() {
        assert_eq!(
            patch_transition(Status::Open, Status::Resolved),
            Err(TransitionError::ResolveThroughResolve)
        );
        assert!(resolve_transition(Status::Open).is_ok());
        assert!(resolve_transition(Status::Investigating).is_ok());
    }

    #[test]
    fn final_statuses_never_change() {
        for from in [Status::Resolved, Status::Dismissed] {
            for to in [
                Status::Open,
                Status::Investigating,
                Status::Resolved,
                Status::Dismissed,
            ] {
                assert!(patch_transition(from, to).is_err(), "{from:?} -> {to:?}");
            }
            assert!(resolve_transition(from).is_err());
        }
    }

    #[test]
    fn investigating_cannot_go_back_to_open() {
        assert!(matches!(
            patch_transition(Status::Investigating, Status::Open),
            Err(TransitionError::Illegal { .. })
        ));
    }

    #[test]
    fn the_same_status_again_is_a_no_op() {
        assert_eq!(
            patch_transition(Status::Investigating, Status::Investigating),
            Ok(false)
        );
    }

    #[test]
    fn patch_distinguishes_null_assignee_from_absent() {
        let p: AlertPatch = serde_json::from_str(r#"{"assignee_id":null}"#).unwrap();
        assert_eq!(p.assignee_id, Some(None));
        let p: AlertPatch = serde_json::from_str(r#"{"status":"investigating"}"#).unwrap();
        assert_eq!(p.assignee_id, None);
        assert!(AlertPatch::default().validate().is_err());
    }

    #[test]
    fn comments_are_trimmed_and_bounded() {
        let c = NewComment {
            body: "  looks like card testing <script>  ".into(),
        };
        assert_eq!(c.validated().unwrap(), "looks like card testing <script>");
        assert!(NewComment { body: "   ".into() }.validated().is_err());
        assert!(NewComment {
            body: "x".repeat(MAX_TEXT_CHARS + 1)
        }
        .validated()
        .is_err());
        assert!(NewComment {
            body: "bell\u{7}".into()
        }
        .validated()
        .is_err());
    }

    #[test]
    fn severities_rank_critical_highest() {
        assert!(Severity::Critical.rank() > Severity::High.rank());
        assert!(Severity::Critical > Severity::Low);
    }
}
