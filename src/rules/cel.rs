//! Rules as CEL expressions (the `cel` crate): compiling, validating (syntax, then a dry run
//! against a sample transaction so a misspelt variable is caught on save), and evaluating a
//! compiled rule set against one transaction's variables.
//!
//! The variables a rule sees are documented in `docs/rules.md`: `txn`, `account`,
//! `velocity`, `features` and the function `lists.contains(name, value)`.

use std::collections::HashMap;
use std::sync::Arc;

use cel::{Context, ExecutionError, Program, Value};
use serde::Serialize;

use crate::lists::ListSet;
use crate::scoring::model::FeatureVector;
use crate::transactions::NewTransaction;

/// Longest accepted expression.
pub const MAX_EXPRESSION_CHARS: usize = 4096;

/// A problem with an expression; `position` is the 0-based character offset when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpressionError {
    pub message: String,
    pub position: Option<usize>,
}

/// What a rule knows about the account.
#[derive(Debug, Clone, Default)]
pub struct AccountFacts {
    pub status: &'static str,
    pub txn_count: u64,
    pub mean_amount: f64,
    pub known_devices: u64,
    pub known_countries: u64,
}

/// Everything one evaluation reads.
pub struct Variables<'a> {
    pub txn: &'a NewTransaction,
    pub features: &'a FeatureVector,
    pub account: AccountFacts,
    pub lists: Arc<ListSet>,
}

fn offset_of(expr: &str, line: isize, column: isize) -> Option<usize> {
    if line < 1 || column < 0 {
        return None;
    }
    let mut offset = 0;
    for (i, l) in expr.split('\n').enumerate() {
        if i + 1 == line as usize {
            return Some(offset + (column as usize).min(l.chars().count()));
        }
        offset += l.chars().count() + 1;
    }
    None
}

/// Parses an expression.
pub fn compile(expr: &str) -> Result<Program, Vec<ExpressionError>> {
    if expr.trim().is_empty() {
        return Err(vec![ExpressionError {
            message: "the expression is empty".into(),
            position: Some(0),
        }]);
    }
    if expr.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(vec![ExpressionError {
            message: format!("the expression is longer than {MAX_EXPRESSION_CHARS} characters"),
            position: Some(MAX_EXPRESSION_CHARS),
        }]);
    }
    Program::compile(expr).map_err(|errs| {
        errs.errors
            .iter()
            .map(|e| ExpressionError {
                message: e.msg.clone(),
                position: offset_of(expr, e.pos.0, e.pos.1),
            })
            .collect()
    })
}

/// Compiles and dry-runs an expression against a sample transaction; an empty result means
/// the expression is valid.
pub fn validate(expr: &str) -> Vec<ExpressionError> {
    let program = match compile(expr) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let sample = sample_transaction();
    let features = FeatureVector::new();
    let vars = Variables {
        txn: &sample,
        features: &features,
        account: AccountFacts {
            status: "active",
            ..Default::default()
        },
        lists: Arc::new(ListSet::default()),
    };
    let ctx = context(&vars, true);
    match program.execute(&ctx) {
        Ok(Value::Bool(_)) => Vec::new(),
        Ok(other) => vec![ExpressionError {
            message: format!(
                "the expression must evaluate to a boolean, not {}",
                other.type_of()
            ),
            position: None,
        }],
        Err(e @ (ExecutionError::UndeclaredReference(_) | ExecutionError::NoSuchKey(_))) => {
            vec![ExpressionError {
                message: format!("{e}; see docs/rules.md for the variables"),
                position: None,
            }]
        }
        Err(e @ ExecutionError::NoSuchOverload(_)) => vec![ExpressionError {
            message: format!("{e} (counts are int, amounts and features are double)"),
            position: None,
        }],
        // Runtime errors that depend on data (division by zero, …) are fine at save time.
        Err(_) => Vec::new(),
    }
}

/// True when `program` holds for these variables; evaluation errors count as "no match".
pub fn matches(program: &Program, ctx: &Context) -> bool {
    matches!(program.execute(ctx), Ok(Value::Bool(true)))
}

