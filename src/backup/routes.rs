//! Admin API: `GET /api/v1/backups` (list), `POST /api/v1/backups` (take one now, 201) and
//! `GET /api/v1/backups/{name}` (download, audited). Names that are not backup names, or files
//! that are not regular files in the backup dir, are 404.

use std::io::Read;

use actix_web::body::SizedStream;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::Deserialize;

use super::naming::BackupName;
use super::{file, store, BackupError};
use crate::app::AppState;
use crate::audit::Actor;
use crate::auth::{Access, Permission, Principal};
use crate::http::envelope::ClientIp;
use crate::http::extract::ListQuery;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, Page};

pub fn routes(api: &mut ApiRoutes) {
    let admin = Access::Permission(Permission::Admin);
    api.get("/backups", admin, list);
    api.post("/backups", admin, create);
    api.get("/backups/{name}", admin, download);
}

impl From<BackupError> for ApiError {
    fn from(e: BackupError) -> Self {
        ApiError::internal(format!("backup failed: {e}"))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

fn actor(req: &HttpRequest, principal: &Principal) -> Actor {
    let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    Actor::principal(principal, ip)
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<BackupQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let page = ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    };
    let limit = page.limit()?;
    let after = match page.decode_cursor::<String>()? {
        None => None,
        Some(name) => Some(BackupName::parse(&name).ok_or_else(|| {
            ApiError::bad_request("`cursor` is not a cursor this server issued.")
        })?),
    };
    let dir = state.settings.backup_dir();
    let all = web::block(move || file::list(&dir)).await??;
    // Newest first; the cursor is the last name of the previous page.
    let rows: Vec<_> = all
        .into_iter()
        .filter(|b| match (&after, BackupName::parse(&b.name)) {
            (Some(after), Some(this)) => this < *after,
            _ => true,
        })
        .take(limit + 1)
        .collect();
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |b| b.name.clone())))
}

async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let backup = super::take_now(&state, actor(&req, &principal)).await?;
    Ok(HttpResponse::Created().json(backup))
}

async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    principal: Principal,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let dir = state.settings.backup_dir();
    let lookup = name.clone();
    let (path, size) = web::block(move || file::locate(&dir, &lookup))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let f = std::fs::File::open(&path).map_err(|_| ApiError::not_found())?;
    let actor = actor(&req, &principal);
    let audited = name.clone();
    state
        .store
        .writer
        .write(move |conn| store::record_download(conn, &audited, &actor))
        .await?;
    // Local file reads of 256 KiB each keep every poll short.
    let stream = futures_util::stream::unfold(Some(f), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.sqlite3")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(SizedStream::new(size, Box::pin(stream))))
}
