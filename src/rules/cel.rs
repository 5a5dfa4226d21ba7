//! Rules as CEL expressions (the `cel` crate): compiling, validating (syntax, then a dry run
//! against a sample transaction so a misspelt variable is caught on save), and evaluating a
//! compiled rule set against one transaction's variables.
//!
//! The variables a rule sees are documented in `docs/rules.md`: `txn`, `account`,
//! `velocity`, `features` and the function `lists.contains(name, value)`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cel::{Context, ExecutionError, IdedExpr, Program, Value};
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
    let ctx = context(&vars, &Needs::all(), true);
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

/// How much of one map variable (`txn`, `account`, `velocity`, `features`) the rules read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Need {
    /// No rule mentions the variable.
    #[default]
    Nothing,
    /// Only these fields are ever selected (`txn.amount`, `has(txn.country)`).
    Fields(HashSet<String>),
    /// The map is used whole (indexed, iterated, passed to a function): every field.
    All,
}

impl Need {
    fn wants(&self, field: &str) -> bool {
        match self {
            Need::Nothing => false,
            Need::Fields(f) => f.contains(field),
            Need::All => true,
        }
    }

    fn add(&mut self, field: &str) {
        match self {
            Need::All => {}
            Need::Fields(f) => {
                f.insert(field.to_owned());
            }
            Need::Nothing => *self = Need::Fields(HashSet::from([field.to_owned()])),
        }
    }
}

/// What a set of compiled rules reads, so the per-transaction context holds only that:
/// building all ~90 entries for every transaction was the largest cost of scoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub txn: Need,
    pub account: Need,
    pub velocity: Need,
    pub features: Need,
}

impl Needs {
    /// Everything (validation dry runs, backtests of a single expression).
    pub fn all() -> Self {
        Self {
            txn: Need::All,
            account: Need::All,
            velocity: Need::All,
            features: Need::All,
        }
    }

    /// What `programs` read: a field selected directly on a map variable needs that field;
    /// any other use of the variable needs the whole map. A superset is always safe.
    pub fn of<'p>(programs: impl IntoIterator<Item = &'p Program>) -> Self {
        let mut needs = Self::default();
        for p in programs {
            needs.visit(p.expression());
        }
        needs
    }

    fn slot(&mut self, name: &str) -> Option<&mut Need> {
        match name {
            "txn" => Some(&mut self.txn),
            "account" => Some(&mut self.account),
            "velocity" => Some(&mut self.velocity),
            "features" => Some(&mut self.features),
            _ => None,
        }
    }

    fn visit(&mut self, e: &IdedExpr) {
        use cel::common::ast::Expr;
        match &e.expr {
            Expr::Select(sel) => {
                let map = match &sel.operand.expr {
                    Expr::Ident(name) => self.slot(name),
                    _ => None,
                };
                match map {
                    Some(slot) => slot.add(&sel.field),
                    None => self.visit(&sel.operand),
                }
            }
            Expr::Ident(name) => {
                if let Some(slot) = self.slot(name) {
                    *slot = Need::All;
                }
            }
            Expr::Call(call) => {
                if let Some(target) = &call.target {
                    self.visit(target);
                }
                call.args.iter().for_each(|a| self.visit(a));
            }
            Expr::Comprehension(c) => {
                for part in [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ] {
                    self.visit(part);
                }
            }
            Expr::List(list) => list.elements.iter().for_each(|x| self.visit(x)),
            Expr::Map(map) => map.entries.iter().for_each(|x| self.visit_entry(&x.expr)),
            Expr::Struct(st) => st.entries.iter().for_each(|x| self.visit_entry(&x.expr)),
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }

    fn visit_entry(&mut self, entry: &cel::common::ast::EntryExpr) {
        use cel::common::ast::EntryExpr;
        match entry {
            EntryExpr::StructField(f) => self.visit(&f.value),
            EntryExpr::MapEntry(m) => {
                self.visit(&m.key);
                self.visit(&m.value);
            }
        }
    }
}

/// A map variable filled with only the fields its [`Need`] asks for; values are built
/// only when wanted.
struct Fields<'n> {
    need: &'n Need,
    map: HashMap<String, Value>,
}

impl<'n> Fields<'n> {
    fn new(need: &'n Need) -> Self {
        let capacity = match need {
            Need::Nothing => 0,
            Need::Fields(f) => f.len(),
            Need::All => 32,
        };
        Self {
            need,
            map: HashMap::with_capacity(capacity),
        }
    }

    fn put(&mut self, key: &str, value: impl FnOnce() -> Value) {
        if self.need.wants(key) {
            self.map.insert(key.to_owned(), value());
        }
    }

    fn text(&mut self, key: &str, value: &Option<String>) {
        self.put(key, || Value::from(value.clone().unwrap_or_default()));
    }

    fn bind(self, ctx: &mut Context<'_, '_>, name: &str) {
        if *self.need != Need::Nothing {
            ctx.add_variable_from_value(name, self.map);
        }
    }
}