fn s(v: &Option<String>) -> Value {
    Value::from(v.clone().unwrap_or_default())
}

/// Builds the evaluation context. `complete_features` fills every feature name with 0 so a
/// dry run accepts any documented feature.
pub fn context<'a>(vars: &Variables<'_>, complete_features: bool) -> Context<'a, 'a> {
    let t = vars.txn;
    let (hour, weekday) = t.hour_and_weekday();
    let mut txn: HashMap<String, Value> = HashMap::with_capacity(24);
    txn.insert("external_id".into(), t.external_id.clone().into());
    txn.insert("account_id".into(), t.account_ref.clone().into());
    txn.insert("amount".into(), Value::Float(t.amount_major()));
    txn.insert("amount_minor".into(), Value::Int(t.amount_minor));
    txn.insert("currency".into(), t.currency.to_string().into());
    txn.insert("kind".into(), t.kind.to_string().into());
    txn.insert("occurred_at".into(), t.occurred_at.clone().into());
    txn.insert("hour".into(), Value::Int(i64::from(hour)));
    txn.insert("weekday".into(), Value::Int(i64::from(weekday)));
    txn.insert("merchant".into(), s(&t.merchant));
    txn.insert("merchant_category".into(), s(&t.merchant_category));
    txn.insert("country".into(), s(&t.country));
    txn.insert(
        "channel".into(),
        t.channel.unwrap_or_default().to_string().into(),
    );
    txn.insert("device_id".into(), s(&t.device_id));
    txn.insert("ip".into(), s(&t.ip));
    txn.insert("email".into(), s(&t.email));
    txn.insert("email_domain".into(), s(&t.email_domain()));
    txn.insert("description".into(), s(&t.description));
    txn.insert("category".into(), s(&t.category));
    txn.insert("department".into(), s(&t.department));
    txn.insert("submitted_by".into(), s(&t.submitted_by));
    let metadata: Value = t
        .metadata
        .as_ref()
        .and_then(|m| cel::to_value(m).ok())
        .unwrap_or_else(|| Value::from(HashMap::<String, Value>::new()));
    txn.insert("metadata".into(), metadata);

    let a = &vars.account;
    let mut account: HashMap<String, Value> = HashMap::with_capacity(8);
    account.insert("id".into(), t.account_ref.clone().into());
    account.insert("status".into(), a.status.to_string().into());
    account.insert("frozen".into(), Value::Bool(a.status == "frozen"));
    account.insert("txn_count".into(), Value::Int(a.txn_count as i64));
    account.insert("mean_amount".into(), Value::Float(a.mean_amount));
    account.insert("known_devices".into(), Value::Int(a.known_devices as i64));
    account.insert(
        "known_countries".into(),
        Value::Int(a.known_countries as i64),
    );

    let mut features: HashMap<String, Value> = HashMap::with_capacity(64);
    if complete_features {
        for name in crate::scoring::FEATURE_NAMES {
            features.insert((*name).to_owned(), Value::Float(0.0));
        }
    }
    let mut velocity: HashMap<String, Value> = HashMap::with_capacity(24);
    for name in crate::scoring::FEATURE_NAMES {
        let value = vars.features.get(*name).copied().unwrap_or(0.0);
        if let Some(base) = name.strip_suffix("_count") {
            if !base.starts_with("account_txn") {
                velocity.insert(base.to_owned(), Value::Int(value as i64));
            }
        } else if name.ends_with("_sum") || name.ends_with("_avg") {
            velocity.insert((*name).to_owned(), Value::Float(value));
        }
    }
    for (k, v) in vars.features {
        features.insert(k.clone(), Value::Float(*v));
    }

    let mut ctx = Context::with_env(stdlib());
    ctx.add_variable_from_value("txn", txn);
    ctx.add_variable_from_value("account", account);
    ctx.add_variable_from_value("velocity", velocity);
    ctx.add_variable_from_value("features", features);
    let lists = vars.lists.clone();
    let _ = ctx.add_function(
        "lists.contains",
        move |name: Arc<String>, value: Arc<String>| -> bool { lists.contains(&name, &value) },
    );
    ctx
}

