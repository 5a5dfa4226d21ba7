//! Feature extraction: from the remembered state and one transaction to the numeric
//! [`FeatureVector`] (stored with the transaction, fed to rules and the model) and the
//! weighted contributions that explain the anomaly part of the score.
//!
//! Velocity features count the account's (device's, IP's, email's) *earlier* events in the
//! window ending at this transaction's `occurred_at`; the transaction itself is not counted.

use std::collections::HashMap;

use super::geo;
use super::model::FeatureVector;
use super::state::{ScoringState, DAY_MS, HOUR_MS, MINUTE_MS};
use crate::lists::ListSet;
use crate::money::Currency;
use crate::transactions::NewTransaction;

/// Merchant categories with a high fraud or laundering risk (gambling, quasi-cash, money
/// transfer, inbound telemarketing, dating).
pub const HIGH_RISK_MCC: &[&str] = &[
    "4829", "5967", "6051", "6211", "7273", "7801", "7802", "7995",
];
/// Merchant categories that are personal rather than business spend.
pub const PERSONAL_MCC: &[&str] = &[
    "5813", "5921", "5993", "7273", "7297", "7298", "7832", "7841", "7995", "5945", "5122",
];

/// Labelled outcomes at one merchant: (fraud, labelled) over 1, 7 and 30 days.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct MerchantLabels {
    pub fraud: [u32; 3],
    pub labelled: [u32; 3],
}

/// Fraud labels known so far, per merchant.
pub type MerchantRisk = HashMap<String, MerchantLabels>;

/// Settings the features need.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Major units of the transaction's currency.
    pub reporting_threshold: u64,
    pub approval_limit: u64,
    pub duplicate_window_ms: i64,
    pub max_travel_kmh: u32,
}

/// One weighted contribution to the score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub code: &'static str,
    pub message: String,
    pub weight: f64,
}

/// The features of one transaction.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub vector: FeatureVector,
    pub contributions: Vec<Contribution>,
}

/// True when `minor` sits in [90 %, 100 %) of `limit_major` in the currency's minor units.
pub fn just_under(minor: i64, currency: &str, limit_major: u64) -> bool {
    if limit_major == 0 {
        return false;
    }
    let scale = Currency::parse(currency).map(|c| c.scale()).unwrap_or(100);
    let limit = i64::try_from(limit_major)
        .unwrap_or(i64::MAX)
        .saturating_mul(scale);
    minor < limit && minor.saturating_mul(10) >= limit.saturating_mul(9)
}

