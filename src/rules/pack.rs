//! The default rule pack, seeded (enabled) on first start: card testing, account takeover,
//! structuring, high-risk merchant categories, list blocks and impossible travel, plus the
//! expense rules (duplicate and split claims, personal categories, weekend spend, round
//! amounts).

use super::set::Action;

/// One shipped rule: name, description, expression, score, action.
pub struct PackRule {
    pub name: &'static str,
    pub description: &'static str,
    pub expression: &'static str,
    pub score: u8,
    pub action: Action,
}

/// The shipped rules.
pub const DEFAULT_PACK: &[PackRule] = &[
    PackRule {
        name: "card_testing",
        description: "Small amounts in quick succession from one account, device or IP (card testing)",
        expression: "txn.amount <= 5.0 && (velocity.account_1h >= 3 || velocity.device_1h >= 5 || velocity.ip_1h >= 5)",
        score: 45,
        action: Action::Review,
    },
    PackRule {
        name: "account_takeover",
        description: "Established account used from a new device in a new country or after impossible travel",
        expression: "account.txn_count >= 3 && features.new_device > 0.0 && (features.new_country > 0.0 || features.impossible_travel > 0.0)",
        score: 45,
        action: Action::Review,
    },
    PackRule {
        name: "structuring",
        description: "Repeated amounts just under the reporting threshold within 24 hours",
        expression: "features.near_threshold_24h >= 2.0",
        score: 40,
        action: Action::Review,
    },
    PackRule {
        name: "high_risk_mcc",
        description: "Merchant category with high fraud risk (gambling, quasi-cash, money transfer)",
        expression: "txn.merchant_category in ['4829', '5967', '6051', '6211', '7273', '7801', '7802', '7995']",
        score: 20,
        action: Action::Flag,
    },
    PackRule {
        name: "block_list_hit",
        description: "Country, merchant, device, IP, account or email domain is on a block list",
        expression: "features.list_block_hit > 0.0",
        score: 90,
        action: Action::Block,
    },
    PackRule {
        name: "impossible_travel",
        description: "Country changed faster than travel allows",
        expression: "features.impossible_travel > 0.0",
        score: 30,
        action: Action::Review,
    },
    PackRule {
        name: "expense_duplicate_claim",
        description: "Same submitter, merchant and amount claimed again within the duplicate window",
        expression: "txn.kind == 'expense' && features.duplicate_claim > 0.0",
        score: 50,
        action: Action::Review,
    },
    PackRule {
        name: "expense_split_claim",
        description: "Claims at one merchant in a day, each under the approval limit, add up to more",
        expression: "txn.kind == 'expense' && features.split_claim > 0.0",
        score: 40,
        action: Action::Review,
    },
    PackRule {
        name: "expense_personal_mcc",
        description: "Expense at a personal or high-risk merchant category (bars, liquor, gambling, dating)",
        expression: "txn.kind == 'expense' && (features.mcc_personal > 0.0 || features.mcc_high_risk > 0.0)",
        score: 30,
        action: Action::Review,
    },
    PackRule {
        name: "expense_weekend",
        description: "Expense incurred on a weekend",
        expression: "txn.kind == 'expense' && txn.weekday >= 5",
        score: 10,
        action: Action::Flag,
    },
    PackRule {
        name: "expense_round_amount",
        description: "Expense with a round amount (a multiple of 100)",
        expression: "txn.kind == 'expense' && features.round_amount > 0.0",
        score: 10,
        action: Action::Flag,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_rule_is_valid_and_uniquely_named() {
        let mut names = std::collections::HashSet::new();
        for r in DEFAULT_PACK {
            assert!(names.insert(r.name), "duplicate {}", r.name);
            assert_eq!(
                super::super::cel::validate(r.expression),
                vec![],
                "{}",
                r.name
            );
        }
    }
}