/// The CEL standard environment, built once: building it registers every standard overload,
/// far too costly to repeat per transaction.
fn stdlib() -> Arc<cel::Env> {
    static ENV: std::sync::OnceLock<Arc<cel::Env>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| Arc::new(cel::Env::stdlib())).clone()
}

fn sample_transaction() -> NewTransaction {
    NewTransaction {
        external_id: "sample".into(),
        account_ref: "sample".into(),
        amount_minor: 100,
        currency: "USD",
        occurred_at: "2026-01-01T00:00:00.000Z".into(),
        occurred_ms: 1_767_225_600_000,
        kind: "payment",
        merchant: None,
        merchant_category: None,
        country: None,
        channel: None,
        device_id: None,
        ip: None,
        email: None,
        description: None,
        category: None,
        department: None,
        submitted_by: None,
        metadata: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars_for(t: &NewTransaction, f: &FeatureVector, lists: ListSet) -> Variables<'static> {
        // Leak in tests only, to keep the borrow simple.
        let t: &'static NewTransaction = Box::leak(Box::new(t.clone()));
        let f: &'static FeatureVector = Box::leak(Box::new(f.clone()));
        Variables {
            txn: t,
            features: f,
            account: AccountFacts {
                status: "active",
                txn_count: 7,
                ..Default::default()
            },
            lists: Arc::new(lists),
        }
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let errs = validate("txn.amount > ");
        assert!(!errs.is_empty());
        assert!(errs[0].position.is_some(), "{errs:?}");
        let errs = validate("txn.amount > 10 &&\n  (");
        assert!(!errs.is_empty());
    }

    #[test]
    fn misspelt_variables_and_non_boolean_results_are_refused() {
        assert!(!validate("txn.amout > 10.0").is_empty());
        assert!(!validate("transaction.amount > 10.0").is_empty());
        assert!(!validate("txn.amount + 1.0").is_empty());
        assert!(!validate("").is_empty());
        assert!(!validate(&"1 == 1 && ".repeat(1000)).is_empty());
    }

    #[test]
    fn documented_variables_validate() {
        for expr in [
            "txn.amount > 100.0 && txn.amount_minor > 10000",
            "velocity.account_1h >= 5 && velocity.account_24h_sum > 10.0",
            "features.new_device > 0.0 && account.txn_count > 3",
            "txn.merchant_category in ['7995', '6051']",
            "lists.contains('blocked_countries', txn.country)",
            "txn.weekday >= 5 && txn.kind == 'expense'",
            "has(txn.metadata.k) || true",
        ] {
            assert_eq!(validate(expr), Vec::new(), "{expr}");
        }
    }

    #[test]
    fn rules_evaluate_against_a_transaction_and_lists() {
        let mut t = sample_transaction();
        t.amount_minor = 12550;
        t.country = Some("KP".into());
        let mut f = FeatureVector::new();
        f.insert("account_1h_count".into(), 6.0);
        let mut lists = ListSet::default();
        lists.lists.insert(
            "bad_countries".into(),
            crate::lists::ListEntry {
                kind: "country".into(),
                mode: "block".into(),
                items: ["KP".to_string()].into_iter().collect(),
            },
        );
        let vars = vars_for(&t, &f, lists);
        let ctx = context(&vars, false);
        let yes = |e: &str| matches(&compile(e).unwrap(), &ctx);
        assert!(yes("txn.amount == 125.5"));
        assert!(yes("txn.amount_minor == 12550"));
        assert!(yes("velocity.account_1h >= 5"));
        assert!(yes("lists.contains('bad_countries', txn.country)"));
        assert!(!yes("lists.contains('bad_countries', 'DE')"));
        assert!(!yes("lists.contains('no_such_list', txn.country)"));
        assert!(
            !yes("txn.amount / 0.0 > 1.0 && txn.nope"),
            "errors do not match"
        );
    }
}
