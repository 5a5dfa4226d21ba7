//! The authentication service: resolves credentials to a [`Principal`] with in-process caches
//! (invalidated at once on revocation, and expiring within seconds so changes made by the
//! CLI reach a running server), issues sessions, and throttles logins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::{
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter,
};
use moka::sync::Cache;

use super::store::{self as auth_store, ApiKey};
use super::tokens::{self, Claims, Jwt};
use super::{Principal, Role};
use crate::config::Settings;
use crate::metrics;
use crate::store::{Store, StoreError};

/// How long cached users and keys are trusted before the store is asked again; bounds how long
/// a change made by another process (the CLI) takes to reach this server.
const CACHE_TTL: Duration = Duration::from_secs(3);

/// A user's current standing, cached per id.
#[derive(Debug, Clone)]
struct UserStanding {
    email: String,
    name: String,
    role: Role,
    disabled: bool,
}

/// Why credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, malformed, expired, revoked or disabled: 401.
    Invalid,
    /// The API key's own per-minute limit is spent: 429 after this wait.
    RateLimited(Duration),
    /// The answer needs the store; ask again with I/O allowed.
    NeedsStore,
}

/// A presented credential.
#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey(String),
    Bearer(String),
}

pub struct AuthService {
    pub jwt: Jwt,
    store: Store,
    access_ttl_s: i64,
    users: Cache<String, Option<UserStanding>>,
    keys: Cache<String, Option<ApiKey>>,
    revoked_jti: Cache<String, ()>,
    revoked_families: Cache<String, bool>,
    key_limiters: Cache<String, Arc<DefaultDirectRateLimiter>>,
    login_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    last_used: Mutex<HashMap<String, String>>,
}

