//! What the engine remembers between transactions, held in RAM: each account's profile
//! (count, mean and variance of log amount, usual hours, known devices, IPs, countries and
//! merchants, last country seen) and sliding event windows per account, device, IP and
//! email, plus each submitter's recent expense claims. Rebuilt from the store at start.
//!
//! Windows keep 30 days of events (the longest feature window); older events are pruned as
//! new ones arrive. Sets of known values are capped so one noisy account cannot grow without
//! bound.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::transactions::NewTransaction;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Longest window any feature looks at.
pub const RETENTION_MS: i64 = 30 * DAY_MS;
/// Most values remembered per known-value set.
const SET_CAP: usize = 256;
/// Most events one window keeps, whatever their age (bounds memory and tally cost).
pub const WINDOW_CAP: usize = 2_048;
/// Most events remembered per device/IP/email window (they only need 24 h).
const SHORT_RETENTION_MS: i64 = DAY_MS;

/// One remembered event.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub ms: i64,
    pub minor: i64,
    /// Amount sat just under the reporting threshold.
    pub near_threshold: bool,
}

/// Events of one entity in arrival order (timestamps may be out of order).
#[derive(Debug, Default, Clone)]
pub struct Window {
    events: VecDeque<Event>,
}

/// Count and sum (minor units) of events in a window.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub sum_minor: i64,
    pub near_threshold: u64,
}

impl Window {
    pub fn push(&mut self, event: Event, retention_ms: i64) {
        self.events.push_back(event);
        let horizon = event.ms - retention_ms;
        while self.events.front().is_some_and(|e| e.ms <= horizon) {
            self.events.pop_front();
        }
        // A hot entity (a shared NAT address, a payment terminal) would otherwise make every
        // tally a scan of its whole day: keep its newest events only. Counts then saturate at
        // the cap, which is far past every velocity threshold that matters.
        while self.events.len() > WINDOW_CAP {
            self.events.pop_front();
        }
    }

