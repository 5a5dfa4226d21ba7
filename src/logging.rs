//! Logging: JSON lines to stdout and to `ledgerguard.log.YYYY-MM-DD` in `logging.dir`, audit
//! events also to `audit.log.YYYY-MM-DD`; files older than `logging.retention_days` are removed
//! by the appender as it rotates.
//!
//! Nothing here decides what to log; it only routes. Secrets never reach a log because the
//! types that hold them ([`crate::config::Secret`], tokens, passwords) are never formatted.

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::Settings;

/// The tracing target audit events use; they also go to `audit.log.*`.
pub const AUDIT_TARGET: &str = "ledgerguard::audit";

/// Keeps the background log writers alive; drop it last to flush.
pub struct LogGuards {
    _guards: Vec<WorkerGuard>,
}

/// How a process logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// The server: stdout (if enabled) plus the rotated files.
    Server,
    /// A CLI command: warnings to stderr, audit lines to the audit file when it is writable.
    Cli,
}

/// Installs the global subscriber. Returns the guards to hold for the process's life.
pub fn init(settings: &Settings, mode: LogMode) -> LogGuards {
    let mut guards = Vec::new();
    let level = match mode {
        LogMode::Server => settings.logging.level.clone(),
        LogMode::Cli => "warn".to_owned(),
    };
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let dir = &settings.logging.dir;
    let dir_ok = std::fs::create_dir_all(dir).is_ok();
    let keep = settings.logging.retention_days.max(1) as usize;

    let stdout_layer = match mode {
        LogMode::Server if settings.logging.stdout => Some({
            // Off the request path: a slow stdout (a busy journald) never stalls a worker.
            let (writer, guard) = non_blocking(std::io::stdout(), true);
            guards.push(guard);
            tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(writer)
                .with_filter(EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info")))
                .boxed()
        }),
        LogMode::Cli => Some(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter)
                .boxed(),
        ),
        _ => None,
    };

    let file_layer = if dir_ok && mode == LogMode::Server {
        Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix("ledgerguard.log")
            .max_log_files(keep)
            .build(dir)
            .ok()
            .map(|appender| {
                let (writer, guard) = non_blocking(appender, true);
                guards.push(guard);
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_ansi(false)
                    .with_writer(writer)
                    .with_filter(
                        EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info")),
                    )
                    .boxed()
            })
    } else {
        None
    };

    let audit_layer = if dir_ok {
        Builder::new()
            .rotation(Rotation::DAILY)
            .filename_prefix("audit.log")
            .max_log_files(keep)
            .build(dir)
            .ok()
            .map(|appender| {
                // The audit mirror never drops a line: a full buffer waits instead.
                let (writer, guard) = non_blocking(appender, false);
                guards.push(guard);
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(false)
                    .with_ansi(false)
                    .with_writer(writer)
                    .with_filter(filter_fn(|meta| meta.target() == AUDIT_TARGET))
                    .boxed()
            })
    } else {
        None
    };

    let _ = tracing_subscriber::registry()
        .with(stdout_layer)
        .with(file_layer)
        .with(audit_layer)
        .try_init();
    if !dir_ok && mode == LogMode::Server {
        tracing::warn!(dir = %dir.display(), "cannot create the log dir; logging to stdout only");
    }
    LogGuards { _guards: guards }
}

/// Removes `ledgerguard.log.YYYY-MM-DD` and `audit.log.YYYY-MM-DD` files dated more than
/// `retention_days` ago. The appender also caps the file count as it rotates; this goes by the
/// date in the name, so it also covers files left by earlier runs. Returns how many it removed.
pub fn prune_old_logs(dir: &std::path::Path, retention_days: u32) -> usize {
    let cutoff =
        chrono::Utc::now().date_naive() - chrono::Duration::days(i64::from(retention_days));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let date = name
            .strip_prefix("ledgerguard.log.")
            .or_else(|| name.strip_prefix("audit.log."));
        let Some(date) = date.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        if date < cutoff && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Lines a log writer buffers before it drops (or, lossless, waits). tracing-appender's
/// default of 128 000 preallocates 8 MB per writer; this is plenty for bursts.
const BUFFERED_LINES: usize = 8_192;

/// A writer that formats on the caller's thread and writes on its own.
fn non_blocking<W: std::io::Write + Send + 'static>(
    writer: W,
    lossy: bool,
) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(lossy)
        .finish(writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_older_than_the_retention_are_removed_by_their_date() {
        let dir = tempfile::tempdir().unwrap();
        let today = chrono::Utc::now().date_naive();
        let name = |prefix: &str, days: i64| {
            format!(
                "{prefix}.{}",
                (today - chrono::Duration::days(days)).format("%Y-%m-%d")
            )
        };
        for days in [0, 1, 5, 40] {
            std::fs::write(dir.path().join(name("ledgerguard.log", days)), "x").unwrap();
            std::fs::write(dir.path().join(name("audit.log", days)), "x").unwrap();
        }
        std::fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
        assert_eq!(prune_old_logs(dir.path(), 3), 4);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 5);
        assert!(
            left.contains(&name("ledgerguard.log", 1)) && !left.contains(&name("audit.log", 5))
        );
    }
}