/// Computes the features of `t` against what the engine remembers.
pub fn extract(
    state: &ScoringState,
    t: &NewTransaction,
    th: &Thresholds,
    lists: &ListSet,
    merchants: &MerchantRisk,
) -> Features {
    let mut f = Features::default();
    let now = t.occurred_ms;
    let major = t.amount_major();
    // Looked up once: every sum below converts with the same scale.
    let scale = Currency::parse(t.currency)
        .map(|c| c.scale())
        .unwrap_or(100);
    let to_major = |minor: i64| minor as f64 / scale as f64;
    let mut set = |k: &str, v: f64| {
        f.vector.insert(k.to_owned(), v);
    };
    set("amount", major);
    set("amount_log", (major + 1.0).ln());

    let empty = Default::default();
    let profile = state.accounts.get(&t.account_ref).unwrap_or(&empty);
    let history = profile.count;
    set("account_txn_count", history as f64);
    set("new_account", f64::from(history == 0));
    let z = if history >= 5 && profile.std_log() > 1e-6 {
        ((major + 1.0).ln() - profile.mean_log) / profile.std_log()
    } else {
        0.0
    };
    set("amount_z", z);

    for (name, span) in [("1m", MINUTE_MS), ("1h", HOUR_MS), ("24h", DAY_MS)] {
        let tally = profile.window.tally(now, span);
        set(&format!("account_{name}_count"), tally.count as f64);
        set(&format!("account_{name}_sum"), to_major(tally.sum_minor));
    }
    for (name, span) in [("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS)] {
        let tally = profile.window.tally(now, span);
        let avg = if tally.count == 0 {
            0.0
        } else {
            to_major(tally.sum_minor) / tally.count as f64
        };
        set(&format!("account_{name}_count"), tally.count as f64);
        set(&format!("account_{name}_avg"), avg);
    }
    for (prefix, map, key) in [
        ("device", &state.devices, &t.device_id),
        ("ip", &state.ips, &t.ip),
        ("email", &state.emails, &t.email),
    ] {
        let window = key.as_ref().and_then(|k| map.get(k));
        for (name, span) in [("1h", HOUR_MS), ("24h", DAY_MS)] {
            let tally = window.map(|w| w.tally(now, span)).unwrap_or_default();
            set(&format!("{prefix}_{name}_count"), tally.count as f64);
            set(&format!("{prefix}_{name}_sum"), to_major(tally.sum_minor));
        }
    }

    let novel = |known: &super::state::KnownSet, v: &Option<String>| {
        f64::from(history > 0 && v.as_ref().is_some_and(|v| !known.contains(v)))
    };
    let new_device = novel(&profile.devices, &t.device_id);
    let new_ip = novel(&profile.ips, &t.ip);
    let new_country = novel(&profile.countries, &t.country);
    let new_merchant = novel(&profile.merchants, &t.merchant);
    set("new_device", new_device);
    set("new_ip", new_ip);
    set("new_country", new_country);
    set("new_merchant", new_merchant);

    let mut travel_kmh = 0.0;
    if let (Some(c), Some((last, last_ms))) = (&t.country, &profile.last_country) {
        if c != last {
            let km = geo::distance_km(last, c);
            let hours = ((now - last_ms).abs() as f64 / HOUR_MS as f64).max(1.0 / 60.0);
            travel_kmh = km / hours;
        }
    }
    let impossible = travel_kmh > f64::from(th.max_travel_kmh);
    set("travel_kmh", travel_kmh);
    set("impossible_travel", f64::from(impossible));

    let (hour, weekday) = t.hour_and_weekday();
    let night = hour < 6;
    let unusual_hour = history >= 10 && profile.hour_share(hour) < 0.05;
    set("hour", f64::from(hour));
    set("weekday", f64::from(weekday));
    set("night_time", f64::from(night));
    set("unusual_hour", f64::from(unusual_hour));
    set("weekend", f64::from(weekday >= 5));

    let round = t.amount_minor >= 100 * scale && t.amount_minor % (100 * scale) == 0;
    set("round_amount", f64::from(round));
    let structuring = just_under(t.amount_minor, t.currency, th.reporting_threshold);
    let near_24h = profile.window.tally(now, DAY_MS).near_threshold + u64::from(structuring);
    set("structuring", f64::from(structuring));
    set("near_threshold_24h", near_24h as f64);

    let expense = t.kind == "expense";
    let near_limit = expense && just_under(t.amount_minor, t.currency, th.approval_limit);
    set("near_approval_limit", f64::from(near_limit));
    let (duplicates, split) = claims(state, t, th, scale);
    set("duplicate_claim", duplicates as f64);
    set("split_claim", f64::from(split));

    let hits = lists.hits(t);
    set("list_block_hit", hits.block.len() as f64);
    set("list_allow_hit", hits.allow.len() as f64);

    let labels = t.merchant.as_ref().and_then(|m| merchants.get(m));
    for (i, name) in ["1d", "7d", "30d"].iter().enumerate() {
        let rate = labels
            .filter(|l| l.labelled[i] > 0)
            .map(|l| f64::from(l.fraud[i]) / f64::from(l.labelled[i]))
            .unwrap_or(0.0);
        set(&format!("merchant_fraud_rate_{name}"), rate);
    }
    let labelled_30d = labels.map(|l| l.labelled[2]).unwrap_or(0);
    let mcc = t.merchant_category.as_deref().unwrap_or("");
    let high_risk_mcc = HIGH_RISK_MCC.contains(&mcc);
    let personal_mcc = expense && PERSONAL_MCC.contains(&mcc);
    set("mcc_high_risk", f64::from(high_risk_mcc));
    set("mcc_personal", f64::from(personal_mcc));

    // Contributions: the anomaly part of the score, each with its reason.
    let v = |k: &str| f.vector.get(k).copied().unwrap_or(0.0);
    let mut add = |code: &'static str, weight: f64, message: String| {
        if weight != 0.0 {
            f.contributions.push(Contribution {
                code,
                message,
                weight,
            });
        }
    };
    if z > 2.0 {
        add(
            "amount_anomaly",
            ((z - 2.0) * 10.0).min(25.0),
            format!("Amount is {z:.1} standard deviations above the account's usual"),
        );
    }
    if history >= 3 && new_device > 0.0 {
        add(
            "new_device",
            8.0,
            "First transaction from this device".into(),
        );
    }
    if history >= 3 && new_ip > 0.0 {
        add(
            "new_ip",
            4.0,
            "First transaction from this IP address".into(),
        );
    }
    if new_country > 0.0 {
        add(
            "new_country",
            10.0,
            "First transaction from this country".into(),
        );
    }
    if history >= 3 && new_merchant > 0.0 {
        add(
            "new_merchant",
            2.0,
            "First transaction at this merchant".into(),
        );
    }
    if impossible {
        add(
            "impossible_travel",
            35.0,
            format!("Country changed faster than travel allows ({travel_kmh:.0} km/h)"),
        );
    }
    let burst = v("account_1m_count");
    if burst >= 3.0 {
        add(
            "velocity_account_1m",
            15.0,
            format!("{burst:.0} earlier transactions of this account in the last minute"),
        );
    }
    let hourly = v("account_1h_count");
    if hourly >= 10.0 {
        add(
            "velocity_account_1h",
            15.0,
            format!("{hourly:.0} earlier transactions of this account in the last hour"),
        );
    }
    if v("device_1h_count") >= 10.0 || v("ip_1h_count") >= 20.0 {
        add(
            "velocity_device_ip",
            10.0,
            "Many transactions from this device or IP in the last hour".into(),
        );
    }
    if night && unusual_hour {
        add(
            "unusual_hour",
            8.0,
            format!("Night-time transaction at {hour:02}:00 UTC, unusual for this account"),
        );
    }
    if structuring {
        add(
            "structuring",
            if near_24h >= 2 { 30.0 } else { 15.0 },
            format!("Amount just under the reporting threshold ({near_24h} such in 24 h)"),
        );
    }
    if round {
        add("round_amount", 4.0, "Round amount".into());
    }
    if duplicates > 0 {
        add(
            "duplicate_claim",
            30.0,
            format!("{duplicates} equal claim(s) by the same submitter at this merchant recently"),
        );
    }
    if split {
        add(
            "split_claim",
            25.0,
            "Claims at this merchant today add up to more than the approval limit".into(),
        );
    } else if near_limit {
        add(
            "near_approval_limit",
            10.0,
            "Claim just under the approval limit".into(),
        );
    }
    if !hits.block.is_empty() {
        add(
            "list_block",
            60.0,
            format!("On block list {}", hits.block.join(", ")),
        );
    }
    if !hits.allow.is_empty() {
        add(
            "list_allow",
            -40.0,
            format!("On allow list {}", hits.allow.join(", ")),
        );
    }
    let rate = v("merchant_fraud_rate_30d");
    if labelled_30d >= 5 && rate > 0.0 {
        add(
            "merchant_risk",
            (40.0 * rate).min(40.0),
            format!(
                "{:.0} % of labelled transactions at this merchant in 30 days were fraud",
                rate * 100.0
            ),
        );
    }
    if high_risk_mcc {
        add(
            "high_risk_mcc",
            10.0,
            format!("High-risk merchant category {mcc}"),
        );
    }
    if personal_mcc {
        add(
            "personal_mcc",
            10.0,
            format!("Merchant category {mcc} is personal spend"),
        );
    }
    f
}

