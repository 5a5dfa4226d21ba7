//! `GET /api/v1/audit` (admin): the audit trail, newest first, filterable by action, actor,
//! target and time.

use actix_web::{web, HttpResponse};
use rusqlite::types::Value;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{Access, Permission};
use crate::http::extract::ListQuery;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, Page};

pub fn routes(api: &mut ApiRoutes) {
    api.get("/audit", Access::Permission(Permission::Admin), list);
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    action: Option<String>,
    actor_id: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = page.limit()?;
    let before: Option<i64> = page.decode_cursor()?;
    for (field, value) in [("from", &q.from), ("to", &q.to)] {
        if let Some(v) = value {
            chrono::DateTime::parse_from_rfc3339(v).map_err(|_| {
                ApiError::bad_request(format!("`{field}` must be an RFC 3339 timestamp."))
            })?;
        }
    }
    let rows = state
        .store
        .read_async(move |conn| {
            let mut sql = String::from("SELECT * FROM audit_log WHERE 1=1");
            let mut args: Vec<Value> = Vec::new();
            let mut filter = |clause: &str, v: &Option<String>| {
                if let Some(v) = v {
                    args.push(Value::Text(v.clone()));
                    sql.push_str(&format!(" AND {clause} ?{}", args.len()));
                }
            };
            filter("action =", &q.action);
            filter("actor_id =", &q.actor_id);
            filter("target_type =", &q.target_type);
            filter("target_id =", &q.target_id);
            filter("at >=", &q.from);
            filter("at <", &q.to);
            if let Some(b) = before {
                args.push(Value::Integer(b));
                sql.push_str(&format!(" AND seq < ?{}", args.len()));
            }
            sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", limit + 1));
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args), super::map_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |r| r.seq)))
}
