//! The `/api/v1` authentication middleware and the rate-limit tiers (governor's GCRA limiters,
//! the engine behind actix-governor, keyed per tier).
//!
//! Authentication runs once per request: a presented credential is resolved to a
//! [`Principal`] (from caches on the event loop; on a miss, off it) and stored in the request
//! extensions, or refused with 401. The tiers then key on that principal (user id, key id)
//! or on the client IP for anonymous requests. One middleware holds all tiers so each
//! request is counted against exactly one of them (plus the analyze tier on `/analyze`).

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::middleware::StateInformationMiddleware;
use actix_governor::governor::state::keyed::DefaultKeyedStateStore;
use actix_governor::governor::{Quota, RateLimiter};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use super::service::{Credential, Refusal};
use super::Principal;
use crate::app::AppState;
use crate::config::RateLimitSettings;
use crate::http::{ApiError, ClientIp};
use crate::metrics;

/// Reads the credential from `X-API-Key` or `Authorization: Bearer`.
pub fn credential(req: &ServiceRequest) -> Option<Credential> {
    if let Some(key) = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(Credential::ApiKey(key.trim().to_owned()));
    }
    let auth = req.headers().get("authorization")?.to_str().ok()?;
    let token = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))?
        .trim();
    if token.starts_with("lg_") {
        Some(Credential::ApiKey(token.to_owned()))
    } else {
        Some(Credential::Bearer(token.to_owned()))
    }
}

/// Session endpoints work with stale credentials attached (a browser refreshing an expired
/// token), so a bad credential there is ignored instead of refused.
fn tolerates_bad_credentials(path: &str) -> bool {
    path.starts_with("/api/v1/auth/login")
        || path.starts_with("/api/v1/auth/refresh")
        || path.starts_with("/api/v1/auth/logout")
        || path.starts_with("/api/v1/setup")
}

pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(cred) = credential(&req) {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| ApiError::internal("no state"))?;
        let mut outcome = state.auth.resolve(&cred, false);
        if outcome == Err(Refusal::NeedsStore) {
            let auth = state.auth.clone();
            outcome = web::block(move || auth.resolve(&cred, true))
                .await
                .map_err(ApiError::from)?;
        }
        match outcome {
            Ok(principal) => {
                req.extensions_mut().insert(principal);
            }
            Err(Refusal::RateLimited(wait)) => {
                return Err(ApiError::rate_limited(wait.as_secs() + 1).into())
            }
            Err(_) if tolerates_bad_credentials(req.path()) => {}
            Err(_) => return Err(ApiError::unauthorized().into()),
        }
    }
    next.call(req).await
}

/// The rate-limit tier a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Anonymous,
    User,
    ApiKey,
    Analyze,
}

impl Tier {
    fn label(self) -> &'static str {
        match self {
            Tier::Anonymous => "anonymous",
            Tier::User => "user",
            Tier::ApiKey => "api_key",
            Tier::Analyze => "analyze",
        }
    }
}

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// One tier's limiter and its configured rate (for the `X-RateLimit-Limit` header).
struct TierLimiter<K: std::hash::Hash + Eq + Clone> {
    limiter: Keyed<K>,
    per_minute: u32,
}

impl<K: std::hash::Hash + Eq + Clone> TierLimiter<K> {
    fn new(per_minute: u32, burst: u32) -> Option<Self> {
        let per_minute_nz = NonZeroU32::new(per_minute)?;
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute_nz).allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            per_minute,
        })
    }

    /// `Ok(remaining)` or `Err(seconds to wait)`.
    fn check(&self, key: &K) -> Result<u32, u64> {
        match self.limiter.check_key(key) {
            Ok(snapshot) => Ok(snapshot.remaining_burst_capacity()),
            Err(not_until) => Err(not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                + 1),
        }
    }
}

