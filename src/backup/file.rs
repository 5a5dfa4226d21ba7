//! Backup files on disk: taking a verified copy of the live database, listing and pruning the
//! backup dir, and verifying a file before a restore. Blocking code with no HTTP and no SQL of
//! other features; callers run it on a blocking thread.
//!
//! A copy is written under a hidden temporary name, converted to a plain rollback-journal file,
//! checked with `PRAGMA integrity_check` on a read-only connection, hashed, synced, and only then
//! hard-linked to its final name (a link never replaces an existing file, so two backups in
//! the same second get `-1`, `-2`, … and nothing is overwritten). The SHA-256 goes into a
//! `sha256sum`-compatible sidecar so listing and `sha256sum -c` work without the database.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::naming::BackupName;
use super::BackupError;
use crate::config::StorageSettings;
use crate::store::{self, migrations};

/// One backup as listed by the API and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupFile {
    pub name: String,
    pub size: u64,
    /// From the sidecar; `None` when the file has none (e.g. a pre-migration copy).
    pub sha256: Option<String>,
    pub created_at: String,
    /// `ok` for a verified backup with its checksum, `unverified` otherwise.
    pub integrity: String,
}

/// What [`verify`] found in a file offered for restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub size: u64,
    pub sha256: String,
    pub schema_version: i64,
}

/// Removes a temporary file when dropped unless disarmed.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(&p);
            for suffix in ["-journal", "-wal", "-shm"] {
                let mut s = p.clone().into_os_string();
                s.push(suffix);
                let _ = fs::remove_file(PathBuf::from(s));
            }
        }
    }
}

/// Copies the database at `db_path` into `dir` while it stays online (a read snapshot, so the
/// writer keeps committing), verifies and hashes the copy, and returns it.
pub fn take(
    db_path: &Path,
    storage: &StorageSettings,
    dir: &Path,
) -> Result<BackupFile, BackupError> {
    let started = Utc::now();
    if !db_path.is_file() {
        return Err(BackupError::NoDatabase(db_path.to_path_buf()));
    }
    store::ensure_private_dir(dir)?;
    let temp_path = dir.join(format!(".ledgerguard-partial-{}.db", store::new_id()));
    let temp = TempFile(Some(temp_path.clone()));
    {
        let conn = store::open_connection(db_path, storage)?;
        let target = temp_path
            .to_str()
            .ok_or_else(|| BackupError::Other("the backup dir path is not UTF-8".into()))?;
        conn.execute("VACUUM INTO ?1", [target])?;
    }
    {
        // A plain rollback-journal file: opens anywhere, even read-only, with no -wal or -shm.
        let copy = Connection::open(&temp_path)?;
        copy.pragma_update(None, "journal_mode", "DELETE")?;
    }
    let integrity = integrity_check(&temp_path)?;
    if integrity != "ok" {
        return Err(BackupError::Integrity(integrity));
    }
    set_private(&temp_path)?;
    File::open(&temp_path)?.sync_all()?;
    let (size, sha256) = hash_file(&temp_path)?;

    let name = link_free_name(&temp_path, dir, started)?;
    let file_name = name.file_name();
    drop(temp); // removes the temporary name; the final link stays
    write_sidecar(dir, &name, &sha256)?;
    // A root shell's backup must stay readable by the service that lists and prunes it.
    match_owner(
        dir,
        &[&dir.join(&file_name), &dir.join(name.sidecar_name())],
    );
    sync_dir(dir);
    Ok(BackupFile {
        name: file_name,
        size,
        sha256: Some(sha256),
        created_at: name.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        integrity: "ok".into(),
    })
}

/// Hard-links `temp` to the first free name of its second; never replaces a file.
fn link_free_name(temp: &Path, dir: &Path, at: DateTime<Utc>) -> Result<BackupName, BackupError> {
    for sequence in 0..10_000 {
        let name = BackupName::new(at, sequence);
        match fs::hard_link(temp, dir.join(name.file_name())) {
            Ok(()) => return Ok(name),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BackupError::Other(
        "too many backups within one second".into(),
    ))
}

fn write_sidecar(dir: &Path, name: &BackupName, sha256: &str) -> Result<(), BackupError> {
    let final_path = dir.join(name.sidecar_name());
    let temp_path = dir.join(format!(".{}.partial", name.sidecar_name()));
    let mut temp = TempFile(Some(temp_path.clone()));
    {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&temp_path)?;
        writeln!(f, "{sha256}  {}", name.file_name())?;
        f.sync_all()?;
    }
    set_private(&temp_path)?;
    fs::rename(&temp_path, &final_path)?;
    temp.disarm();
    Ok(())
}

/// Reads a sidecar's checksum if it names `name`.
fn read_sidecar(dir: &Path, name: &BackupName) -> Option<String> {
    let text = fs::read_to_string(dir.join(name.sidecar_name())).ok()?;
    let line = text.lines().next()?;
    let (hash, file) = line.split_once("  ")?;
    let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (valid && file.trim() == name.file_name()).then(|| hash.to_ascii_lowercase())
}

