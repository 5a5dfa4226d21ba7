//! The data-dir lock: one serving process per data dir.
//!
//! `serve` holds an exclusive `flock` on `<data_dir>/ledgerguard.lock` for its lifetime; the
//! kernel releases it when the process dies, even under `kill -9`, so a stale lock never
//! blocks a restart. `restore` and `import` take the same lock to refuse a live data dir.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use std::fs::TryLockError;

/// Held for as long as the process owns the data dir.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock, or says which process holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self, String> {
        let path = data_dir.join("ledgerguard.lock");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(format!(
                    "the data dir {} is in use by another ledgerguard process{}",
                    data_dir.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (pid {holder})")
                    }
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", path.display()))
            }
        }
        // Best effort: the pid helps an operator; the lock itself is what counts.
        let _ = file.set_len(0);
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(Self { file, path })
    }

    /// True when some process holds the lock right now.
    pub fn is_held(data_dir: &Path) -> bool {
        let path = data_dir.join("ledgerguard.lock");
        let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(_) => true,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
