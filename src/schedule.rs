//! Cron expressions (six fields, seconds first) shared by the backup and model-training
//! schedules: parsing for config validation, and the interval between runs for health checks.

use std::time::Duration;

use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// Parses a six-field cron expression (seconds first).
pub fn parse(expr: &str) -> Result<Cron, String> {
    if expr.split_whitespace().count() != 6 {
        return Err(format!(
            "`{expr}` is not a six-field cron expression (seconds first)"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| format!("`{expr}` is not a valid cron expression: {e}"))
}

/// The time between the next two runs of `expr`, if it parses and runs at all.
pub fn interval(expr: &str) -> Option<Duration> {
    let cron = parse(expr).ok()?;
    let now = chrono::Utc::now();
    let first = cron.find_next_occurrence(&now, false).ok()?;
    let second = cron.find_next_occurrence(&first, false).ok()?;
    (second - first).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_schedule_has_a_day_interval() {
        assert_eq!(interval("0 0 2 * * *"), Some(Duration::from_secs(86_400)));
    }

    #[test]
    fn five_fields_or_garbage_are_refused() {
        assert!(parse("0 2 * * *").is_err());
        assert!(parse("a b c d e f").is_err());
        assert!(parse("0 0 2 * * Sun").is_ok());
    }
}
