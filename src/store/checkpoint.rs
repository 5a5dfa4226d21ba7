//! WAL checkpoints off the writer's path. Left to SQLite's automatic checkpoint, the writer
//! copies WAL frames into the database file and fsyncs it inside a commit now and then,
//! which stalls every caller queued behind that commit. This thread runs a `PASSIVE`
//! checkpoint on its own connection every [`INTERVAL`] instead; a passive checkpoint never
//! blocks the writer or readers. The writer keeps a much larger automatic threshold as a
//! safety net in case this thread falls behind.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// How often the WAL is checkpointed.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// The writer's own automatic checkpoint threshold, in pages (a safety net only).
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Handle to the checkpoint thread; stops it on [`Checkpointer::stop`].
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub fn start(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(busy_timeout)?;
        // The database file is synced before the WAL frames it took can be overwritten.
        conn.pragma_update(None, "synchronous", "FULL")?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ledgerguard-checkpoint".into())
            .spawn(move || run(conn, &signal))?;
        Ok(Self {
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stops the thread and waits for it. Idempotent.
    pub fn stop(&self) {
        let (flag, wake) = &*self.stop;
        if let Ok(mut stopped) = flag.lock() {
            *stopped = true;
            wake.notify_all();
        }
        let handle = self.thread.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(conn: Connection, signal: &(Mutex<bool>, Condvar)) {
    let (flag, wake) = signal;
    let Ok(mut stopped) = flag.lock() else {
        return;
    };
    loop {
        stopped = match wake.wait_timeout(stopped, INTERVAL) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
        if *stopped {
            return;
        }
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoint takes over");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wal_is_copied_back_without_the_writer_and_the_thread_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
                 CREATE TABLE t (v TEXT);",
            )
            .unwrap();
        for i in 0..200 {
            writer
                .execute(
                    "INSERT INTO t (v) VALUES (?1)",
                    [format!("row {i} {}", "x".repeat(1000))],
                )
                .unwrap();
        }
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let before = size();
        let checkpointer = Checkpointer::start(&path, Duration::from_secs(1)).unwrap();
        std::thread::sleep(INTERVAL * 3);
        // The rows reached the database file although the writer never checkpointed.
        assert!(size() > before + 4 * 4096, "{before} -> {}", size());
        let started = std::time::Instant::now();
        checkpointer.stop();
        checkpointer.stop();
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
