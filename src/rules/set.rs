//! Rule definitions and the compiled, cached rule set the engine evaluates. A set is
//! compiled once after every change and swapped in whole; evaluating never re-parses.

use serde::{Deserialize, Serialize};

use super::cel;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Adds its score and a reason.
    Flag,
    /// Decision at least review.
    Review,
    /// Decision block.
    Block,
    /// Decision block and the account is frozen.
    Freeze,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Flag => "flag",
            Action::Review => "review",
            Action::Block => "block",
            Action::Freeze => "freeze",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "flag" => Some(Action::Flag),
            "review" => Some(Action::Review),
            "block" => Some(Action::Block),
            "freeze" => Some(Action::Freeze),
            _ => None,
        }
    }
}

/// A rule as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub expression: String,
    pub score: u8,
    pub action: Action,
    pub enabled: bool,
}

/// One compiled rule.
pub struct CompiledRule {
    pub def: RuleDef,
    pub program: ::cel::Program,
}

/// The enabled rules, compiled.
#[derive(Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
    /// The variables and fields these rules read (the context holds only those).
    pub needs: cel::Needs,
}

impl RuleSet {
    /// Compiles the enabled rules; a rule that no longer compiles is skipped and logged.
    pub fn compile(defs: Vec<RuleDef>) -> Self {
        let rules = defs
            .into_iter()
            .filter(|d| d.enabled)
            .filter_map(|def| match cel::compile(&def.expression) {
                Ok(program) => Some(CompiledRule { def, program }),
                Err(e) => {
                    tracing::error!(rule = %def.name, errors = ?e, "rule does not compile; skipped");
                    None
                }
            })
            .collect::<Vec<_>>();
        let needs = cel::Needs::of(rules.iter().map(|r| &r.program));
        Self { rules, needs }
    }

    /// The rules matching in `ctx`.
    pub fn matching<'a>(&'a self, ctx: &::cel::Context) -> Vec<&'a RuleDef> {
        self.rules
            .iter()
            .filter(|r| cel::matches(&r.program, ctx))
            .map(|r| &r.def)
            .collect()
    }
}
