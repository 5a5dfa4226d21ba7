//! The in-memory form of all lists, swapped whole after every change: lookups by list name
//! (`lists.contains("name", value)` in rules) and the block/allow hits of a transaction.

use std::collections::{HashMap, HashSet};

use crate::transactions::NewTransaction;

/// The list kinds.
pub const KINDS: &[&str] = &[
    "country",
    "merchant",
    "device",
    "ip",
    "account",
    "email_domain",
];
/// The list modes.
pub const MODES: &[&str] = &["block", "allow"];

/// One list with its items.
#[derive(Debug, Clone, Default)]
pub struct ListEntry {
    pub kind: String,
    pub mode: String,
    pub items: HashSet<String>,
}

/// Names of the block and allow lists a transaction hits.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListHits {
    pub block: Vec<String>,
    pub allow: Vec<String>,
}

/// Every list, by name.
#[derive(Debug, Default, Clone)]
pub struct ListSet {
    pub lists: HashMap<String, ListEntry>,
}

/// Normalises a value the way items are stored: country and email domain case-insensitive.
pub fn normalise(kind: &str, value: &str) -> String {
    let v = value.trim();
    match kind {
        "country" => v.to_ascii_uppercase(),
        "email_domain" => v.to_ascii_lowercase(),
        _ => v.to_owned(),
    }
}

impl ListSet {
    /// True when list `name` holds `value`.
    pub fn contains(&self, name: &str, value: &str) -> bool {
        self.lists
            .get(name)
            .is_some_and(|l| l.items.contains(&normalise(&l.kind, value)))
    }

    /// The transaction's value for a list kind.
    fn value_for(kind: &str, t: &NewTransaction) -> Option<String> {
        match kind {
            "country" => t.country.clone(),
            "merchant" => t.merchant.clone(),
            "device" => t.device_id.clone(),
            "ip" => t.ip.clone(),
            "account" => Some(t.account_ref.clone()),
            "email_domain" => t.email_domain(),
            _ => None,
        }
    }

    /// Which lists the transaction hits, sorted by name.
    pub fn hits(&self, t: &NewTransaction) -> ListHits {
        let mut hits = ListHits::default();
        for (name, list) in &self.lists {
            let Some(v) = Self::value_for(&list.kind, t) else {
                continue;
            };
            if list.items.contains(&normalise(&list.kind, &v)) {
                match list.mode.as_str() {
                    "block" => hits.block.push(name.clone()),
                    _ => hits.allow.push(name.clone()),
                }
            }
        }
        hits.block.sort();
        hits.allow.sort();
        hits
    }
}
