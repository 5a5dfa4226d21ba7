//! Calendar periods (month, quarter, year) aligned to the configured IANA time zone: a
//! budget's current period, and the default window of the expense summary.
//!
//! A period starts at local midnight on its first day. Where a DST change removes local
//! midnight, the period starts at the first instant that exists after it.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How long a budget's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Monthly,
    Quarterly,
    Yearly,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Monthly => "monthly",
            Period::Quarterly => "quarterly",
            Period::Yearly => "yearly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "monthly" => Some(Period::Monthly),
            "quarterly" => Some(Period::Quarterly),
            "yearly" => Some(Period::Yearly),
            _ => None,
        }
    }

    /// The period containing `at`, in `tz`.
    pub fn window(self, at: DateTime<Utc>, tz: Tz) -> Window {
        let local = at.with_timezone(&tz).date_naive();
        let (year, month) = (local.year(), local.month());
        let (first_month, months, key) = match self {
            Period::Monthly => (month, 1, format!("{year}-{month:02}")),
            Period::Quarterly => {
                let q = (month - 1) / 3;
                (q * 3 + 1, 3, format!("{year}-Q{}", q + 1))
            }
            Period::Yearly => (1, 12, format!("{year}")),
        };
        let start_date = NaiveDate::from_ymd_opt(year, first_month, 1).unwrap_or(local);
        let end_date = add_months(start_date, months);
        Window {
            start: local_midnight(start_date, tz),
            end: local_midnight(end_date, tz),
            key,
        }
    }
}

/// A half-open time window `[start, end)` and the key naming it (`2026-12`, `2026-Q4`, `2026`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub key: String,
}

impl Window {
    pub fn start_ms(&self) -> i64 {
        self.start.timestamp_millis()
    }
    pub fn end_ms(&self) -> i64 {
        self.end.timestamp_millis()
    }
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = date.year() * 12 + date.month0() as i32 + months as i32;
    NaiveDate::from_ymd_opt(total.div_euclid(12), total.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(date)
}

/// The UTC instant of local midnight starting `date` in `tz`.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // A DST gap is at most a few hours; step forward until local time exists.
    for _ in 0..24 {
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => naive += chrono::Duration::minutes(30),
        }
    }
    Utc.from_utc_datetime(&naive)
}

/// The configured time zone; an unknown name falls back to UTC (with a warning).
pub fn timezone(name: &str) -> Tz {
    name.parse::<Tz>().unwrap_or_else(|_| {
        tracing::warn!(timezone = name, "unknown expenses.timezone; using UTC");
        Tz::UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn months_quarters_and_years_align_to_the_calendar() {
        let at = utc("2026-11-15T12:00:00Z");
        let m = Period::Monthly.window(at, Tz::UTC);
        assert_eq!(
            (m.start, m.end, m.key.as_str()),
            (
                utc("2026-11-01T00:00:00Z"),
                utc("2026-12-01T00:00:00Z"),
                "2026-11"
            )
        );
        let q = Period::Quarterly.window(at, Tz::UTC);
        assert_eq!(
            (q.start, q.end, q.key.as_str()),
            (
                utc("2026-10-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                "2026-Q4"
            )
        );
        let y = Period::Yearly.window(at, Tz::UTC);
        assert_eq!(
            (y.start, y.end, y.key.as_str()),
            (
                utc("2026-01-01T00:00:00Z"),
                utc("2027-01-01T00:00:00Z"),
                "2026"
            )
        );
    }

    #[test]
    fn periods_follow_the_local_calendar_of_the_time_zone() {
        // 23:30 UTC on 31 March is already 1 April in Berlin (UTC+2 in summer).
        let at = utc("2026-03-31T23:30:00Z");
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let m = Period::Monthly.window(at, berlin);
        assert_eq!(m.key, "2026-04");
        assert_eq!(m.start, utc("2026-03-31T22:00:00Z"));
        assert_eq!(m.end, utc("2026-04-30T22:00:00Z"));
        assert_eq!(Period::Quarterly.window(at, berlin).key, "2026-Q2");
        // The same instant is still March in New York.
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(Period::Monthly.window(at, ny).key, "2026-03");
    }

    #[test]
    fn a_midnight_lost_to_dst_starts_the_period_at_the_next_existing_instant() {
        // Santiago skips 00:00 local when DST starts (September 2026).
        let tz: Tz = "America/Santiago".parse().unwrap();
        let start = local_midnight(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap(), tz);
        assert!(
            start.with_timezone(&tz).date_naive() == NaiveDate::from_ymd_opt(2026, 9, 6).unwrap()
        );
    }

    #[test]
    fn unknown_time_zones_fall_back_to_utc() {
        assert_eq!(timezone("Mars/Olympus"), Tz::UTC);
        assert_eq!(timezone("Europe/Berlin").name(), "Europe/Berlin");
    }
}
