//! The single writer: one thread owns the only read-write connection and folds every write
//! queued while it was busy into one SQLite transaction (group commit).
//!
//! Each job runs inside its own savepoint, so a failing job rolls back alone and never takes
//! its neighbours with it. Callers are answered only after the shared `COMMIT` returned, so
//! an acknowledged write is durable (with `synchronous=FULL`) even under `kill -9`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;
use crate::metrics;

/// Called after the batch's commit with its outcome.
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: runs on the writer's connection inside a savepoint and says whether it
/// succeeded (`false` rolls its savepoint back) and how to answer its caller.
pub type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

enum Msg {
    Job(WriteJob),
    Shutdown,
}

/// Handle to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    inner: Arc<Inner>,
}

struct Inner {
    sender: Mutex<Option<Sender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    /// Moves `conn` to a new writer thread.
    pub fn start(conn: Connection, batch_max: usize) -> Result<Self, StoreError> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ledgerguard-writer".into())
            .spawn(move || run(conn, receiver, batch_max.max(1)))?;
        Ok(Self {
            inner: Arc::new(Inner {
                sender: Mutex::new(Some(sender)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    fn send(&self, job: WriteJob) -> Result<(), StoreError> {
        let guard = self
            .inner
            .sender
            .lock()
            .map_err(|_| StoreError::WriterGone)?;
        match guard.as_ref() {
            Some(s) => s.send(Msg::Job(job)).map_err(|_| StoreError::WriterGone),
            None => Err(StoreError::WriterGone),
        }
    }

    /// Runs `f` in the next group commit and returns its result once committed.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(job(f, tx))?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Like [`Writer::write`], for threads outside the async runtime (CLI, blocking tasks).
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(job(f, tx))?;
        rx.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// Stops taking writes, finishes the queued ones and joins the thread. Idempotent.
    pub fn shutdown(&self) {
        if let Ok(mut guard) = self.inner.sender.lock() {
            if let Some(sender) = guard.take() {
                let _ = sender.send(Msg::Shutdown);
            }
        }
        let handle = self.inner.thread.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn job<R, F>(f: F, reply: tokio::sync::oneshot::Sender<Result<R, StoreError>>) -> WriteJob
where
    F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    R: Send + 'static,
{
    Box::new(move |conn: &Connection| {
        let outcome = catch_unwind(AssertUnwindSafe(|| f(conn)))
            .unwrap_or_else(|_| Err(StoreError::Other("a write panicked".into())));
        match outcome {
            Ok(value) => (
                true,
                Box::new(move |committed: Result<(), String>| {
                    let _ = reply.send(committed.map(|()| value).map_err(StoreError::Other));
                }) as Completion,
            ),
            Err(e) => (
                false,
                Box::new(move |_| {
                    let _ = reply.send(Err(e));
                }) as Completion,
            ),
        }
    })
}

fn run(mut conn: Connection, receiver: Receiver<Msg>, batch_max: usize) {
    let mut stopping = false;
    while !stopping {
        let first = match receiver.recv() {
            Ok(Msg::Job(j)) => j,
            Ok(Msg::Shutdown) | Err(_) => break,
        };
        let mut jobs = vec![first];
        while jobs.len() < batch_max {
            match receiver.try_recv() {
                Ok(Msg::Job(j)) => jobs.push(j),
                Ok(Msg::Shutdown) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, jobs);
    }
    // Drain anything that raced with the shutdown message so no caller is left hanging.
    let rest: Vec<WriteJob> = receiver
        .try_iter()
        .filter_map(|m| match m {
            Msg::Job(j) => Some(j),
            Msg::Shutdown => None,
        })
        .collect();
    if !rest.is_empty() {
        commit_batch(&mut conn, rest);
    }
    // A clean close checkpoints the WAL into the main file.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    let _ = conn.close();
}

/// A group commit slower than this is logged (a stalling disk): every caller in it waited
/// that long.
const SLOW_COMMIT: std::time::Duration = std::time::Duration::from_millis(250);

fn commit_batch(conn: &mut Connection, jobs: Vec<WriteJob>) {
    let started = std::time::Instant::now();
    let count = jobs.len();
    metrics::global().db_write_batch_size.observe(count as f64);
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            // Dropping the jobs unrun answers each caller with `WriterGone`.
            tracing::error!(error = %e, "cannot begin write transaction");
            return;
        }
    };
    let mut completions = Vec::with_capacity(jobs.len());
    for job in jobs {
        if let Err(e) = tx.execute_batch("SAVEPOINT job") {
            tracing::error!(error = %e, "cannot open savepoint");
            continue;
        }
        let (ok, completion) = job(&tx);
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = tx.execute_batch(end) {
            tracing::error!(error = %e, "cannot close savepoint");
        }
        completions.push(completion);
    }
    let ran = started.elapsed();
    let outcome = tx.commit().map_err(|e| {
        tracing::error!(error = %e, "group commit failed");
        format!("commit failed: {e}")
    });
    let total = started.elapsed();
    if total > SLOW_COMMIT {
        tracing::warn!(
            jobs = count,
            jobs_ms = ran.as_millis() as u64,
            commit_ms = (total - ran).as_millis() as u64,
            "slow group commit"
        );
    }
    for completion in completions {
        completion(outcome.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(dir: &std::path::Path) -> Writer {
        let conn = Connection::open(dir.join("w.db")).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)",
        )
        .unwrap();
        Writer::start(conn, 512).unwrap()
    }

    #[test]
    fn concurrent_writers_are_all_committed_in_shared_batches() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        let before = metrics::global().db_write_batch_size.get_sample_count();
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..200 {
                        w.write_blocking(move |c| {
                            Ok(c.execute("INSERT INTO t (v) VALUES (?1)", [format!("{t}-{i}")])?)
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let batches = metrics::global().db_write_batch_size.get_sample_count() - before;
        w.shutdown();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3200);
        assert!(
            batches < 3200,
            "writes were grouped ({batches} commits for 3200 writes)"
        );
    }

    #[test]
    fn a_failing_job_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let w = writer(dir.path());
        w.write_blocking(|c| Ok(c.execute("INSERT INTO t (v) VALUES ('a')", [])?))
            .unwrap();
        let dup = w.write_blocking(|c| {
            c.execute("INSERT INTO t (v) VALUES ('b')", [])?;
            Ok(c.execute("INSERT INTO t (v) VALUES ('a')", [])?)
        });
        assert!(dup.is_err());
        let panicked = w.write_blocking(|_c| -> Result<(), StoreError> { panic!("boom") });
        assert!(panicked.is_err());
        w.write_blocking(|c| Ok(c.execute("INSERT INTO t (v) VALUES ('c')", [])?))
            .unwrap();
        w.shutdown();
        assert!(matches!(
            w.write_blocking(|_| Ok(())),
            Err(StoreError::WriterGone)
        ));
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        let vals: Vec<String> = conn
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            vals,
            vec!["a", "c"],
            "the failed job's first insert was rolled back too"
        );
    }
}
