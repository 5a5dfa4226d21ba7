//! Session endpoints (`/auth/*`, `/setup`): login, refresh with rotation and reuse detection,
//! logout, `me`, password change and first-admin setup.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self as auth_store, User};
use super::tokens;
use super::validate;
use super::{password, Access, Principal, Role};
use crate::app::AppState;
use crate::audit::{self, Actor, Entry};
use crate::http::extract::{has_media_type, parse_json, read_body};
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, ClientIp, FieldError, JsonBody};
use crate::metrics;
use crate::store::StoreError;

/// The browser's refresh-token cookie.
pub const REFRESH_COOKIE: &str = "lg_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";
/// The header a browser must send with cookie-based refresh and logout (CSRF defence: a
/// cross-site form cannot set it, and CORS blocks cross-origin scripts from sending it).
const CSRF_HEADER: (&str, &str) = ("x-requested-with", "ledgerguard");

pub fn routes(api: &mut ApiRoutes) {
    api.post("/auth/login", Access::Public, login)
        .post("/auth/refresh", Access::Public, refresh)
        .post("/auth/logout", Access::Public, logout)
        .get("/auth/me", Access::Authenticated, me)
        .post("/auth/password", Access::Authenticated, change_password)
        .get("/setup", Access::Public, setup_status)
        .post("/setup", Access::Public, setup);
}

pub(crate) fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.extensions().get::<ClientIp>().and_then(|c| c.0)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct UserView<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    role: Role,
}

#[derive(Debug, Serialize)]
struct SessionResponse<'a> {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: UserView<'a>,
}

fn refresh_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    let max_age = Duration::from_secs(state.settings.auth.refresh_token_days * 86_400);
    Cookie::build(REFRESH_COOKIE, token.to_owned())
        .path(COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.server.tls.cert_file.is_some() || state.settings.server.hsts)
        .max_age(actix_web::cookie::time::Duration::seconds(
            max_age.as_secs() as i64,
        ))
        .finish()
}

fn clear_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = refresh_cookie(state, "");
    c.make_removal();
    c
}

/// Starts a session for `user`: a new refresh family and an access token.
async fn start_session(
    state: &AppState,
    user: &User,
    ip: Option<std::net::IpAddr>,
) -> Result<HttpResponse, ApiError> {
    let family = crate::store::new_id();
    let refresh_token = tokens::random_token(32);
    let hash = tokens::sha256_hex(&refresh_token);
    let expires = refresh_expiry(state);
    let (user_id, email, fam) = (user.id.clone(), user.email.clone(), family.clone());
    let actor = Actor {
        kind: "user".into(),
        id: Some(user.id.clone()),
        label: Some(user.email.clone()),
        ip: ip.map(|i| i.to_string()),
    };
    state
        .store
        .writer
        .write(move |conn| {
            auth_store::clear_failures(conn, &email)?;
            auth_store::insert_refresh(conn, &user_id, &fam, &hash, &expires)?;
            audit::append(
                conn,
                Entry::new(&actor, "auth.login").target("user", &user_id),
            )
        })
        .await?;
    state.auth.forget_family(&family);
    let (access_token, _) = state
        .auth
        .issue_access(&user.id, user.role, &family)
        .map_err(ApiError::internal)?;
    let body = SessionResponse {
        access_token,
        refresh_token: refresh_token.clone(),
        token_type: "Bearer",
        expires_in: state.auth.access_ttl_s(),
        user: UserView {
            id: &user.id,
            email: &user.email,
            name: &user.name,
            role: user.role,
        },
    };
    Ok(HttpResponse::Ok()
        .cookie(refresh_cookie(state, &refresh_token))
        .json(body))
}

