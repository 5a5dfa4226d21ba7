//! Validation of one transaction as sent by a client (SPEC section 6): every field checked,
//! every bad field named, unknown fields refused, money parsed into minor units. The result,
//! [`NewTransaction`], can only hold valid values; its canonical form gives the payload hash
//! that idempotency compares.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::http::error::FieldError;
use crate::money::{self, Currency};

/// Kinds of transaction.
pub const KINDS: &[&str] = &["payment", "transfer", "withdrawal", "refund", "expense"];
/// Channels.
pub const CHANNELS: &[&str] = &["card_present", "online", "atm", "transfer", "other"];
/// Largest serialized `metadata` object.
pub const METADATA_MAX_BYTES: usize = 8 * 1024;

const FIELDS: &[&str] = &[
    "external_id",
    "account_id",
    "amount",
    "currency",
    "occurred_at",
    "kind",
    "merchant",
    "merchant_category",
    "country",
    "channel",
    "device_id",
    "ip",
    "email",
    "description",
    "category",
    "department",
    "submitted_by",
    "metadata",
];

/// A validated transaction, ready to score and store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTransaction {
    pub external_id: String,
    pub account_ref: String,
    pub amount_minor: i64,
    pub currency: &'static str,
    /// RFC 3339 UTC, milliseconds.
    pub occurred_at: String,
    pub occurred_ms: i64,
    pub kind: &'static str,
    pub merchant: Option<String>,
    pub merchant_category: Option<String>,
    pub country: Option<String>,
    pub channel: Option<&'static str>,
    pub device_id: Option<String>,
    pub ip: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub department: Option<String>,
    pub submitted_by: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

impl NewTransaction {
    /// SHA-256 over the canonical (validated, normalised) form: `125.5` and `"125.50"` are the
    /// same payload.
    pub fn payload_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical))
    }

    /// The amount in major units, for features and rules only.
    pub fn amount_major(&self) -> f64 {
        money::to_major_f64(self.amount_minor, self.currency)
    }

    pub fn occurred(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.occurred_ms).unwrap_or_default()
    }

    /// Hour of day (UTC) and weekday (0 = Monday).
    pub fn hour_and_weekday(&self) -> (u32, u32) {
        let t = self.occurred();
        (t.hour(), t.weekday().num_days_from_monday())
    }

    /// The domain part of `email`, lower-cased.
    pub fn email_domain(&self) -> Option<String> {
        self.email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
    }
}

/// Defaults the endpoint supplies (`POST /expenses` presets the kind).
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults {
    pub kind: Option<&'static str>,
}