    /// Events with `now - span < ms <= now`.
    pub fn tally(&self, now: i64, span: i64) -> Tally {
        let mut t = Tally::default();
        for e in &self.events {
            if e.ms > now - span && e.ms <= now {
                t.count += 1;
                t.sum_minor = t.sum_minor.saturating_add(e.minor);
                t.near_threshold += u64::from(e.near_threshold);
            }
        }
        t
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Removes the most recent event equal to `event` (undoing a push).
    pub fn remove(&mut self, ms: i64, minor: i64) {
        if let Some(i) = self
            .events
            .iter()
            .rposition(|e| e.ms == ms && e.minor == minor)
        {
            self.events.remove(i);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// A capped set of known values.
#[derive(Debug, Default, Clone)]
pub struct KnownSet(HashSet<String>);

impl KnownSet {
    pub fn contains(&self, v: &str) -> bool {
        self.0.contains(v)
    }
    pub fn insert(&mut self, v: &str) {
        if self.0.len() < SET_CAP && !self.0.contains(v) {
            self.0.insert(v.to_owned());
        }
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An account's behaviour so far.
#[derive(Debug, Default, Clone)]
pub struct AccountProfile {
    pub count: u64,
    /// Welford running mean and sum of squared deviations of ln(amount major + 1).
    pub mean_log: f64,
    pub m2_log: f64,
    pub hours: [u32; 24],
    pub devices: KnownSet,
    pub ips: KnownSet,
    pub countries: KnownSet,
    pub merchants: KnownSet,
    /// Last country seen and when.
    pub last_country: Option<(String, i64)>,
    pub window: Window,
}

impl AccountProfile {
    pub fn std_log(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2_log / (self.count - 1) as f64).sqrt()
        }
    }

    /// Share of the account's transactions within an hour of `hour`.
    pub fn hour_share(&self, hour: u32) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let h = hour as usize % 24;
        let near = self.hours[h] + self.hours[(h + 23) % 24] + self.hours[(h + 1) % 24];
        f64::from(near) / self.count as f64
    }
}

/// A recent expense claim.
#[derive(Debug, Clone)]
pub struct Claim {
    pub ms: i64,
    pub merchant: String,
    pub minor: i64,
    pub currency: &'static str,
}

/// Everything the engine remembers.
#[derive(Debug, Default)]
pub struct ScoringState {
    pub accounts: HashMap<String, AccountProfile>,
    pub devices: HashMap<String, Window>,
    pub ips: HashMap<String, Window>,
    pub emails: HashMap<String, Window>,
    pub claims: HashMap<String, VecDeque<Claim>>,
    /// Accounts currently frozen.
    pub frozen: HashSet<String>,
}

impl ScoringState {
    /// Adds a transaction to the profiles and windows.
    pub fn observe(&mut self, t: &NewTransaction, near_threshold: bool, claim_window_ms: i64) {
        let event = Event {
            ms: t.occurred_ms,
            minor: t.amount_minor,
            near_threshold,
        };
        let profile = self.accounts.entry(t.account_ref.clone()).or_default();
        let x = (t.amount_major() + 1.0).ln();
        profile.count += 1;
        let delta = x - profile.mean_log;
        profile.mean_log += delta / profile.count as f64;
        profile.m2_log += delta * (x - profile.mean_log);
        let (hour, _) = t.hour_and_weekday();
        profile.hours[hour as usize % 24] += 1;
        if let Some(d) = &t.device_id {
            profile.devices.insert(d);
        }
        if let Some(ip) = &t.ip {
            profile.ips.insert(ip);
        }
        if let Some(m) = &t.merchant {
            profile.merchants.insert(m);
        }
        if let Some(c) = &t.country {
            profile.countries.insert(c);
            let newer = profile
                .last_country
                .as_ref()
                .is_none_or(|(_, ms)| *ms <= t.occurred_ms);
            if newer {
                profile.last_country = Some((c.clone(), t.occurred_ms));
            }
        }
        profile.window.push(event, RETENTION_MS);
        for (map, key) in [
            (&mut self.devices, &t.device_id),
            (&mut self.ips, &t.ip),
            (&mut self.emails, &t.email),
        ] {
            if let Some(k) = key {
                map.entry(k.clone())
                    .or_default()
                    .push(event, SHORT_RETENTION_MS);
            }
        }
        if let (Some(who), Some(merchant)) = (&t.submitted_by, &t.merchant) {
            if t.kind == "expense" {
                let claims = self.claims.entry(who.clone()).or_default();
                claims.push_back(Claim {
                    ms: t.occurred_ms,
                    merchant: merchant.clone(),
                    minor: t.amount_minor,
                    currency: t.currency,
                });
                let horizon = t.occurred_ms - claim_window_ms.max(DAY_MS);
                while claims.front().is_some_and(|c| c.ms <= horizon) {
                    claims.pop_front();
                }
            }
        }
    }

    /// Undoes [`ScoringState::observe`] for a transaction that was scored but not stored (a
    /// replay that lost an idempotency race, a conflict, a failed write), so it does not
    /// count twice. Known-value sets keep what they learned.
    pub fn forget(&mut self, t: &NewTransaction) {
        if let Some(profile) = self.accounts.get_mut(&t.account_ref) {
            if profile.count > 0 {
                let x = (t.amount_major() + 1.0).ln();
                let n = profile.count as f64;
                if profile.count == 1 {
                    profile.mean_log = 0.0;
                    profile.m2_log = 0.0;
                } else {
                    let previous_mean = (n * profile.mean_log - x) / (n - 1.0);
                    profile.m2_log =
                        (profile.m2_log - (x - previous_mean) * (x - profile.mean_log)).max(0.0);
                    profile.mean_log = previous_mean;
                }
                profile.count -= 1;
                let (hour, _) = t.hour_and_weekday();
                let h = &mut profile.hours[hour as usize % 24];
                *h = h.saturating_sub(1);
            }
            profile.window.remove(t.occurred_ms, t.amount_minor);
        }
        for (map, key) in [
            (&mut self.devices, &t.device_id),
            (&mut self.ips, &t.ip),
            (&mut self.emails, &t.email),
        ] {
            if let Some(w) = key.as_ref().and_then(|k| map.get_mut(k)) {
                w.remove(t.occurred_ms, t.amount_minor);
            }
        }
        if let Some(claims) = t.submitted_by.as_ref().and_then(|w| self.claims.get_mut(w)) {
            if let Some(i) = claims.iter().rposition(|c| {
                c.ms == t.occurred_ms
                    && c.minor == t.amount_minor
                    && Some(&c.merchant) == t.merchant.as_ref()
            }) {
                claims.remove(i);
            }
        }
    }

    /// Drops empty windows (called now and then to keep memory flat).
    pub fn compact(&mut self) {
        self.devices.retain(|_, w| !w.is_empty());
        self.ips.retain(|_, w| !w.is_empty());
        self.emails.retain(|_, w| !w.is_empty());
        self.claims.retain(|_, c| !c.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ms: i64) -> Event {
        Event {
            ms,
            minor: 100,
            near_threshold: false,
        }
    }

    #[test]
    fn a_window_counts_events_strictly_inside_its_span() {
        let mut w = Window::default();
        let now = 10 * HOUR_MS;
        w.push(ev(now - MINUTE_MS), RETENTION_MS); // exactly one minute old: outside 1 min
        w.push(ev(now - MINUTE_MS + 1), RETENTION_MS); // just inside
        w.push(ev(now), RETENTION_MS);
        assert_eq!(w.tally(now, MINUTE_MS).count, 2);
        assert_eq!(w.tally(now, HOUR_MS).count, 3);
        assert_eq!(w.tally(now, HOUR_MS).sum_minor, 300);
    }

    #[test]
    fn events_after_now_are_not_counted_and_old_ones_are_pruned() {
        let mut w = Window::default();
        w.push(ev(0), DAY_MS);
        w.push(ev(DAY_MS + 5), DAY_MS);
        assert_eq!(w.len(), 1, "the first event is older than the retention");
        assert_eq!(
            w.tally(DAY_MS, HOUR_MS).count,
            0,
            "a later event is not in the past"
        );
    }

    #[test]
    fn a_hot_window_keeps_only_its_newest_events() {
        let mut w = Window::default();
        for i in 0..(WINDOW_CAP as i64 + 500) {
            w.push(ev(i), DAY_MS);
        }
        assert_eq!(w.len(), WINDOW_CAP);
        assert_eq!(
            w.tally(WINDOW_CAP as i64 + 499, DAY_MS).count,
            WINDOW_CAP as u64
        );
    }

    #[test]
    fn known_sets_are_capped() {
        let mut s = KnownSet::default();
        for i in 0..1000 {
            s.insert(&i.to_string());
        }
        assert_eq!(s.len(), SET_CAP);
    }
}
