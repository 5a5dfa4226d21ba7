//! Budget types and the validation of create and update requests (no I/O).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::period::Period;
use crate::http::error::FieldError;
use crate::money::{self, Currency};

/// Longest budget name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest category or department filter.
pub const MAX_FILTER_CHARS: usize = 100;
/// Most thresholds per budget.
pub const MAX_THRESHOLDS: usize = 10;
/// Thresholds used when a budget gives none.
pub const DEFAULT_THRESHOLDS: [f64; 2] = [0.8, 1.0];

/// A stored budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub id: String,
    pub name: String,
    pub category: Option<String>,
    pub department: Option<String>,
    pub period: Period,
    pub limit_minor: i64,
    pub currency: String,
    /// Fractions of the limit, ascending, each in (0, 10].
    pub thresholds: Vec<f64>,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /api/v1/budgets` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBudget {
    pub name: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    pub period: String,
    pub limit: Value,
    pub currency: String,
    #[serde(default)]
    pub thresholds: Option<Vec<Value>>,
}

/// `PATCH /api/v1/budgets/{id}` body: absent fields stay; `category` and `department` may be
/// set to `null` to remove the filter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBudget {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub department: Option<Option<String>>,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub limit: Option<Value>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub thresholds: Option<Vec<Value>>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The validated fields of a budget (what create and update both produce).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetFields {
    pub name: String,
    pub category: Option<String>,
    pub department: Option<String>,
    pub period: Period,
    pub limit_minor: i64,
    pub currency: String,
    pub thresholds: Vec<f64>,
}

impl CreateBudget {
    /// Validates every field, listing every problem.
    pub fn validate(self) -> Result<BudgetFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = check_name(&self.name, &mut errors);
        let category = check_filter("category", self.category, &mut errors);
        let department = check_filter("department", self.department, &mut errors);
        let period = check_period(&self.period, &mut errors);
        let (limit_minor, currency) = check_money(&self.limit, &self.currency, &mut errors);
        let thresholds = match self.thresholds {
            Some(t) => check_thresholds(&t, &mut errors),
            None => DEFAULT_THRESHOLDS.to_vec(),
        };
        match (period, errors.is_empty()) {
            (Some(period), true) => Ok(BudgetFields {
                name,
                category,
                department,
                period,
                limit_minor,
                currency,
                thresholds,
            }),
            _ => Err(errors),
        }
    }
}

impl UpdateBudget {
    /// Applies the update to `current`, validating what changes.
    pub fn apply(self, current: &Budget) -> Result<BudgetFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = match &self.name {
            Some(n) => check_name(n, &mut errors),
            None => current.name.clone(),
        };
        let category = match self.category {
            Some(c) => check_filter("category", c, &mut errors),
            None => current.category.clone(),
        };
        let department = match self.department {
            Some(d) => check_filter("department", d, &mut errors),
            None => current.department.clone(),
        };
        let period = match &self.period {
            Some(p) => check_period(p, &mut errors),
            None => Some(current.period),
        };
        let currency_text = self
            .currency
            .clone()
            .unwrap_or_else(|| current.currency.clone());
        let (limit_minor, currency) = match (&self.limit, &self.currency) {
            (None, None) => (current.limit_minor, current.currency.clone()),
            (Some(limit), _) => check_money(limit, &currency_text, &mut errors),
            (None, Some(_)) => {
                // Re-read the current limit in the new currency (its digits may differ).
                let digits = Currency::parse(&current.currency)
                    .map(|c| c.minor_digits)
                    .unwrap_or(2);
                let text = money::format_minor(current.limit_minor, digits);
                check_money(&Value::String(text), &currency_text, &mut errors)
            }
        };
        let thresholds = match &self.thresholds {
            Some(t) => check_thresholds(t, &mut errors),
            None => current.thresholds.clone(),
        };
        match (period, errors.is_empty()) {
            (Some(period), true) => Ok(BudgetFields {
                name,
                category,
                department,
                period,
                limit_minor,
                currency,
                thresholds,
            }),
            _ => Err(errors),
        }
    }
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        errors.push(FieldError::new("name", "must not be empty"));
    } else if trimmed.chars().count() > MAX_NAME_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    } else if trimmed.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "must not contain control characters",
        ));
    }
    trimmed.to_owned()
}

fn check_filter(
    field: &str,
    value: Option<String>,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let v = value?.trim().to_owned();
    if v.is_empty() {
        return None;
    }
    if v.chars().count() > MAX_FILTER_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_FILTER_CHARS} characters"),
        ));
    } else if v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Some(v)
}

fn check_period(period: &str, errors: &mut Vec<FieldError>) -> Option<Period> {
    let p = Period::parse(period);
    if p.is_none() {
        errors.push(FieldError::new(
            "period",
            "must be monthly, quarterly or yearly",
        ));
    }
    p
}

fn check_money(limit: &Value, currency: &str, errors: &mut Vec<FieldError>) -> (i64, String) {
    let Some(cur) = Currency::parse(currency) else {
        errors.push(FieldError::new(
            "currency",
            "must be an assigned upper-case ISO 4217 code",
        ));
        return (0, currency.to_owned());
    };
    match money::parse_json_amount(limit, cur) {
        Ok(minor) => (minor, cur.code.to_owned()),
        Err(e) => {
            errors.push(FieldError::new("limit", e.to_string()));
            (0, cur.code.to_owned())
        }
    }
}

fn check_thresholds(values: &[Value], errors: &mut Vec<FieldError>) -> Vec<f64> {
    if values.is_empty() || values.len() > MAX_THRESHOLDS {
        errors.push(FieldError::new(
            "thresholds",
            format!("must list between 1 and {MAX_THRESHOLDS} fractions of the limit"),
        ));
        return Vec::new();
    }
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match v.as_f64() {
            Some(t) if t > 0.0 && t <= 10.0 => {
                // Thresholds are kept to three decimals: they name alert keys.
                out.push((t * 1000.0).round() / 1000.0);
            }
            _ => errors.push(FieldError::new(
                format!("thresholds[{i}]"),
                "must be a number greater than 0 and at most 10 (1.0 = the whole limit)",
            )),
        }
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

/// How much of a budget is used in its current period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub period_key: String,
    pub period_start: String,
    pub period_end: String,
    pub spent_minor: i64,
    pub remaining_minor: i64,
    pub projected_minor: i64,
}

/// Projects end-of-period spend at the pace so far: `spent × period length ÷ elapsed`.
/// Integer arithmetic throughout (money never becomes a float).
pub fn project(spent_minor: i64, start_ms: i64, end_ms: i64, now_ms: i64) -> i64 {
    let total = i128::from((end_ms - start_ms).max(1));
    let elapsed = i128::from((now_ms - start_ms).clamp(1, end_ms - start_ms).max(1));
    let projected = i128::from(spent_minor) * total / elapsed;
    i64::try_from(projected).unwrap_or(i64::MAX)
}

/// True when `spent` has reached `threshold × limit` (exact: thresholds have three decimals).
pub fn crossed(spent_minor: i64, limit_minor: i64, threshold: f64) -> bool {
    let milli = (threshold * 1000.0).round() as i128;
    i128::from(spent_minor) * 1000 >= milli * i128::from(limit_minor)
}

/// A threshold as the text stored in `budget_crossings` (`0.8`, `1`, `1.25`).
pub fn threshold_key(threshold: f64) -> String {
    let s = format!("{threshold:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(v: Value) -> Result<BudgetFields, Vec<FieldError>> {
        serde_json::from_value::<CreateBudget>(v)
            .unwrap()
            .validate()
    }

    #[test]
    fn a_valid_budget_gets_default_thresholds() {
        let b = create(
            json!({"name":" Travel ","period":"monthly","limit":"1000.50","currency":"EUR"}),
        )
        .unwrap();
        assert_eq!(b.name, "Travel");
        assert_eq!(b.limit_minor, 100_050);
        assert_eq!(b.thresholds, vec![0.8, 1.0]);
    }

    #[test]
    fn every_bad_field_is_listed() {
        let e = create(json!({"name":"","period":"weekly","limit":"1.234","currency":"usd","thresholds":[0, "x", 11]})).unwrap_err();
        let fields: Vec<_> = e.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "name",
            "period",
            "currency",
            "thresholds[0]",
            "thresholds[1]",
            "thresholds[2]",
        ] {
            assert!(fields.contains(&f), "{fields:?}");
        }
        let e = create(json!({"name":"x","period":"monthly","limit":"1.234","currency":"USD"}))
            .unwrap_err();
        assert_eq!(e[0].field, "limit");
        let e =
            create(json!({"name":"x","period":"monthly","limit":-5,"currency":"USD"})).unwrap_err();
        assert_eq!(e[0].field, "limit");
    }

    #[test]
    fn thresholds_are_sorted_and_deduplicated() {
        let b = create(json!({"name":"x","period":"yearly","limit":10,"currency":"JPY","thresholds":[1.0,0.5,0.5]})).unwrap();
        assert_eq!(b.thresholds, vec![0.5, 1.0]);
        assert_eq!(b.limit_minor, 10);
    }

    #[test]
    fn projection_extrapolates_the_pace_with_integers() {
        assert_eq!(project(100, 0, 30, 10), 300);
        assert_eq!(project(100, 0, 30, 30), 100);
        assert_eq!(project(100, 0, 30, 0), 3000);
        assert_eq!(project(i64::MAX, 0, 1000, 1), i64::MAX);
    }

    #[test]
    fn crossing_is_exact_at_the_boundary() {
        assert!(crossed(80, 100, 0.8));
        assert!(!crossed(79, 100, 0.8));
        assert!(crossed(100_000, 100_000, 1.0));
        assert_eq!(threshold_key(0.8), "0.8");
        assert_eq!(threshold_key(1.0), "1");
        assert_eq!(threshold_key(1.25), "1.25");
    }

    #[test]
    fn update_can_clear_a_filter_and_change_currency() {
        let current = Budget {
            id: "b".into(),
            name: "n".into(),
            category: Some("travel".into()),
            department: None,
            period: Period::Monthly,
            limit_minor: 1000,
            currency: "USD".into(),
            thresholds: vec![1.0],
            created_at: String::new(),
            updated_at: String::new(),
        };
        let u: UpdateBudget =
            serde_json::from_value(json!({"category": null, "currency": "JPY"})).unwrap();
        let f = u.apply(&current).unwrap();
        assert_eq!(f.category, None);
        assert_eq!(f.currency, "JPY");
        assert_eq!(f.limit_minor, 10);
        let u: UpdateBudget = serde_json::from_value(json!({"name": "m"})).unwrap();
        assert_eq!(
            u.apply(&current).unwrap().category.as_deref(),
            Some("travel")
        );
    }
}