fn refresh_expiry(state: &AppState) -> String {
    let at =
        chrono::Utc::now() + chrono::Duration::days(state.settings.auth.refresh_token_days as i64);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let m = &metrics::global().auth_attempts_total;
    let ip = client_ip(&req);
    let LoginRequest {
        email,
        password: given,
    } = body.0;
    if email.len() > 254 || given.len() > 1024 {
        m.with_label_values(&["invalid"]).inc();
        let field = if email.len() > 254 {
            "email"
        } else {
            "password"
        };
        return Err(ApiError::invalid(field, "is too long"));
    }
    let email = email.trim().to_lowercase();
    if let Err(wait) = state
        .auth
        .login_attempt_allowed(ip.unwrap_or([0, 0, 0, 0].into()))
    {
        m.with_label_values(&["rate_limited"]).inc();
        metrics::global()
            .rate_limited_total
            .with_label_values(&["login"])
            .inc();
        return Err(ApiError::too_many_attempts(wait.as_secs() + 1));
    }
    let auth_cfg = state.settings.auth.clone();
    let window_ms = (auth_cfg.lockout_minutes * 60_000) as i64;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (em, st) = (email.clone(), state.clone());
    let (failures, latest, found) = web::block(move || -> Result<_, StoreError> {
        let conn = st.store.read()?;
        let (count, latest) = auth_store::recent_failures(&conn, &em, now_ms - window_ms)?;
        let user = auth_store::user_by_email(&conn, &em)?;
        Ok((count, latest, user))
    })
    .await??;
    if failures >= i64::from(auth_cfg.lockout_threshold) {
        m.with_label_values(&["locked"]).inc();
        let until = latest.unwrap_or(now_ms) + window_ms;
        return Err(ApiError::too_many_attempts(
            ((until - now_ms).max(1000) / 1000) as u64,
        ));
    }
    let cost = auth_cfg.bcrypt_cost;
    let (ok, found) = web::block(move || {
        let hash = found
            .as_ref()
            .map(|u| u.password_hash.as_str())
            .unwrap_or_else(|| password::dummy_hash(cost));
        let matches = password::verify(&given, hash);
        (
            matches && found.as_ref().is_some_and(|u| !u.user.disabled),
            found,
        )
    })
    .await?;
    match (ok, found) {
        (true, Some(user)) => {
            m.with_label_values(&["success"]).inc();
            start_session(&state, &user.user, ip).await
        }
        _ => {
            m.with_label_values(&["failure"]).inc();
            let ip_text = ip.map(|i| i.to_string()).unwrap_or_default();
            // A stable line for fail2ban: event, client_ip and email, JSON-escaped.
            tracing::warn!(target: "ledgerguard::auth", event = "auth.login_failed", client_ip = %ip_text, email = %email, "login failed");
            let actor = Actor::anonymous(Some(email.clone()), ip);
            state
                .store
                .writer
                .write(move |conn| {
                    auth_store::record_failure(conn, &email, now_ms)?;
                    audit::append(
                        conn,
                        Entry::new(&actor, "auth.login_failed").details(json!({"email": email})),
                    )
                })
                .await?;
            Err(ApiError::unauthorized())
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

/// The refresh token from a JSON body, or from the cookie when the CSRF header is present.
async fn presented_refresh_token(
    req: &HttpRequest,
    payload: &mut Payload,
    state: &AppState,
) -> Result<String, ApiError> {
    let body = read_body(req, payload, state.settings.server.json_limit_bytes).await?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        if !has_media_type(req, "application/json") {
            return Err(ApiError::unsupported_media_type(
                "Send the body as application/json.",
            ));
        }
        let r: RefreshRequest = parse_json(&body)?;
        if r.refresh_token.is_empty() || r.refresh_token.len() > 512 {
            return Err(ApiError::unauthorized());
        }
        return Ok(r.refresh_token);
    }
    let header_ok = req
        .headers()
        .get(CSRF_HEADER.0)
        .and_then(|v| v.to_str().ok())
        == Some(CSRF_HEADER.1);
    match req.cookie(REFRESH_COOKIE) {
        Some(c) if header_ok && !c.value().is_empty() && c.value().len() <= 512 => {
            Ok(c.value().to_owned())
        }
        _ => Err(ApiError::unauthorized()),
    }
}

enum Rotation {
    Rotated {
        user: User,
        family: String,
        token: String,
    },
    Refused,
}

async fn refresh(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut inner = payload.into_inner();
    let presented = presented_refresh_token(&req, &mut inner, &state).await?;
    let hash = tokens::sha256_hex(&presented);
    let new_token = tokens::random_token(32);
    let new_hash = tokens::sha256_hex(&new_token);
    let expires = refresh_expiry(&state);
    let ip = client_ip(&req);
    let outcome = state
        .store
        .writer
        .write(move |conn| {
            let Some(row) = auth_store::find_refresh(conn, &hash)? else {
                return Ok(Rotation::Refused);
            };
            if row.rotated_at.is_some() || row.revoked_at.is_some() {
                // A rotated token came back: someone holds a stolen copy. End the session.
                if row.revoked_at.is_none() || row.rotated_at.is_some() {
                    auth_store::revoke_family(conn, &row.family_id)?;
                    let actor = Actor {
                        kind: "user".into(),
                        id: Some(row.user_id.clone()),
                        label: None,
                        ip: ip.map(|i| i.to_string()),
                    };
                    audit::append(
                        conn,
                        Entry::new(&actor, "auth.refresh_reuse")
                            .target("user", &row.user_id)
                            .details(json!({"family": row.family_id})),
                    )?;
                }
                return Ok(Rotation::Refused);
            }
            if row.expires_at < crate::store::now_rfc3339() {
                return Ok(Rotation::Refused);
            }
            let Some(user) = auth_store::user_by_id(conn, &row.user_id)? else {
                return Ok(Rotation::Refused);
            };
            if user.user.disabled || !auth_store::mark_rotated(conn, &row.id)? {
                return Ok(Rotation::Refused);
            }
            auth_store::insert_refresh(conn, &row.user_id, &row.family_id, &new_hash, &expires)?;
            Ok(Rotation::Rotated {
                user: user.user,
                family: row.family_id,
                token: new_token,
            })
        })
        .await?;
    match outcome {
        Rotation::Refused => {
            state.auth.forget_families();
            Err(ApiError::unauthorized())
        }
        Rotation::Rotated {
            user,
            family,
            token,
        } => {
            let (access_token, _) = state
                .auth
                .issue_access(&user.id, user.role, &family)
                .map_err(ApiError::internal)?;
            let body = SessionResponse {
                access_token,
                refresh_token: token.clone(),
                token_type: "Bearer",
                expires_in: state.auth.access_ttl_s(),
                user: UserView {
                    id: &user.id,
                    email: &user.email,
                    name: &user.name,
                    role: user.role,
                },
            };
            Ok(HttpResponse::Ok()
                .cookie(refresh_cookie(&state, &token))
                .json(body))
        }
    }
}

async fn logout(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut inner = payload.into_inner();
    let presented = presented_refresh_token(&req, &mut inner, &state).await?;
    let hash = tokens::sha256_hex(&presented);
    // The access token of this session stops too, if it came along and is valid.
    let access = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.auth.jwt.verify(t));
    let ip = client_ip(&req);
    let jti = access
        .as_ref()
        .map(|c| (c.jti.clone(), chrono::DateTime::from_timestamp(c.exp, 0)));
    let family = state
        .store
        .writer
        .write(move |conn| {
            let row = auth_store::find_refresh(conn, &hash)?;
            if let Some((jti, exp)) = &jti {
                let exp = exp
                    .map(|e| e.to_rfc3339())
                    .unwrap_or_else(crate::store::now_rfc3339);
                auth_store::revoke_jti(conn, jti, &exp)?;
            }
            if let Some(row) = &row {
                auth_store::revoke_family(conn, &row.family_id)?;
                let actor = Actor {
                    kind: "user".into(),
                    id: Some(row.user_id.clone()),
                    label: None,
                    ip: ip.map(|i| i.to_string()),
                };
                audit::append(
                    conn,
                    Entry::new(&actor, "auth.logout").target("user", &row.user_id),
                )?;
            }
            Ok(row.map(|r| r.family_id))
        })
        .await?;
    if let Some((jti, _)) = access.map(|c| (c.jti, c.exp)) {
        state.auth.revoke_access(&jti);
    }
    if let Some(f) = family {
        state.auth.forget_family(&f);
    }
    Ok(HttpResponse::NoContent()
        .cookie(clear_cookie(&state))
        .finish())
}

async fn me(principal: Principal) -> HttpResponse {
    match principal {
        Principal::User {
            id,
            email,
            name,
            role,
            ..
        } => HttpResponse::Ok()
            .json(json!({"id": id, "email": email, "name": name, "role": role, "kind": "user"})),
        Principal::ApiKey { id, name, scopes } => HttpResponse::Ok()
            .json(json!({"id": id, "name": name, "scopes": scopes, "kind": "api_key"})),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

async fn change_password(
    req: HttpRequest,
    principal: Principal,
    state: web::Data<AppState>,
    body: JsonBody<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let Principal::User {
        id,
        email,
        name,
        session,
        ..
    } = principal.clone()
    else {
        return Err(ApiError::forbidden());
    };
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    if current_password.len() > 1024 {
        return Err(ApiError::invalid("current_password", "is wrong"));
    }
    password::check_policy(&new_password, &[&email, &name], &state.settings.auth)
        .map_err(|m| ApiError::invalid("new_password", m))?;
    let st = state.clone();
    let uid = id.clone();
    let cost = state.settings.auth.bcrypt_cost;
    let new_hash = web::block(move || -> Result<Result<String, ApiError>, StoreError> {
        let conn = st.store.read()?;
        let Some(user) = auth_store::user_by_id(&conn, &uid)? else {
            return Ok(Err(ApiError::unauthorized()));
        };
        if !password::verify(&current_password, &user.password_hash) {
            return Ok(Err(ApiError::invalid("current_password", "is wrong")));
        }
        Ok(password::hash(&new_password, cost).map_err(ApiError::internal))
    })
    .await???;
    let actor = Actor::principal(&principal, client_ip(&req));
    let uid = id.clone();
    state
        .store
        .writer
        .write(move |conn| {
            auth_store::set_password(conn, &uid, &new_hash)?;
            auth_store::revoke_user_sessions(conn, &uid, Some(&session))?;
            audit::append(
                conn,
                Entry::new(&actor, "auth.password_changed").target("user", &uid),
            )
        })
        .await?;
    state.auth.invalidate_user(&id);
    Ok(HttpResponse::NoContent().finish())
}

async fn setup_status(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let count = state.store.read_async(auth_store::count_users).await?;
    Ok(HttpResponse::Ok().json(json!({"required": count == 0})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupRequest {
    token: String,
    email: String,
    name: String,
    password: String,
}

async fn setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody<SetupRequest>,
) -> Result<HttpResponse, ApiError> {
    let SetupRequest {
        token,
        email,
        name,
        password: pw,
    } = body.0;
    let mut errors = Vec::new();
    let email = validate::collect(&mut errors, "email", validate::email(&email));
    let name = validate::collect(&mut errors, "name", validate::name(&name));
    if let (Some(e), Some(n)) = (&email, &name) {
        validate::collect(
            &mut errors,
            "password",
            password::check_policy(&pw, &[e, n], &state.settings.auth),
        );
    }
    if token.is_empty() || token.len() > 256 {
        errors.push(FieldError::new("token", "is not a setup token"));
    }
    let (Some(email), Some(name)) = (email, name) else {
        return Err(ApiError::validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let cost = state.settings.auth.bcrypt_cost;
    let hash = web::block(move || password::hash(&pw, cost))
        .await?
        .map_err(ApiError::internal)?;
    let token_hash = tokens::sha256_hex(&token);
    let ip = client_ip(&req);
    let created = state
        .store
        .writer
        .write(move |conn| {
            if auth_store::count_users(conn)? > 0 {
                return Ok(Err(ApiError::conflict(
                    "Setup is already complete; sign in instead.",
                )));
            }
            if !auth_store::consume_setup_token(conn, &token_hash)? {
                return Ok(Err(ApiError::invalid(
                    "token",
                    "is unknown, used or expired",
                )));
            }
            let Some(user) = auth_store::insert_user(conn, &email, &name, Role::Admin, &hash)?
            else {
                return Ok(Err(ApiError::conflict("A user with this email exists.")));
            };
            let actor = Actor::anonymous(Some(email.clone()), ip);
            audit::append(
                conn,
                Entry::new(&actor, "user.created")
                    .target("user", &user.id)
                    .details(json!({"role": "admin", "via": "setup"})),
            )?;
            Ok(Ok(user))
        })
        .await??;
    Ok(HttpResponse::Created().json(created))
}

/// Creates a one-time setup token when no user exists and returns the URL to log.
pub fn issue_setup_url(state: &AppState) -> Result<Option<String>, StoreError> {
    let token = tokens::random_token(24);
    let hash = tokens::sha256_hex(&token);
    let minutes = state.settings.auth.setup_token_minutes as i64;
    let expires = (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let issued = state.store.writer.write_blocking(move |conn| {
        if auth_store::count_users(conn)? > 0 {
            return Ok(false);
        }
        auth_store::insert_setup_token(conn, &hash, &expires)?;
        Ok(true)
    })?;
    if !issued {
        return Ok(None);
    }
    let base = if state.settings.server.public_url.is_empty() {
        let scheme = if state.settings.server.tls.cert_file.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", state.settings.server.listen)
    } else {
        state
            .settings
            .server
            .public_url
            .trim_end_matches('/')
            .to_owned()
    };
    Ok(Some(format!("{base}/setup?token={token}")))
}