/// Validates a JSON value as a transaction, naming every bad field.
pub fn validate(value: &Value, defaults: Defaults) -> Result<NewTransaction, Vec<FieldError>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    for key in obj.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::new(clip(key), "is not a known field"));
        }
    }
    let mut v = Validator {
        obj,
        errors: &mut errors,
    };
    let external_id = v.required_text("external_id", 128);
    let account_ref = v.required_text("account_id", 128);
    let currency = v.currency();
    let amount_minor = v.amount(currency);
    let occurred = v.occurred_at();
    let kind = v.choice("kind", KINDS).or(defaults.kind);
    if kind.is_none() && !v.present("kind") {
        v.error("kind", "is required");
    }
    let merchant = v.text("merchant", 200);
    let merchant_category = v.pattern("merchant_category", 4, |s| {
        s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())
    });
    let country = v.country();
    let channel = v.choice("channel", CHANNELS);
    let device_id = v.text("device_id", 128);
    let ip = v.ip();
    let email = v.email();
    let description = v.long_text("description", 1000);
    let category = v.text("category", 64);
    let department = v.text("department", 64);
    let submitted_by = v.text("submitted_by", 128);
    let metadata = v.metadata();
    match (
        external_id,
        account_ref,
        currency,
        amount_minor,
        occurred,
        kind,
    ) {
        (
            Some(external_id),
            Some(account_ref),
            Some(currency),
            Some(amount_minor),
            Some(t),
            Some(kind),
        ) if errors.is_empty() => Ok(NewTransaction {
            external_id,
            account_ref,
            amount_minor,
            currency: currency.code,
            occurred_at: t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            occurred_ms: t.timestamp_millis(),
            kind,
            merchant,
            merchant_category,
            country,
            channel,
            device_id,
            ip,
            email,
            description,
            category,
            department,
            submitted_by,
            metadata,
        }),
        _ => {
            if errors.is_empty() {
                errors.push(FieldError::new("body", "is invalid"));
            }
            Err(errors)
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

struct Validator<'a> {
    obj: &'a Map<String, Value>,
    errors: &'a mut Vec<FieldError>,
}

impl Validator<'_> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    fn present(&self, field: &str) -> bool {
        self.obj.get(field).is_some_and(|v| !v.is_null())
    }

    /// The string value of an optional field; wrong types are reported.
    fn string(&mut self, field: &str) -> Option<&str> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.errors.push(FieldError::new(field, "must be a string"));
                None
            }
        }
    }

    fn checked(&mut self, field: &str, max: usize, allow_newlines: bool) -> Option<String> {
        let s = self.string(field)?.to_owned();
        let trimmed = s.trim();
        if trimmed.is_empty() {
            self.error(field, "must not be empty");
            return None;
        }
        if trimmed.chars().count() > max {
            self.error(field, format!("must be at most {max} characters"));
            return None;
        }
        let bad_control = trimmed
            .chars()
            .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\t' | '\r')));
        if bad_control {
            self.error(field, "must not contain control characters");
            return None;
        }
        Some(trimmed.to_owned())
    }

    fn text(&mut self, field: &str, max: usize) -> Option<String> {
        self.checked(field, max, false)
    }

    fn long_text(&mut self, field: &str, max: usize) -> Option<String> {
        self.checked(field, max, true)
    }

    fn required_text(&mut self, field: &str, max: usize) -> Option<String> {
        if !self.present(field) {
            self.error(field, "is required");
            return None;
        }
        self.text(field, max)
    }

    fn pattern(&mut self, field: &str, max: usize, ok: impl Fn(&str) -> bool) -> Option<String> {
        let s = self.text(field, max.max(1) * 4)?;
        if ok(&s) {
            Some(s)
        } else {
            self.error(field, "has the wrong format");
            None
        }
    }

    fn choice(&mut self, field: &str, allowed: &[&'static str]) -> Option<&'static str> {
        let s = self.string(field)?.to_owned();
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Some(*a),
            None => {
                self.error(field, format!("must be one of {}", allowed.join(", ")));
                None
            }
        }
    }

    fn currency(&mut self) -> Option<Currency> {
        if !self.present("currency") {
            self.error("currency", "is required");
            return None;
        }
        let s = self.string("currency")?.to_owned();
        match Currency::parse(&s) {
            Some(c) => Some(c),
            None => {
                self.error("currency", "must be an assigned upper-case ISO 4217 code");
                None
            }
        }
    }

    fn amount(&mut self, currency: Option<Currency>) -> Option<i64> {
        let Some(value) = self.obj.get("amount").filter(|v| !v.is_null()) else {
            self.error("amount", "is required");
            return None;
        };
        // Without a valid currency the digits cannot be checked; parse against two digits to
        // still report a malformed amount.
        let c = currency.unwrap_or(Currency {
            code: "USD",
            minor_digits: 2,
        });
        match money::parse_json_amount(value, c) {
            Ok(minor) => Some(minor),
            Err(money::AmountError::TooPrecise(_)) if currency.is_none() => None,
            Err(e) => {
                self.error("amount", e.to_string());
                None
            }
        }
    }

    fn occurred_at(&mut self) -> Option<DateTime<Utc>> {
        if !self.present("occurred_at") {
            self.error("occurred_at", "is required");
            return None;
        }
        let s = self.string("occurred_at")?.to_owned();
        if s.len() > 40 {
            self.error("occurred_at", "must be an RFC 3339 timestamp");
            return None;
        }
        match DateTime::parse_from_rfc3339(&s) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                if t.year() < 1970 {
                    self.error("occurred_at", "must not be before 1970");
                    None
                } else if t > Utc::now() + chrono::Duration::days(1) {
                    self.error("occurred_at", "must not be more than a day in the future");
                    None
                } else {
                    Some(t)
                }
            }
            Err(_) => {
                self.error("occurred_at", "must be an RFC 3339 timestamp");
                None
            }
        }
    }

    fn country(&mut self) -> Option<String> {
        let s = self.text("country", 8)?;
        if crate::scoring::geo::is_country(&s) {
            Some(s)
        } else {
            self.error("country", "must be an ISO 3166-1 alpha-2 code such as DE");
            None
        }
    }

    fn ip(&mut self) -> Option<String> {
        let s = self.text("ip", 64)?;
        match s.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip.to_string()),
            Err(_) => {
                self.error("ip", "must be an IPv4 or IPv6 address");
                None
            }
        }
    }

    fn email(&mut self) -> Option<String> {
        let s = self.text("email", 254)?;
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Some(s)
        } else {
            self.error("email", "must be an email address");
            None
        }
    }

    fn metadata(&mut self) -> Option<Map<String, Value>> {
        match self.obj.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let size = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
                if size > METADATA_MAX_BYTES {
                    self.error("metadata", "must be at most 8 KiB");
                    None
                } else {
                    Some(m.clone())
                }
            }
            Some(_) => {
                self.error("metadata", "must be a JSON object");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "external_id": "t-1", "account_id": "acc-1", "amount": "125.50", "currency": "USD",
            "occurred_at": "2026-01-05T10:00:00Z", "kind": "payment", "merchant": "Shop",
            "merchant_category": "5411", "country": "DE", "channel": "online",
            "device_id": "d1", "ip": "10.0.0.1", "email": "a@example.com",
            "metadata": {"k": 1}
        })
    }

    fn fields(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_complete_transaction_validates_into_minor_units() {
        let t = validate(&good(), Defaults::default()).unwrap();
        assert_eq!(t.amount_minor, 12550);
        assert_eq!(t.currency, "USD");
        assert_eq!(t.occurred_at, "2026-01-05T10:00:00.000Z");
        assert_eq!(t.email_domain().as_deref(), Some("example.com"));
    }

    #[test]
    fn equivalent_payloads_hash_the_same_and_different_ones_do_not() {
        let a = validate(&good(), Defaults::default()).unwrap();
        let mut v = good();
        v["amount"] = json!(125.5);
        v["occurred_at"] = json!("2026-01-05T11:00:00+01:00");
        let b = validate(&v, Defaults::default()).unwrap();
        assert_eq!(a.payload_hash(), b.payload_hash());
        v["amount"] = json!(125.51);
        let c = validate(&v, Defaults::default()).unwrap();
        assert_ne!(a.payload_hash(), c.payload_hash());
    }

    #[test]
    fn every_bad_field_is_named() {
        let v = json!({
            "external_id": "", "account_id": 5, "amount": "1.234", "currency": "usd",
            "occurred_at": "yesterday", "kind": "gift", "merchant_category": "54",
            "country": "XX", "channel": "pigeon", "ip": "999.1.1.1", "email": "nope",
            "metadata": [1], "evil": "<script>"
        });
        let mut got = fields(validate(&v, Defaults::default()).unwrap_err());
        got.sort();
        let mut want = vec![
            "external_id",
            "account_id",
            "currency",
            "occurred_at",
            "kind",
            "merchant_category",
            "country",
            "channel",
            "ip",
            "email",
            "metadata",
            "evil",
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn missing_required_fields_are_each_reported() {
        let got = fields(validate(&json!({}), Defaults::default()).unwrap_err());
        for f in [
            "external_id",
            "account_id",
            "amount",
            "currency",
            "occurred_at",
            "kind",
        ] {
            assert!(got.contains(&f.to_string()), "{f} in {got:?}");
        }
    }

    #[test]
    fn length_caps_control_characters_and_huge_metadata_are_refused() {
        let mut v = good();
        v["merchant"] = json!("x".repeat(201));
        v["device_id"] = json!("a\u{0000}b");
        v["metadata"] = json!({"blob": "y".repeat(9000)});
        v["amount"] = json!("1e9");
        let got = fields(validate(&v, Defaults::default()).unwrap_err());
        assert_eq!(got, vec!["amount", "merchant", "device_id", "metadata"]);
    }

    #[test]
    fn expense_defaults_fill_the_kind_and_unicode_text_is_kept() {
        let mut v = good();
        v.as_object_mut().unwrap().remove("kind");
        v["description"] = json!("Café ☕ — lunch\nwith client");
        let t = validate(
            &v,
            Defaults {
                kind: Some("expense"),
            },
        )
        .unwrap();
        assert_eq!(t.kind, "expense");
        assert!(t.description.unwrap().contains('☕'));
    }

    #[test]
    fn far_future_and_pre_epoch_times_are_refused() {
        let mut v = good();
        v["occurred_at"] = json!("2999-01-01T00:00:00Z");
        assert_eq!(
            fields(validate(&v, Defaults::default()).unwrap_err()),
            vec!["occurred_at"]
        );
        v["occurred_at"] = json!("1960-01-01T00:00:00Z");
        assert_eq!(
            fields(validate(&v, Defaults::default()).unwrap_err()),
            vec!["occurred_at"]
        );
    }
}