/// The backups in `dir`, newest first. A missing dir is an empty list.
pub fn list(dir: &Path) -> Result<Vec<BackupFile>, BackupError> {
    let mut found: Vec<(BackupName, u64)> = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().and_then(BackupName::parse) else {
            continue;
        };
        let meta = entry.metadata()?;
        if meta.is_file() {
            found.push((name, meta.len()));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0));
    Ok(found
        .into_iter()
        .map(|(name, size)| {
            let sha256 = read_sidecar(dir, &name);
            BackupFile {
                name: name.file_name(),
                size,
                integrity: if sha256.is_some() { "ok" } else { "unverified" }.into(),
                sha256,
                created_at: name.taken_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            }
        })
        .collect())
}

/// Deletes all but the `keep` newest backups (and their sidecars); returns the deleted names.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<String>, BackupError> {
    let mut removed = Vec::new();
    for old in list(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_file(dir.join(&old.name))?;
        let _ = fs::remove_file(dir.join(format!("{}{}", old.name, super::naming::SIDECAR_SUFFIX)));
        removed.push(old.name);
    }
    if !removed.is_empty() {
        sync_dir(dir);
    }
    Ok(removed)
}

/// The path of backup `name` in `dir`, if `name` is a backup name and the file exists there.
pub fn locate(dir: &Path, name: &str) -> Option<(PathBuf, u64)> {
    let parsed = BackupName::parse(name)?;
    let path = dir.join(parsed.file_name());
    let meta = fs::symlink_metadata(&path).ok()?;
    // A symlink could point outside the backup dir: only regular files are served.
    meta.file_type().is_file().then_some((path, meta.len()))
}

/// Checks a file offered for restore: checksum against its sidecar (when one sits next to
/// it), SQLite integrity, and a schema version this binary can run.
pub fn verify(path: &Path) -> Result<Verified, BackupError> {
    let (size, sha256) = hash_file(path)?;
    verify_with_hash(path, size, sha256, sidecar_for(path))
}

/// Like [`verify`] for a copy of `original` at `path` (the sidecar is looked up next to
/// `original`).
pub fn verify_copy(path: &Path, original: &Path) -> Result<Verified, BackupError> {
    let (size, sha256) = hash_file(path)?;
    verify_with_hash(path, size, sha256, sidecar_for(original))
}

fn sidecar_for(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let parsed = BackupName::parse(name)?;
    let dir = path.parent()?;
    if dir.join(parsed.sidecar_name()).exists() {
        Some(read_sidecar(dir, &parsed).unwrap_or_default())
    } else {
        None
    }
}

fn verify_with_hash(
    path: &Path,
    size: u64,
    sha256: String,
    expected: Option<String>,
) -> Result<Verified, BackupError> {
    if let Some(expected) = expected {
        if expected != sha256 {
            return Err(BackupError::Checksum {
                expected,
                actual: sha256,
            });
        }
    }
    let mut header = [0u8; 16];
    let read = File::open(path)?.read(&mut header)?;
    if read < 16 || &header != b"SQLite format 3\0" {
        return Err(BackupError::NotSqlite);
    }
    let integrity = integrity_check(path)?;
    if integrity != "ok" {
        return Err(BackupError::Integrity(integrity));
    }
    let conn = open_read_only(path)?;
    let version = migrations::current_version(&conn)?;
    let supported = migrations::latest_version();
    if version < 1 || version > supported {
        return Err(BackupError::SchemaVersion {
            found: version,
            supported,
        });
    }
    Ok(Verified {
        size,
        sha256,
        schema_version: version,
    })
}

/// Opens `path` read-only and immutable: no lock, no -wal or -shm, nothing written.
fn open_read_only(path: &Path) -> Result<Connection, BackupError> {
    let mut uri = String::from("file:");
    for b in path
        .to_str()
        .ok_or_else(|| BackupError::Other("path is not UTF-8".into()))?
        .bytes()
    {
        match b {
            b'?' | b'#' | b'%' => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(char::from(b)),
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Ok(Connection::open_with_flags(uri, flags)?)
}

/// `PRAGMA integrity_check` on a read-only connection: `ok`, or the first problems found.
pub fn integrity_check(path: &Path) -> Result<String, BackupError> {
    let conn = open_read_only(path)?;
    let rows: Result<Vec<String>, rusqlite::Error> = conn
        .prepare("PRAGMA integrity_check(20)")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get::<_, String>(0))?.collect());
    match rows {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => Ok("ok".into()),
        Ok(rows) => Ok(rows.into_iter().take(5).collect::<Vec<_>>().join("; ")),
        // A malformed or truncated file fails the check itself.
        Err(e) => Ok(format!("not a usable database: {e}")),
    }
}

/// Size and SHA-256 (lowercase hex) of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

