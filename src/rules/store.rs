//! The rules' SQL: every change writes the rule, a `rule_versions` row and an audit entry in
//! the same write job; the default pack is seeded once (when no rule was ever written).

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::pack::DEFAULT_PACK;
use super::set::{Action, RuleDef};
use crate::audit::{self, Actor, Entry};
use crate::store::{new_id, now_rfc3339, StoreError};

const COLUMNS: &str =
    "id, name, description, expression, score, action, enabled, version, builtin, created_at, updated_at";

/// A stored rule with its bookkeeping.
#[derive(Debug, Clone)]
pub struct StoredRule {
    pub def: RuleDef,
    pub version: i64,
    pub builtin: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl StoredRule {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.def.id,
            "name": self.def.name,
            "description": self.def.description,
            "expression": self.def.expression,
            "score": self.def.score,
            "action": self.def.action,
            "enabled": self.def.enabled,
            "version": self.version,
            "builtin": self.builtin,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredRule> {
    let action: String = r.get(5)?;
    Ok(StoredRule {
        def: RuleDef {
            id: r.get(0)?,
            name: r.get(1)?,
            description: r.get(2)?,
            expression: r.get(3)?,
            score: u8::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
            action: Action::parse(&action).unwrap_or(Action::Flag),
            enabled: r.get(6)?,
        },
        version: r.get(7)?,
        builtin: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub fn all(conn: &Connection) -> Result<Vec<StoredRule>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM rules ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<StoredRule>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM rules WHERE id = ?1"))?;
    Ok(stmt.query_row([id], from_row).optional()?)
}

pub fn name_taken(conn: &Connection, name: &str, except: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM rules WHERE name = ?1 AND id <> ?2",
            params![name, except],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn version_row(
    conn: &Connection,
    d: &RuleDef,
    version: i64,
    deleted: bool,
    actor: &Actor,
    at: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO rule_versions (rule_id, version, name, description, expression, score, action,
            enabled, deleted, changed_by, changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            d.id,
            version,
            d.name,
            d.description,
            d.expression,
            i64::from(d.score),
            d.action.as_str(),
            d.enabled,
            deleted,
            actor.label.clone().or(actor.id.clone()),
            at
        ],
    )?;
    Ok(())
}

/// Creates a rule (version 1).
pub fn create(
    conn: &Connection,
    d: &RuleDef,
    builtin: bool,
    actor: &Actor,
) -> Result<StoredRule, StoreError> {
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO rules (id, name, description, expression, score, action, enabled, version,
            builtin, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, ?9)",
        params![
            d.id,
            d.name,
            d.description,
            d.expression,
            i64::from(d.score),
            d.action.as_str(),
            d.enabled,
            builtin,
            now
        ],
    )?;
    version_row(conn, d, 1, false, actor, &now)?;
    audit::append(
        conn,
        Entry::new(actor, "rule.created")
            .target("rule", &d.id)
            .details(json!({"name": d.name, "expression": d.expression, "action": d.action, "score": d.score})),
    )?;
    get(conn, &d.id)?.ok_or_else(|| StoreError::Other("rule vanished".into()))
}

/// Replaces a rule's fields, bumping its version.
pub fn update(conn: &Connection, d: &RuleDef, actor: &Actor) -> Result<StoredRule, StoreError> {
    let now = now_rfc3339();
    let version: i64 = conn.query_row(
        "UPDATE rules SET name = ?2, description = ?3, expression = ?4, score = ?5, action = ?6,
            enabled = ?7, version = version + 1, updated_at = ?8
         WHERE id = ?1 RETURNING version",
        params![
            d.id,
            d.name,
            d.description,
            d.expression,
            i64::from(d.score),
            d.action.as_str(),
            d.enabled,
            now
        ],
        |r| r.get(0),
    )?;
    version_row(conn, d, version, false, actor, &now)?;
    audit::append(
        conn,
        Entry::new(actor, "rule.updated")
            .target("rule", &d.id)
            .details(
                json!({"version": version, "name": d.name, "expression": d.expression,
                "action": d.action, "score": d.score, "enabled": d.enabled}),
            ),
    )?;
    get(conn, &d.id)?.ok_or_else(|| StoreError::Other("rule vanished".into()))
}

/// Deletes a rule, keeping its history with a final `deleted` version.
pub fn delete(conn: &Connection, rule: &StoredRule, actor: &Actor) -> Result<(), StoreError> {
    let now = now_rfc3339();
    version_row(conn, &rule.def, rule.version + 1, true, actor, &now)?;
    conn.execute("DELETE FROM rules WHERE id = ?1", [&rule.def.id])?;
    audit::append(
        conn,
        Entry::new(actor, "rule.deleted")
            .target("rule", &rule.def.id)
            .details(json!({"name": rule.def.name})),
    )?;
    Ok(())
}

/// Every version of a rule, newest first.
pub fn versions(conn: &Connection, id: &str) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, name, description, expression, score, action, enabled, deleted,
                changed_by, changed_at
         FROM rule_versions WHERE rule_id = ?1 ORDER BY version DESC",
    )?;
    let rows = stmt
        .query_map([id], |r| {
            Ok(json!({
                "version": r.get::<_, i64>(0)?,
                "name": r.get::<_, String>(1)?,
                "description": r.get::<_, String>(2)?,
                "expression": r.get::<_, String>(3)?,
                "score": r.get::<_, i64>(4)?,
                "action": r.get::<_, String>(5)?,
                "enabled": r.get::<_, bool>(6)?,
                "deleted": r.get::<_, bool>(7)?,
                "changed_by": r.get::<_, Option<String>>(8)?,
                "changed_at": r.get::<_, String>(9)?,
            }))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Seeds the default pack when no rule was ever written; returns how many were added.
pub fn seed_defaults(conn: &Connection) -> Result<usize, StoreError> {
    let ever: i64 = conn.query_row("SELECT COUNT(*) FROM rule_versions", [], |r| r.get(0))?;
    if ever > 0 {
        return Ok(0);
    }
    let actor = Actor::system();
    for p in DEFAULT_PACK {
        let def = RuleDef {
            id: new_id(),
            name: p.name.into(),
            description: p.description.into(),
            expression: p.expression.into(),
            score: p.score,
            action: p.action,
            enabled: true,
        };
        create(conn, &def, true, &actor)?;
    }
    Ok(DEFAULT_PACK.len())
}