/// Duplicate claims (same submitter, merchant and amount within the window) and whether this
/// claim completes a split (claims today at the merchant, each under the approval limit,
/// together over it).
fn claims(state: &ScoringState, t: &NewTransaction, th: &Thresholds, scale: i64) -> (u64, bool) {
    if t.kind != "expense" {
        return (0, false);
    }
    let (Some(who), Some(merchant)) = (&t.submitted_by, &t.merchant) else {
        return (0, false);
    };
    let Some(claims) = state.claims.get(who) else {
        return (0, false);
    };
    let now = t.occurred_ms;
    let mut duplicates = 0;
    let mut same_day_sum = t.amount_minor;
    let mut same_day_count = 1;
    let limit = i64::try_from(th.approval_limit)
        .unwrap_or(i64::MAX)
        .saturating_mul(scale);
    for c in claims
        .iter()
        .filter(|c| &c.merchant == merchant && c.currency == t.currency)
    {
        let age = now - c.ms;
        if c.minor == t.amount_minor && age.abs() <= th.duplicate_window_ms {
            duplicates += 1;
        }
        if (0..DAY_MS).contains(&age) && c.minor < limit {
            same_day_sum = same_day_sum.saturating_add(c.minor);
            same_day_count += 1;
        }
    }
    let split = limit > 0 && t.amount_minor < limit && same_day_count >= 2 && same_day_sum > limit;
    (duplicates, split)
}
