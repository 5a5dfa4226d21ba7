//! The SQLite store: a pool of read connections, one group-commit writer, migrations and the
//! data-dir lock.
//!
//! Every write in the product goes through [`Writer`], so SQLite never sees two writers and
//! concurrent requests share one fsync. Reads use the r2d2 pool. Feature SQL lives in each
//! feature's `store.rs`; this module owns only the machinery.

mod checkpoint;
mod lock;
pub mod migrations;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2d2::PooledConnection;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

pub use lock::DataDirLock;
pub use writer::{WriteJob, Writer};

use crate::config::{Settings, StorageSettings};

pub type Pool = r2d2::Pool<SqliteConnectionManager>;
pub type ReadConn = PooledConnection<SqliteConnectionManager>;

/// What can go wrong in the store. Callers map these to HTTP statuses; the text of
/// `Sqlite` is for logs only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("connection pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("the writer has stopped")]
    WriterGone,
    #[error("the database schema version {found} is newer than this binary supports ({supported}); upgrade ledgerguard")]
    TooNew { found: i64, supported: i64 },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

/// The opened store: read pool plus writer.
#[derive(Clone)]
pub struct Store {
    pub pool: Pool,
    pub writer: Writer,
    checkpointer: std::sync::Arc<checkpoint::Checkpointer>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database, migrates it, and starts the writer.
    pub fn open(settings: &Settings) -> Result<Self, StoreError> {
        let path = settings.database_path();
        ensure_private_dir(settings.data_dir())?;
        let mut conn = open_connection(&path, &settings.storage)?;
        migrations::migrate(&mut conn, &settings.backup_dir())?;
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpoint::WRITER_AUTOCHECKPOINT_PAGES,
        )?;
        let writer = Writer::start(conn, settings.storage.write_batch_max)?;
        let checkpointer = std::sync::Arc::new(checkpoint::Checkpointer::start(
            &path,
            Duration::from_millis(settings.storage.busy_timeout_ms),
        )?);
        let pool = read_pool(&path, &settings.storage)?;
        Ok(Self {
            pool,
            writer,
            checkpointer,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read connection from the pool (blocking; call from `web::block` in handlers).
    pub fn read(&self) -> Result<ReadConn, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` on a read connection off the async executor.
    pub async fn read_async<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
        .map_err(|e| StoreError::Other(format!("read task failed: {e}")))?
    }

    /// Stops checkpointing, flushes the writer and waits for it to stop.
    pub fn close(&self) {
        self.checkpointer.stop();
        self.writer.shutdown();
    }
}

/// Creates `dir` (mode 0700) when missing.
pub fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Applies the pragmas every connection needs. `synchronous=FULL` makes a commit durable
/// against power loss; WAL lets readers run beside the writer.
pub fn apply_pragmas(conn: &Connection, storage: &StorageSettings) -> Result<(), rusqlite::Error> {
    conn.busy_timeout(Duration::from_millis(storage.busy_timeout_ms))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", storage.synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -32_000)?;
    Ok(())
}

/// Opens one read-write connection with the product's pragmas (the writer's, or a CLI's).
pub fn open_connection(path: &Path, storage: &StorageSettings) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    apply_pragmas(&conn, storage)?;
    Ok(conn)
}

fn read_pool(path: &Path, storage: &StorageSettings) -> Result<Pool, StoreError> {
    let storage = storage.clone();
    let manager = SqliteConnectionManager::file(path).with_init(move |c| {
        c.busy_timeout(Duration::from_millis(storage.busy_timeout_ms))?;
        c.pragma_update(None, "foreign_keys", "ON")?;
        // Small on purpose: in WAL mode a reader's cache is dropped whenever a write landed
        // since its last read, so under ingest it rarely survives; memory matters more.
        c.pragma_update(None, "cache_size", -4_000)?;
        Ok(())
    });
    Ok(r2d2::Pool::builder()
        .max_size(storage.read_pool_size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build(manager)?)
}

/// Current time as RFC 3339 UTC with millisecond precision, the store's text timestamp.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new UUIDv7 as a string.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