fn set_private(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

/// Gives `paths` the owner of `reference` (best effort: only root may change owners, and
/// for anyone else the files already belong to the right user).
pub fn match_owner(reference: &Path, paths: &[&Path]) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::metadata(reference) else {
        return;
    };
    for p in paths {
        if p.exists() {
            let _ = std::os::unix::fs::chown(p, Some(meta.uid()), Some(meta.gid()));
        }
    }
}

/// Makes renames and links in `dir` durable (best effort: some file systems refuse it).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_db(dir: &Path) -> (PathBuf, StorageSettings) {
        let storage = StorageSettings::default();
        let path = dir.join("ledgerguard.db");
        let mut conn = store::open_connection(&path, &storage).unwrap();
        migrations::migrate_with(&mut conn, migrations::MIGRATIONS).unwrap();
        conn.execute_batch("CREATE TABLE probe (v TEXT); INSERT INTO probe VALUES ('kept');")
            .unwrap();
        (path, storage)
    }

    #[test]
    fn a_backup_is_verified_hashed_and_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let (db, storage) = live_db(tmp.path());
        let dir = tmp.path().join("backups");
        let taken = take(&db, &storage, &dir).unwrap();
        assert!(BackupName::parse(&taken.name).is_some());
        assert_eq!(taken.integrity, "ok");
        let (size, sha) = hash_file(&dir.join(&taken.name)).unwrap();
        assert_eq!(Some(sha.clone()), taken.sha256);
        assert_eq!(size, taken.size);
        let sidecar = fs::read_to_string(dir.join(format!("{}.sha256", taken.name))).unwrap();
        assert_eq!(sidecar, format!("{sha}  {}\n", taken.name));
        assert_eq!(list(&dir).unwrap(), vec![taken.clone()]);
        let copy = Connection::open(dir.join(&taken.name)).unwrap();
        let v: String = copy
            .query_row("SELECT v FROM probe", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "kept");
        let mode: String = copy
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        // No temporary files are left behind.
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn backups_in_the_same_second_never_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let (db, storage) = live_db(tmp.path());
        let dir = tmp.path().join("backups");
        let names: Vec<String> = (0..4)
            .map(|_| take(&db, &storage, &dir).unwrap().name)
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "{names:?}");
        assert_eq!(list(&dir).unwrap().len(), 4);
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for n in [
            "ledgerguard-20260101T000000Z.db",
            "ledgerguard-20260102T000000Z.db",
            "ledgerguard-20260102T000000Z-1.db",
            "ledgerguard-20260103T000000Z.db",
            "notes.txt",
        ] {
            fs::write(dir.join(n), b"x").unwrap();
        }
        fs::write(dir.join("ledgerguard-20260101T000000Z.db.sha256"), b"x").unwrap();
        let removed = prune(dir, 2).unwrap();
        assert_eq!(
            removed,
            [
                "ledgerguard-20260102T000000Z.db",
                "ledgerguard-20260101T000000Z.db"
            ]
        );
        assert!(!dir.join("ledgerguard-20260101T000000Z.db.sha256").exists());
        assert!(dir.join("notes.txt").exists());
        let left: Vec<String> = list(dir).unwrap().into_iter().map(|b| b.name).collect();
        assert_eq!(
            left,
            [
                "ledgerguard-20260103T000000Z.db",
                "ledgerguard-20260102T000000Z-1.db"
            ]
        );
    }

    #[test]
    fn verify_accepts_a_backup_and_refuses_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let (db, storage) = live_db(tmp.path());
        let dir = tmp.path().join("backups");
        let taken = take(&db, &storage, &dir).unwrap();
        let path = dir.join(&taken.name);
        let ok = verify(&path).unwrap();
        assert_eq!(ok.schema_version, migrations::latest_version());

        // Truncated: checksum and integrity both fail; without the sidecar the check still catches it.
        let bytes = fs::read(&path).unwrap();
        let truncated = tmp.path().join("truncated.db");
        fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        assert!(verify(&truncated).is_err());
        fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        assert!(matches!(verify(&path), Err(BackupError::Checksum { .. })));

        // Garbage.
        let garbage = tmp.path().join("garbage.db");
        fs::write(&garbage, b"this is not a database at all, just text").unwrap();
        assert!(matches!(verify(&garbage), Err(BackupError::NotSqlite)));

        // A database from a newer ledgerguard.
        let newer = tmp.path().join("newer.db");
        let c = Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", migrations::latest_version() + 1)
            .unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
        drop(c);
        assert!(matches!(
            verify(&newer),
            Err(BackupError::SchemaVersion { .. })
        ));
    }

    #[test]
    fn locate_refuses_foreign_names_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("ledgerguard-20260101T000000Z.db"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join("ledgerguard-20260102T000000Z.db"))
            .unwrap();
        assert!(locate(dir, "ledgerguard-20260101T000000Z.db").is_some());
        assert!(locate(dir, "ledgerguard-20260102T000000Z.db").is_none());
        assert!(locate(dir, "../ledgerguard-20260101T000000Z.db").is_none());
        assert!(locate(dir, "ledgerguard-20260103T000000Z.db").is_none());
    }
}