/// Builds the evaluation context with what `needs` asks for. `complete_features` fills
/// every feature name with 0 so a dry run accepts any documented feature.
pub fn context<'a>(
    vars: &Variables<'_>,
    needs: &Needs,
    complete_features: bool,
) -> Context<'a, 'a> {
    let t = vars.txn;
    let (hour, weekday) = t.hour_and_weekday();
    let mut txn = Fields::new(&needs.txn);
    txn.put("external_id", || t.external_id.clone().into());
    txn.put("account_id", || t.account_ref.clone().into());
    txn.put("amount", || Value::Float(t.amount_major()));
    txn.put("amount_minor", || Value::Int(t.amount_minor));
    txn.put("currency", || t.currency.to_string().into());
    txn.put("kind", || t.kind.to_string().into());
    txn.put("occurred_at", || t.occurred_at.clone().into());
    txn.put("hour", || Value::Int(i64::from(hour)));
    txn.put("weekday", || Value::Int(i64::from(weekday)));
    txn.text("merchant", &t.merchant);
    txn.text("merchant_category", &t.merchant_category);
    txn.text("country", &t.country);
    txn.put("channel", || {
        t.channel.unwrap_or_default().to_string().into()
    });
    txn.text("device_id", &t.device_id);
    txn.text("ip", &t.ip);
    txn.text("email", &t.email);
    txn.text("email_domain", &t.email_domain());
    txn.text("description", &t.description);
    txn.text("category", &t.category);
    txn.text("department", &t.department);
    txn.text("submitted_by", &t.submitted_by);
    txn.put("metadata", || {
        t.metadata
            .as_ref()
            .and_then(|m| cel::to_value(m).ok())
            .unwrap_or_else(|| Value::from(HashMap::<String, Value>::new()))
    });

    let a = &vars.account;
    let mut account = Fields::new(&needs.account);
    account.put("id", || t.account_ref.clone().into());
    account.put("status", || a.status.to_string().into());
    account.put("frozen", || Value::Bool(a.status == "frozen"));
    account.put("txn_count", || Value::Int(a.txn_count as i64));
    account.put("mean_amount", || Value::Float(a.mean_amount));
    account.put("known_devices", || Value::Int(a.known_devices as i64));
    account.put("known_countries", || Value::Int(a.known_countries as i64));

    let mut features = Fields::new(&needs.features);
    if complete_features {
        for name in crate::scoring::FEATURE_NAMES {
            features.put(name, || Value::Float(0.0));
        }
    }
    let mut velocity = Fields::new(&needs.velocity);
    for name in crate::scoring::FEATURE_NAMES {
        let value = || vars.features.get(*name).copied().unwrap_or(0.0);
        if let Some(base) = name.strip_suffix("_count") {
            if !base.starts_with("account_txn") {
                velocity.put(base, || Value::Int(value() as i64));
            }
        } else if name.ends_with("_sum") || name.ends_with("_avg") {
            velocity.put(name, || Value::Float(value()));
        }
    }
    for (k, v) in vars.features {
        features.put(k, || Value::Float(*v));
    }

    let mut ctx = Context::with_env(stdlib());
    txn.bind(&mut ctx, "txn");
    account.bind(&mut ctx, "account");
    velocity.bind(&mut ctx, "velocity");
    features.bind(&mut ctx, "features");
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
        let ctx = context(&vars, &Needs::all(), false);
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

    #[test]
    fn needs_name_selected_fields_and_fall_back_to_whole_maps() {
        let p = |e: &str| compile(e).unwrap();
        let n = Needs::of([
            &p("txn.amount > 1.0 && has(txn.country) && velocity.account_1h >= 3"),
            &p("features.new_device > 0.0 && has(txn.metadata.k)"),
        ]);
        assert_eq!(
            n.txn,
            Need::Fields(["amount", "country", "metadata"].map(String::from).into())
        );
        assert_eq!(n.velocity, Need::Fields(["account_1h".to_string()].into()));
        assert_eq!(n.account, Need::Nothing);
        let whole = Needs::of([&p("size(features) > 0 && txn['amount'] > 1.0")]);
        assert_eq!((whole.features, whole.txn), (Need::All, Need::All));
        let comprehension = Needs::of([&p("[1, 2].exists(x, x > account.txn_count)")]);
        assert_eq!(
            comprehension.account,
            Need::Fields(["txn_count".to_string()].into())
        );
    }

    #[test]
    fn a_pruned_context_decides_exactly_like_the_full_one() {
        let mut t = sample_transaction();
        t.amount_minor = 450;
        t.country = Some("KP".into());
        t.device_id = Some("d-1".into());
        t.merchant_category = Some("7995".into());
        let mut f = FeatureVector::new();
        for (i, name) in crate::scoring::FEATURE_NAMES.iter().enumerate() {
            f.insert((*name).to_owned(), (i % 4) as f64);
        }
        let vars = vars_for(&t, &f, ListSet::default());
        let full = context(&vars, &Needs::all(), false);
        let mut expressions: Vec<&str> = crate::rules::pack::DEFAULT_PACK
            .iter()
            .map(|r| r.expression)
            .collect();
        expressions.extend([
            "has(txn.email) || txn.country == 'KP'",
            "account.known_devices == 0 && velocity.device_24h_sum >= 0.0",
            "txn.nope > 1",
        ]);
        for expr in expressions {
            let program = compile(expr).unwrap();
            let pruned = context(&vars, &Needs::of([&program]), false);
            assert_eq!(
                matches(&program, &full),
                matches(&program, &pruned),
                "{expr}"
            );
        }
    }
}