impl AuthService {
    /// Loads (or creates) the JWT key and the list of revoked access tokens.
    pub fn new(settings: &Settings, store: Store) -> Result<Self, String> {
        let key = tokens::load_or_create_key(&settings.jwt_key_path())?;
        let jwt = Jwt::new(&key, &settings.auth.issuer, &settings.auth.audience);
        let access_ttl_s = (settings.auth.access_token_minutes * 60) as i64;
        let revoked_jti = Cache::builder()
            .time_to_live(Duration::from_secs(access_ttl_s as u64 + 60))
            .build();
        if let Ok(conn) = store.read() {
            for jti in auth_store::revoked_jtis(&conn).unwrap_or_default() {
                revoked_jti.insert(jti, ());
            }
        }
        let per_ip =
            NonZeroU32::new(settings.rate_limit.login_per_ip_per_15min).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(Duration::from_secs(900) / per_ip.get())
            .unwrap_or_else(|| Quota::per_minute(per_ip))
            .allow_burst(per_ip);
        Ok(Self {
            jwt,
            store,
            access_ttl_s,
            users: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CACHE_TTL)
                .build(),
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CACHE_TTL)
                .build(),
            revoked_jti,
            revoked_families: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CACHE_TTL)
                .build(),
            key_limiters: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            login_per_ip: RateLimiter::keyed(quota),
            last_used: Mutex::new(HashMap::new()),
        })
    }

    pub fn access_ttl_s(&self) -> i64 {
        self.access_ttl_s
    }

    /// Resolves a credential. With `allow_io == false` only caches are consulted and a miss
    /// answers [`Refusal::NeedsStore`], so the common case never leaves the event loop.
    pub fn resolve(&self, credential: &Credential, allow_io: bool) -> Result<Principal, Refusal> {
        match credential {
            Credential::ApiKey(secret) => self.authenticate_key(secret, allow_io),
            Credential::Bearer(token) => self.authenticate_token(token, allow_io),
        }
    }

    fn authenticate_key(&self, secret: &str, allow_io: bool) -> Result<Principal, Refusal> {
        if !tokens::looks_like_api_key(secret) {
            return Err(Refusal::Invalid);
        }
        let hash = tokens::sha256_hex(secret);
        let m = &metrics::global().cache_requests_total;
        let key = match self.keys.get(&hash) {
            Some(k) => {
                m.with_label_values(&["api_keys", "hit"]).inc();
                k
            }
            None if !allow_io => return Err(Refusal::NeedsStore),
            None => {
                m.with_label_values(&["api_keys", "miss"]).inc();
                let k = self
                    .store
                    .read()
                    .ok()
                    .and_then(|conn| auth_store::api_key_by_hash(&conn, &hash).ok())
                    .flatten();
                self.keys.insert(hash.clone(), k.clone());
                k
            }
        };
        let key = key
            .filter(|k| k.revoked_at.is_none())
            .ok_or(Refusal::Invalid)?;
        if let Some(per_minute) = key.per_minute.and_then(NonZeroU32::new) {
            let limiter = self.key_limiters.get_with(key.id.clone(), || {
                Arc::new(RateLimiter::direct(
                    Quota::per_minute(per_minute).allow_burst(per_minute),
                ))
            });
            if let Err(not_until) = limiter.check() {
                metrics::global()
                    .rate_limited_total
                    .with_label_values(&["api_key"])
                    .inc();
                return Err(Refusal::RateLimited(
                    not_until.wait_time_from(DefaultClock::default().now()),
                ));
            }
        }
        if let Ok(mut used) = self.last_used.lock() {
            used.insert(key.id.clone(), crate::store::now_rfc3339());
        }
        Ok(Principal::ApiKey {
            id: key.id,
            name: key.name,
            scopes: key.scopes,
        })
    }

    fn authenticate_token(&self, token: &str, allow_io: bool) -> Result<Principal, Refusal> {
        let claims = self.jwt.verify(token).ok_or(Refusal::Invalid)?;
        if self.revoked_jti.contains_key(&claims.jti) {
            return Err(Refusal::Invalid);
        }
        if !allow_io
            && (!self.revoked_families.contains_key(&claims.sid)
                || !self.users.contains_key(&claims.sub))
        {
            return Err(Refusal::NeedsStore);
        }
        if self.family_revoked(&claims.sid) {
            return Err(Refusal::Invalid);
        }
        let standing = self.standing(&claims.sub).ok_or(Refusal::Invalid)?;
        if standing.disabled {
            return Err(Refusal::Invalid);
        }
        Ok(Principal::User {
            id: claims.sub,
            email: standing.email,
            name: standing.name,
            role: standing.role,
            jti: claims.jti,
            session: claims.sid,
        })
    }

    fn standing(&self, user_id: &str) -> Option<UserStanding> {
        let m = &metrics::global().cache_requests_total;
        if let Some(s) = self.users.get(user_id) {
            m.with_label_values(&["users", "hit"]).inc();
            return s;
        }
        m.with_label_values(&["users", "miss"]).inc();
        let s = self
            .store
            .read()
            .ok()
            .and_then(|conn| auth_store::user_by_id(&conn, user_id).ok())
            .flatten()
            .map(|u| UserStanding {
                email: u.user.email,
                name: u.user.name,
                role: u.user.role,
                disabled: u.user.disabled,
            });
        self.users.insert(user_id.to_owned(), s.clone());
        s
    }

    fn family_revoked(&self, family: &str) -> bool {
        if let Some(r) = self.revoked_families.get(family) {
            return r;
        }
        let revoked = self
            .store
            .read()
            .ok()
            .and_then(|conn| auth_store::family_revoked(&conn, family).ok())
            .unwrap_or(true);
        self.revoked_families.insert(family.to_owned(), revoked);
        revoked
    }

    /// Forgets what is cached about a user (after a change through the API).
    pub fn invalidate_user(&self, user_id: &str) {
        self.users.invalidate(user_id);
        self.forget_families();
    }

    /// Forgets every cached token-family verdict (after a family was revoked, e.g. on the
    /// reuse of a rotated refresh token), so its access tokens stop working at once.
    pub fn forget_families(&self) {
        self.revoked_families.invalidate_all();
    }

    /// Forgets a key at once (revocation takes effect immediately).
    pub fn invalidate_keys(&self) {
        self.keys.invalidate_all();
    }

    pub fn revoke_access(&self, jti: &str) {
        self.revoked_jti.insert(jti.to_owned(), ());
    }

    pub fn forget_family(&self, family: &str) {
        self.revoked_families.invalidate(family);
    }

    /// Counts a login attempt from `ip`; `Err(wait)` when the IP is over its limit.
    pub fn login_attempt_allowed(&self, ip: IpAddr) -> Result<(), Duration> {
        self.login_per_ip
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Issues an access token for a user's session `family`.
    pub fn issue_access(
        &self,
        user_id: &str,
        role: Role,
        family: &str,
    ) -> Result<(String, Claims), String> {
        self.jwt
            .issue(user_id, role.as_str(), family, self.access_ttl_s)
    }

    /// Writes the batched `last_used_at` updates (called every few seconds).
    pub async fn flush_last_used(&self) -> Result<(), StoreError> {
        let used: Vec<(String, String)> = match self.last_used.lock() {
            Ok(mut map) => map.drain().collect(),
            Err(_) => return Ok(()),
        };
        if used.is_empty() {
            return Ok(());
        }
        self.store
            .writer
            .write(move |conn| auth_store::touch_api_keys(conn, &used))
            .await
    }
}