/// The spec's tiers (section 5), keyed by client IP, user id, key id or principal.
pub struct RateLimits {
    anonymous: Option<TierLimiter<IpAddr>>,
    user: Option<TierLimiter<String>>,
    api_key: Option<TierLimiter<String>>,
    analyze: Option<TierLimiter<String>>,
}

impl RateLimits {
    pub fn new(rl: &RateLimitSettings) -> Self {
        let on = rl.enabled;
        Self {
            anonymous: on
                .then(|| TierLimiter::new(rl.anonymous_per_minute, rl.anonymous_burst))
                .flatten(),
            user: on
                .then(|| TierLimiter::new(rl.user_per_minute, rl.user_burst))
                .flatten(),
            api_key: on
                .then(|| TierLimiter::new(rl.api_key_per_minute, rl.api_key_burst))
                .flatten(),
            analyze: on
                .then(|| {
                    TierLimiter::new(rl.analyze_per_minute, rl.analyze_per_minute.clamp(1, 20))
                })
                .flatten(),
        }
    }

    /// Drops state for keys that have not been seen lately (bounded memory).
    pub fn housekeeping(&self) {
        if let Some(t) = &self.anonymous {
            t.limiter.retain_recent();
        }
        for t in [&self.user, &self.api_key, &self.analyze]
            .into_iter()
            .flatten()
        {
            t.limiter.retain_recent();
        }
    }

    /// Checks the request against its tier(s): `Ok(Some((limit, remaining)))` for headers.
    fn check(
        &self,
        path: &str,
        principal: Option<&Principal>,
        ip: IpAddr,
    ) -> Result<Option<(u32, u32)>, (Tier, u64)> {
        if path == "/api/v1/analyze" {
            if let Some(t) = &self.analyze {
                let key = principal
                    .map(|p| p.id().to_owned())
                    .unwrap_or_else(|| ip.to_string());
                t.check(&key).map_err(|w| (Tier::Analyze, w))?;
            }
        }
        let outcome = match principal {
            None if path == "/api/v1/auth/login" => return Ok(None), // login has its own limits
            None => self
                .anonymous
                .as_ref()
                .map(|t| (Tier::Anonymous, t.per_minute, t.check(&ip))),
            Some(Principal::User { id, .. }) => self
                .user
                .as_ref()
                .map(|t| (Tier::User, t.per_minute, t.check(id))),
            Some(Principal::ApiKey { id, .. }) => self
                .api_key
                .as_ref()
                .map(|t| (Tier::ApiKey, t.per_minute, t.check(id))),
        };
        match outcome {
            None => Ok(None),
            Some((_, limit, Ok(remaining))) => Ok(Some((limit, remaining))),
            Some((tier, _, Err(wait))) => Err((tier, wait)),
        }
    }
}

/// Applies the tiers after authentication; refusals are 429 `rate_limited` with
/// `Retry-After`, and every answer carries `X-RateLimit-Limit` / `X-RateLimit-Remaining`.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no state"))?;
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.or_unspecified())
        .unwrap_or([0, 0, 0, 0].into());
    let checked = {
        let ext = req.extensions();
        state
            .rate_limits
            .check(req.path(), ext.get::<Principal>(), ip)
    };
    match checked {
        Err((tier, wait)) => {
            metrics::global()
                .rate_limited_total
                .with_label_values(&[tier.label()])
                .inc();
            Err(ApiError::rate_limited(wait)
                .with_header("X-RateLimit-Remaining", "0".into())
                .into())
        }
        Ok(info) => {
            let mut res = next.call(req).await?;
            if let Some((limit, remaining)) = info {
                let h = res.headers_mut();
                h.insert(
                    HeaderName::from_static("x-ratelimit-limit"),
                    HeaderValue::from(limit),
                );
                h.insert(
                    HeaderName::from_static("x-ratelimit-remaining"),
                    HeaderValue::from(remaining),
                );
            }
            Ok(res)
        }
    }
}
