//! The SQL of identity: users, login failures, refresh tokens, revoked access tokens, setup
//! tokens and API keys. Functions take a connection; callers pick the writer or a reader.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{Role, Scope};
use crate::store::StoreError;

/// A user as shown to admins (never with the hash).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A user with the password hash, for login.
#[derive(Debug, Clone)]
pub struct UserAuth {
    pub user: User,
    pub password_hash: String,
    pub password_changed_at: String,
}

const USER_COLUMNS: &str =
    "id, email, name, role, disabled, created_at, updated_at, password_hash, password_changed_at";

fn map_user(r: &Row<'_>) -> rusqlite::Result<UserAuth> {
    let role: String = r.get(3)?;
    Ok(UserAuth {
        user: User {
            id: r.get(0)?,
            email: r.get(1)?,
            name: r.get(2)?,
            role: Role::parse(&role).unwrap_or(Role::Viewer),
            disabled: r.get::<_, i64>(4)? != 0,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
        },
        password_hash: r.get(7)?,
        password_changed_at: r.get(8)?,
    })
}

pub fn user_by_email(conn: &Connection, email: &str) -> Result<Option<UserAuth>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE email = ?1"),
            [email],
            map_user,
        )
        .optional()?)
}

pub fn user_by_id(conn: &Connection, id: &str) -> Result<Option<UserAuth>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            map_user,
        )
        .optional()?)
}

