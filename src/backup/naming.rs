//! Backup file names: `ledgerguard-YYYYMMDDTHHMMSSZ.db`, with `-N` appended when a second
//! backup starts within the same second. Parsing is strict, so a name that reaches the file
//! system from a URL is always one of ours and never a path.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDateTime, Utc};

const PREFIX: &str = "ledgerguard-";
const SUFFIX: &str = ".db";
const STAMP_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// The sidecar holding the checksum, in `sha256sum` format.
pub const SIDECAR_SUFFIX: &str = ".sha256";

/// A parsed backup file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupName {
    pub taken_at: DateTime<Utc>,
    /// 0 for the first backup of a second, then 1, 2, …
    pub sequence: u32,
}

impl BackupName {
    /// The name for a backup started at `at` (seconds precision) with `sequence`.
    pub fn new(at: DateTime<Utc>, sequence: u32) -> Self {
        let secs = at.timestamp();
        let taken_at = DateTime::from_timestamp(secs, 0).unwrap_or(at);
        Self { taken_at, sequence }
    }

    /// Parses a file name; anything else (paths, other files, odd suffixes) is `None`.
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
        let (stamp, sequence) = match rest.split_once('-') {
            None => (rest, 0),
            Some((stamp, n)) => {
                if n.is_empty()
                    || n.len() > 6
                    || !n.bytes().all(|b| b.is_ascii_digit())
                    || n.starts_with('0')
                {
                    return None;
                }
                (stamp, n.parse().ok()?)
            }
        };
        if stamp.len() != 16 || !stamp.is_ascii() {
            return None;
        }
        let naive = NaiveDateTime::parse_from_str(stamp, STAMP_FORMAT).ok()?;
        Some(Self {
            taken_at: naive.and_utc(),
            sequence,
        })
    }

    /// The file name.
    pub fn file_name(&self) -> String {
        let stamp = self.taken_at.format(STAMP_FORMAT);
        if self.sequence == 0 {
            format!("{PREFIX}{stamp}{SUFFIX}")
        } else {
            format!("{PREFIX}{stamp}-{}{SUFFIX}", self.sequence)
        }
    }

    /// The sidecar's file name (`<name>.sha256`).
    pub fn sidecar_name(&self) -> String {
        format!("{}{SIDECAR_SUFFIX}", self.file_name())
    }
}

impl PartialOrd for BackupName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Oldest first: by time, then by sequence (so `-10` is newer than `-9`).
impl Ord for BackupName {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.taken_at, self.sequence).cmp(&(other.taken_at, other.sequence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T01:15:21.345Z")
            .unwrap()
            .with_timezone(&Utc);
        let first = BackupName::new(at, 0);
        assert_eq!(first.file_name(), "ledgerguard-20261202T011521Z.db");
        assert_eq!(BackupName::parse(&first.file_name()), Some(first.clone()));
        let third = BackupName::new(at, 2);
        assert_eq!(third.file_name(), "ledgerguard-20261202T011521Z-2.db");
        assert_eq!(
            BackupName::parse("ledgerguard-20261202T011521Z-2.db"),
            Some(third)
        );
        assert_eq!(
            first.sidecar_name(),
            "ledgerguard-20261202T011521Z.db.sha256"
        );
    }

    #[test]
    fn hostile_or_foreign_names_are_refused() {
        for bad in [
            "",
            "ledgerguard.db",
            "../ledgerguard-20261202T011521Z.db",
            "ledgerguard-20261202T011521Z.db/../../etc/passwd",
            "ledgerguard-20261202T011521Z.db.sha256",
            "ledgerguard-20261202T011521Z-.db",
            "ledgerguard-20261202T011521Z-01.db",
            "ledgerguard-20261202T011521Z--1.db",
            "ledgerguard-20261302T011521Z.db",
            "ledgerguard-2026120T2011521Z.db",
            "ledgerguard-20261202T011521Z-9999999.db",
            "ledgerguard-２0261202T011521Z.db",
            "ledgerguard-20261202T011521Z.db%00",
            "ledgerguard-20261202T011521Z' OR 1=1.db",
            "LEDGERGUARD-20261202T011521Z.db",
        ] {
            assert_eq!(BackupName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ordering_follows_time_then_sequence() {
        let mut names: Vec<BackupName> = [
            "ledgerguard-20261202T011521Z-10.db",
            "ledgerguard-20261202T011521Z.db",
            "ledgerguard-20261203T000000Z.db",
            "ledgerguard-20261202T011521Z-9.db",
            "ledgerguard-20251231T235959Z.db",
        ]
        .iter()
        .map(|n| BackupName::parse(n).unwrap())
        .collect();
        names.sort();
        let files: Vec<String> = names.iter().map(BackupName::file_name).collect();
        assert_eq!(
            files,
            [
                "ledgerguard-20251231T235959Z.db",
                "ledgerguard-20261202T011521Z.db",
                "ledgerguard-20261202T011521Z-9.db",
                "ledgerguard-20261202T011521Z-10.db",
                "ledgerguard-20261203T000000Z.db",
            ]
        );
    }
}
