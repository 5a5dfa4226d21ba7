//! `POST /api/v1/models/train` (admin) and `GET /api/v1/models`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::store;
use super::train::{self, TrainError};
use crate::app::AppState;
use crate::auth::{Access, Permission};
use crate::http::extract::ListQuery;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, Page};

pub fn routes(api: &mut ApiRoutes) {
    api.post(
        "/models/train",
        Access::Permission(Permission::Admin),
        train_now,
    );
    api.get("/models", Access::Permission(Permission::Read), list);
}

impl From<TrainError> for ApiError {
    fn from(e: TrainError) -> Self {
        match e {
            TrainError::Store(s) => s.into(),
            other => ApiError::conflict(other.to_string()),
        }
    }
}

async fn train_now(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (store, slot) = (state.store.clone(), state.model.clone());
    let min = state.settings.model.min_labels;
    let report = web::block(move || train::run(&store, &slot, min, |_| {})).await??;
    Ok(HttpResponse::Ok().json(report))
}

async fn list(
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit()?;
    let before: Option<(String, String)> = q.decode_cursor()?;
    let rows = state
        .store
        .read_async(move |conn| store::list(conn, before, limit + 1))
        .await?;
    let page = Page::from_rows(rows, limit, |m| (m.created_at.clone(), m.version.clone()));
    let active = state.model.current().map(|m| m.version().to_owned());
    Ok(HttpResponse::Ok().json(json!({
        "items": page.items,
        "next_cursor": page.next_cursor,
        "serving": active,
    })))
}
