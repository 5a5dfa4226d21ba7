//! The lists' SQL: loading every list into a [`ListSet`], and the list and item changes
//! (each audited in its write job).

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::set::{ListEntry, ListSet};
use crate::audit::{self, Actor, Entry};
use crate::store::{now_rfc3339, StoreError};

/// Loads all lists with their items.
pub fn load(conn: &Connection) -> Result<ListSet, StoreError> {
    let mut set = ListSet::default();
    let mut ids = std::collections::HashMap::new();
    let mut stmt = conn.prepare("SELECT id, name, kind, mode FROM lists")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let name: String = r.get(1)?;
        ids.insert(id, name.clone());
        set.lists.insert(
            name,
            ListEntry {
                kind: r.get(2)?,
                mode: r.get(3)?,
                items: Default::default(),
            },
        );
    }
    let mut stmt = conn.prepare("SELECT list_id, value FROM list_items")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if let Some(entry) = ids.get(&id).and_then(|n| set.lists.get_mut(n)) {
            entry.items.insert(r.get(1)?);
        }
    }
    Ok(set)
}

fn list_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "name": r.get::<_, String>(1)?,
        "kind": r.get::<_, String>(2)?,
        "mode": r.get::<_, String>(3)?,
        "created_at": r.get::<_, String>(4)?,
        "item_count": r.get::<_, i64>(5)?,
    }))
}

const LIST_SQL: &str = "SELECT l.id, l.name, l.kind, l.mode, l.created_at,
    (SELECT COUNT(*) FROM list_items i WHERE i.list_id = l.id) FROM lists l";

/// Lists ordered by name, after the cursor name.
pub fn all(conn: &Connection, after: Option<&str>, limit: usize) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{LIST_SQL} WHERE l.name > ?1 ORDER BY l.name LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(params![after.unwrap_or(""), limit as i64 + 1], list_json)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{LIST_SQL} WHERE l.id = ?1"))?;
    let Some(mut list) = stmt.query_row([id], list_json).optional()? else {
        return Ok(None);
    };
    let mut items = conn.prepare_cached(
        "SELECT value, created_at FROM list_items WHERE list_id = ?1 ORDER BY value LIMIT 1000",
    )?;
    let values: Vec<Value> = items
        .query_map([id], |r| {
            Ok(json!({"value": r.get::<_, String>(0)?, "created_at": r.get::<_, String>(1)?}))
        })?
        .collect::<Result<_, _>>()?;
    list["items"] = Value::Array(values);
    Ok(Some(list))
}

pub fn kind_of(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT kind FROM lists WHERE id = ?1", [id], |r| r.get(0))
        .optional()?)
}

pub fn name_taken(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM lists WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn create(
    conn: &Connection,
    id: &str,
    name: &str,
    kind: &str,
    mode: &str,
    actor: &Actor,
) -> Result<Value, StoreError> {
    conn.execute(
        "INSERT INTO lists (id, name, kind, mode, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, name, kind, mode, now_rfc3339()],
    )?;
    audit::append(
        conn,
        Entry::new(actor, "list.created")
            .target("list", id)
            .details(json!({"name": name, "kind": kind, "mode": mode})),
    )?;
    get(conn, id)?.ok_or_else(|| StoreError::Other("list vanished".into()))
}

/// Adds an item; `false` when it was already there.
pub fn add_item(
    conn: &Connection,
    id: &str,
    value: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let added = conn.execute(
        "INSERT OR IGNORE INTO list_items (list_id, value, created_at) VALUES (?1, ?2, ?3)",
        params![id, value, now_rfc3339()],
    )?;
    if added > 0 {
        audit::append(
            conn,
            Entry::new(actor, "list.item_added")
                .target("list", id)
                .details(json!({"value": value})),
        )?;
    }
    Ok(added > 0)
}

/// Removes an item; `false` when it was not there.
pub fn remove_item(
    conn: &Connection,
    id: &str,
    value: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let removed = conn.execute(
        "DELETE FROM list_items WHERE list_id = ?1 AND value = ?2",
        params![id, value],
    )?;
    if removed > 0 {
        audit::append(
            conn,
            Entry::new(actor, "list.item_removed")
                .target("list", id)
                .details(json!({"value": value})),
        )?;
    }
    Ok(removed > 0)
}