pub fn count_users(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

/// Inserts a user; `Ok(None)` when the email is taken.
pub fn insert_user(
    conn: &Connection,
    email: &str,
    name: &str,
    role: Role,
    password_hash: &str,
) -> Result<Option<User>, StoreError> {
    let id = crate::store::new_id();
    let now = crate::store::now_rfc3339();
    let inserted = conn.execute(
        "INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, updated_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?6) ON CONFLICT(email) DO NOTHING",
        params![id, email, name, role.as_str(), password_hash, now],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    Ok(user_by_id(conn, &id)?.map(|u| u.user))
}

pub fn list_users(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<User>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64 + 1], map_user)?;
    Ok(rows
        .map(|r| r.map(|u| u.user))
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn update_user(
    conn: &Connection,
    id: &str,
    name: Option<&str>,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<Option<User>, StoreError> {
    let now = crate::store::now_rfc3339();
    let n = conn.execute(
        "UPDATE users SET name = COALESCE(?2, name), role = COALESCE(?3, role),
                disabled = COALESCE(?4, disabled), updated_at = ?5 WHERE id = ?1",
        params![
            id,
            name,
            role.map(Role::as_str),
            disabled.map(i64::from),
            now
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    if disabled == Some(true) {
        revoke_user_sessions(conn, id, None)?;
    }
    Ok(user_by_id(conn, id)?.map(|u| u.user))
}

pub fn set_password(conn: &Connection, id: &str, hash: &str) -> Result<bool, StoreError> {
    let now = crate::store::now_rfc3339();
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3, updated_at = ?3 WHERE id = ?1",
        params![id, hash, now],
    )?;
    Ok(n == 1)
}

pub fn count_admins(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
        [],
        |r| r.get(0),
    )?)
}

// ---- login failures ----

pub fn record_failure(conn: &Connection, email: &str, at_ms: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO login_failures (email, at_ms) VALUES (?1, ?2)",
        params![email, at_ms],
    )?;
    // Keep the table small: nothing older than a day matters.
    conn.execute(
        "DELETE FROM login_failures WHERE at_ms < ?1",
        [at_ms - 86_400_000],
    )?;
    Ok(())
}

/// Failures for `email` since `since_ms`: how many and the latest time.
pub fn recent_failures(
    conn: &Connection,
    email: &str,
    since_ms: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    Ok(conn.query_row(
        "SELECT count(*), max(at_ms) FROM login_failures WHERE email = ?1 AND at_ms >= ?2",
        params![email, since_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

pub fn clear_failures(conn: &Connection, email: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM login_failures WHERE email = ?1", [email])?;
    Ok(())
}

// ---- refresh tokens ----

#[derive(Debug, Clone)]
pub struct RefreshRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: String,
    pub rotated_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn insert_refresh(
    conn: &Connection,
    user_id: &str,
    family_id: &str,
    token_hash: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![crate::store::new_id(), user_id, family_id, token_hash, crate::store::now_rfc3339(), expires_at],
    )?;
    Ok(())
}

pub fn find_refresh(conn: &Connection, token_hash: &str) -> Result<Option<RefreshRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, user_id, family_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = ?1",
            [token_hash],
            |r| {
                Ok(RefreshRow {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    family_id: r.get(2)?,
                    expires_at: r.get(3)?,
                    rotated_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Marks a token used; false when another request rotated it first.
pub fn mark_rotated(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    let n = conn.execute(
        "UPDATE refresh_tokens SET rotated_at = ?2 WHERE id = ?1 AND rotated_at IS NULL AND revoked_at IS NULL",
        params![id, crate::store::now_rfc3339()],
    )?;
    Ok(n == 1)
}

pub fn revoke_family(conn: &Connection, family_id: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family_id = ?1 AND revoked_at IS NULL",
        params![family_id, crate::store::now_rfc3339()],
    )?;
    Ok(())
}

/// Revokes every session of a user except `keep_family`.
pub fn revoke_user_sessions(
    conn: &Connection,
    user_id: &str,
    keep_family: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?3 WHERE user_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR family_id <> ?2)",
        params![user_id, keep_family, crate::store::now_rfc3339()],
    )?;
    Ok(())
}

/// Families (sessions) of a user that were revoked, so their access tokens stop at once.
pub fn family_revoked(conn: &Connection, family_id: &str) -> Result<bool, StoreError> {
    let live: i64 = conn.query_row(
        "SELECT count(*) FROM refresh_tokens WHERE family_id = ?1 AND revoked_at IS NULL",
        [family_id],
        |r| r.get(0),
    )?;
    Ok(live == 0)
}

// ---- revoked access tokens ----

pub fn revoke_jti(conn: &Connection, jti: &str, expires_at: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO revoked_access_tokens (jti, expires_at) VALUES (?1, ?2)",
        params![jti, expires_at],
    )?;
    conn.execute(
        "DELETE FROM revoked_access_tokens WHERE expires_at < ?1",
        [crate::store::now_rfc3339()],
    )?;
    Ok(())
}

pub fn revoked_jtis(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT jti FROM revoked_access_tokens WHERE expires_at >= ?1")?;
    let rows = stmt.query_map([crate::store::now_rfc3339()], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

// ---- setup tokens ----

pub fn insert_setup_token(
    conn: &Connection,
    token_hash: &str,
    expires_at: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
        params![token_hash, crate::store::now_rfc3339(), expires_at],
    )?;
    Ok(())
}

/// Uses a setup token once; false when unknown, used or expired.
pub fn consume_setup_token(conn: &Connection, token_hash: &str) -> Result<bool, StoreError> {
    let now = crate::store::now_rfc3339();
    let n = conn.execute(
        "UPDATE setup_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![token_hash, now],
    )?;
    Ok(n == 1)
}

// ---- API keys ----

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub per_minute: Option<u32>,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

const KEY_COLUMNS: &str =
    "id, name, prefix, scopes, per_minute, created_by, created_at, last_used_at, revoked_at";

fn map_key(r: &Row<'_>) -> rusqlite::Result<ApiKey> {
    let scopes: String = r.get(3)?;
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        scopes: scopes.split(',').filter_map(Scope::parse).collect(),
        per_minute: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        last_used_at: r.get(7)?,
        revoked_at: r.get(8)?,
    })
}

pub fn insert_api_key(
    conn: &Connection,
    name: &str,
    secret: &str,
    scopes: &[Scope],
    per_minute: Option<u32>,
    created_by: Option<&str>,
) -> Result<ApiKey, StoreError> {
    let id = crate::store::new_id();
    let scopes_text = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    conn.execute(
        "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, per_minute, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            name,
            &secret[..secret.len().min(10)],
            super::tokens::sha256_hex(secret),
            scopes_text,
            per_minute,
            created_by,
            crate::store::now_rfc3339()
        ],
    )?;
    api_key_by_id(conn, &id)?.ok_or_else(|| StoreError::Other("inserted key vanished".into()))
}

pub fn api_key_by_id(conn: &Connection, id: &str) -> Result<Option<ApiKey>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
            [id],
            map_key,
        )
        .optional()?)
}

pub fn api_key_by_hash(conn: &Connection, hash: &str) -> Result<Option<ApiKey>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
            [hash],
            map_key,
        )
        .optional()?)
}

pub fn list_api_keys(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ApiKey>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![after, limit as i64 + 1], map_key)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Revokes a key; `Ok(None)` when there is no such key.
pub fn revoke_api_key(conn: &Connection, id: &str) -> Result<Option<ApiKey>, StoreError> {
    conn.execute(
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, crate::store::now_rfc3339()],
    )?;
    api_key_by_id(conn, id)
}

pub fn touch_api_keys(conn: &Connection, used: &[(String, String)]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")?;
    for (id, at) in used {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}
