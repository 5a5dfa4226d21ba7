//! Typed settings: embedded defaults, then the TOML file, then `LEDGERGUARD_<SECTION>__<KEY>`
//! environment overrides (env beats file beats defaults).
//!
//! This module owns loading and validating the configuration and printing it with secrets
//! redacted. It does not act on the settings; each feature reads its own section.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use ipnet::IpNet;
use serde::{Deserialize, Serialize, Serializer};

/// Where the config file lives when neither `--config` nor `LEDGERGUARD_CONFIG` says otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/ledgerguard/ledgerguard.toml";
/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "LEDGERGUARD_";

/// A value that must never be printed: `Debug`, `Display` and `Serialize` show `[redacted]`.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub cors: CorsSettings,
    pub storage: StorageSettings,
    pub logging: LoggingSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub scoring: ScoringSettings,
    pub expenses: ExpenseSettings,
    pub model: ModelSettings,
    pub backup: BackupSettings,
    pub metrics: MetricsSettings,
    pub notify: NotifySettings,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Base URL users reach the UI at (for the setup link); empty means derived from `listen`.
    pub public_url: String,
    /// Peers whose `X-Forwarded-For` is believed (addresses or CIDR ranges).
    pub trusted_proxies: Vec<String>,
    /// Send `Strict-Transport-Security` even without built-in TLS (behind a TLS proxy).
    pub hsts: bool,
    pub json_limit_bytes: usize,
    pub batch_limit_bytes: usize,
    pub import_limit_bytes: usize,
    pub max_batch_items: usize,
    pub request_head_timeout_s: u64,
    pub keep_alive_s: u64,
    pub shutdown_timeout_s: u64,
    /// Concurrent `GET /api/v1/events` streams; more are answered 503.
    pub max_event_streams: usize,
    pub tls: TlsSettings,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSettings {
    pub allowed_origins: Vec<String>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
    Extra,
}

impl Synchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
            Self::Extra => "EXTRA",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    pub data_dir: PathBuf,
    /// SQLite `synchronous`: `full` (default) survives power loss for every acknowledged write.
    pub synchronous: Synchronous,
    pub busy_timeout_ms: u64,
    /// Read connections in the pool.
    pub read_pool_size: u32,
    /// Most writes the writer folds into one transaction (group commit).
    pub write_batch_max: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    pub dir: PathBuf,
    /// `tracing` filter, e.g. `info` or `info,ledgerguard=debug`.
    pub level: String,
    pub retention_days: u32,
    /// Also write JSON lines to stdout (journald picks them up).
    pub stdout: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// File with the 32-byte HS256 key; empty means `<data_dir>/jwt.key`.
    pub jwt_key_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    pub access_token_minutes: u64,
    pub refresh_token_days: u64,
    pub bcrypt_cost: u32,
    pub lockout_threshold: u32,
    pub lockout_minutes: u64,
    pub password_min_length: usize,
    pub password_min_strength: u8,
    pub setup_token_minutes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub anonymous_per_minute: u32,
    pub anonymous_burst: u32,
    pub login_per_ip_per_15min: u32,
    pub user_per_minute: u32,
    pub user_burst: u32,
    pub api_key_per_minute: u32,
    pub api_key_burst: u32,
    pub analyze_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringSettings {
    pub review_threshold: u8,
    pub block_threshold: u8,
    /// Amounts just under this (in major units of the transaction currency) look like structuring.
    pub reporting_threshold: u64,
    /// Fastest plausible travel between two countries, km/h.
    pub max_travel_kmh: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExpenseSettings {
    /// Claims just under this (major units) look split to dodge approval.
    pub approval_limit: u64,
    /// Days within which an equal claim counts as a duplicate.
    pub duplicate_window_days: u32,
    /// IANA time zone budgets and reports align to, e.g. `Europe/Berlin`.
    pub timezone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSettings {
    /// Labelled transactions needed (of each outcome) before a model is trained.
    pub min_labels: u32,
    /// Cron (seconds first) of automatic retraining.
    pub train_schedule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    pub enabled: bool,
    /// Cron expression, six fields, seconds first.
    pub schedule: String,
    /// Empty means `<data_dir>/backups`.
    pub dir: Option<PathBuf>,
    pub keep: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    pub bearer_token: Secret,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifySettings {
    pub email: EmailSettings,
    pub webhooks: WebhookSettings,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    pub enabled: bool,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: Secret,
    pub from: String,
    pub to: Vec<String>,
    /// `low`, `medium`, `high` or `critical`.
    pub min_severity: String,
    /// Alerts arriving within this many seconds go out as one digest.
    pub digest_window_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    pub allow_private: bool,
    pub timeout_s: u64,
    pub max_response_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            workers: 0,
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            hsts: false,
            json_limit_bytes: 256 * 1024,
            batch_limit_bytes: 16 * 1024 * 1024,
            import_limit_bytes: 64 * 1024 * 1024,
            max_batch_items: 10_000,
            request_head_timeout_s: 10,
            keep_alive_s: 75,
            shutdown_timeout_s: 30,
            max_event_streams: 64,
            tls: TlsSettings::default(),
        }
    }
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/ledgerguard"),
            synchronous: Synchronous::Full,
            busy_timeout_ms: 5_000,
            read_pool_size: 8,
            write_batch_max: 512,
        }
    }
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("/var/log/ledgerguard"),
            level: "info".into(),
            retention_days: 30,
            stdout: true,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_key_file: None,
            issuer: "ledgerguard".into(),
            audience: "ledgerguard".into(),
            access_token_minutes: 15,
            refresh_token_days: 7,
            bcrypt_cost: 12,
            lockout_threshold: 5,
            lockout_minutes: 15,
            password_min_length: 12,
            password_min_strength: 3,
            setup_token_minutes: 60,
        }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            anonymous_per_minute: 100,
            anonymous_burst: 20,
            login_per_ip_per_15min: 30,
            user_per_minute: 600,
            user_burst: 100,
            api_key_per_minute: 1_200_000,
            api_key_burst: 20_000,
            analyze_per_minute: 60,
        }
    }
}

impl Default for ScoringSettings {
    fn default() -> Self {
        Self {
            review_threshold: 50,
            block_threshold: 85,
            reporting_threshold: 10_000,
            max_travel_kmh: 900,
        }
    }
}

impl Default for ExpenseSettings {
    fn default() -> Self {
        Self {
            approval_limit: 500,
            duplicate_window_days: 14,
            timezone: "UTC".into(),
        }
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            min_labels: 50,
            train_schedule: "0 0 3 * * Sun".into(),
        }
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            schedule: "0 0 2 * * *".into(),
            dir: None,
            keep: 14,
        }
    }
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bearer_token: Secret::default(),
        }
    }
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            smtp_host: String::new(),
            smtp_port: 587,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
            to: Vec::new(),
            min_severity: "high".into(),
            digest_window_s: 60,
        }
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private: true,
            timeout_s: 10,
            max_response_bytes: 64 * 1024,
        }
    }
}

/// A configuration problem, rendered as one line naming the key and where it came from.
#[derive(Debug, thiserror::Error)]
#[error("config error: {0}")]
pub struct ConfigError(pub String);

/// Which config file to read: `--config`, else `LEDGERGUARD_CONFIG`, else the default path.
/// The default path may be missing (embedded defaults apply); an explicit one may not.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    pub explicit: bool,
}

impl ConfigSource {
    pub fn resolve(cli: Option<PathBuf>) -> Self {
        if let Some(path) = cli {
            return Self {
                path,
                explicit: true,
            };
        }
        match std::env::var_os("LEDGERGUARD_CONFIG") {
            Some(p) if !p.is_empty() => Self {
                path: PathBuf::from(p),
                explicit: true,
            },
            _ => Self {
                path: PathBuf::from(DEFAULT_CONFIG_PATH),
                explicit: false,
            },
        }
    }
}

impl Settings {
    /// Loads defaults, the file and the environment, then validates the result.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if source.path.exists() || source.explicit {
            if let Err(e) = std::fs::File::open(&source.path) {
                return Err(ConfigError(format!(
                    "cannot read config file {}: {e}",
                    source.path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(&source.path));
        }
        figment = figment.merge(
            Env::prefixed(ENV_PREFIX)
                .split("__")
                .filter(|k| !k.as_str().eq_ignore_ascii_case("config")),
        );
        let settings: Settings = figment.extract().map_err(|e| describe_figment_error(&e))?;
        settings.validate().map_err(|(key, msg)| {
            let origin = figment
                .find_metadata(key)
                .map(|m| match &m.source {
                    Some(src) => format!("{} {}", m.name, src),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "defaults".into());
            ConfigError(format!("key `{key}` ({origin}): {msg}"))
        })?;
        Ok(settings)
    }

    /// Checks what types cannot: ranges, files, combinations. Returns the offending key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        self.server.listen.parse::<SocketAddr>().map_err(|_| {
            (
                "server.listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:8080",
                    self.server.listen
                ),
            )
        })?;
        for p in &self.server.trusted_proxies {
            parse_ip_or_net(p).ok_or((
                "server.trusted_proxies",
                format!("`{p}` is not an IP address or CIDR range"),
            ))?;
        }
        let positive = [
            (
                "server.json_limit_bytes",
                self.server.json_limit_bytes as u64,
            ),
            (
                "server.batch_limit_bytes",
                self.server.batch_limit_bytes as u64,
            ),
            (
                "server.import_limit_bytes",
                self.server.import_limit_bytes as u64,
            ),
            ("server.max_batch_items", self.server.max_batch_items as u64),
            (
                "server.request_head_timeout_s",
                self.server.request_head_timeout_s,
            ),
            ("server.shutdown_timeout_s", self.server.shutdown_timeout_s),
            (
                "storage.read_pool_size",
                u64::from(self.storage.read_pool_size),
            ),
            (
                "storage.write_batch_max",
                self.storage.write_batch_max as u64,
            ),
            (
                "logging.retention_days",
                u64::from(self.logging.retention_days),
            ),
            ("auth.access_token_minutes", self.auth.access_token_minutes),
            ("auth.refresh_token_days", self.auth.refresh_token_days),
            (
                "auth.lockout_threshold",
                u64::from(self.auth.lockout_threshold),
            ),
            ("auth.lockout_minutes", self.auth.lockout_minutes),
            ("auth.setup_token_minutes", self.auth.setup_token_minutes),
            (
                "rate_limit.anonymous_per_minute",
                u64::from(self.rate_limit.anonymous_per_minute),
            ),
            (
                "rate_limit.anonymous_burst",
                u64::from(self.rate_limit.anonymous_burst),
            ),
            (
                "rate_limit.login_per_ip_per_15min",
                u64::from(self.rate_limit.login_per_ip_per_15min),
            ),
            (
                "rate_limit.user_per_minute",
                u64::from(self.rate_limit.user_per_minute),
            ),
            (
                "rate_limit.user_burst",
                u64::from(self.rate_limit.user_burst),
            ),
            (
                "rate_limit.api_key_per_minute",
                u64::from(self.rate_limit.api_key_per_minute),
            ),
            (
                "rate_limit.api_key_burst",
                u64::from(self.rate_limit.api_key_burst),
            ),
            (
                "rate_limit.analyze_per_minute",
                u64::from(self.rate_limit.analyze_per_minute),
            ),
            ("backup.keep", u64::from(self.backup.keep)),
            ("notify.webhooks.timeout_s", self.notify.webhooks.timeout_s),
            (
                "server.max_event_streams",
                self.server.max_event_streams as u64,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err((key, "must be greater than 0".into()));
            }
        }
        if self.server.max_batch_items > 10_000 {
            return Err(("server.max_batch_items", "must be at most 10000".into()));
        }
        if !(10..=31).contains(&self.auth.bcrypt_cost) {
            return Err(("auth.bcrypt_cost", "must be between 10 and 31".into()));
        }
        if self.auth.password_min_length < 12 {
            return Err(("auth.password_min_length", "must be at least 12".into()));
        }
        if self.auth.password_min_strength > 4 {
            return Err((
                "auth.password_min_strength",
                "must be between 0 and 4 (zxcvbn score)".into(),
            ));
        }
        if self.scoring.block_threshold > 100 || self.scoring.block_threshold == 0 {
            return Err((
                "scoring.block_threshold",
                "must be between 1 and 100".into(),
            ));
        }
        if self.scoring.review_threshold == 0
            || self.scoring.review_threshold > self.scoring.block_threshold
        {
            return Err((
                "scoring.review_threshold",
                "must be between 1 and scoring.block_threshold".into(),
            ));
        }
        if self.cors.allow_credentials && self.cors.allowed_origins.iter().any(|o| o == "*") {
            return Err((
                "cors.allowed_origins",
                "`*` cannot be combined with cors.allow_credentials = true".into(),
            ));
        }
        for origin in &self.cors.allowed_origins {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err((
                    "cors.allowed_origins",
                    format!("`{origin}` is not an origin like https://example.com"),
                ));
            }
        }
        match (&self.server.tls.cert_file, &self.server.tls.key_file) {
            (Some(_), None) => {
                return Err((
                    "server.tls.key_file",
                    "is required when server.tls.cert_file is set".into(),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    "server.tls.cert_file",
                    "is required when server.tls.key_file is set".into(),
                ))
            }
            (Some(cert), Some(key)) => {
                readable(cert).map_err(|m| ("server.tls.cert_file", m))?;
                readable(key).map_err(|m| ("server.tls.key_file", m))?;
            }
            (None, None) => {}
        }
        if let Some(key) = &self.auth.jwt_key_file {
            if key.exists() {
                readable(key).map_err(|m| ("auth.jwt_key_file", m))?;
            }
        }
        if tracing_subscriber::EnvFilter::try_new(&self.logging.level).is_err() {
            return Err((
                "logging.level",
                format!("`{}` is not a log filter like `info`", self.logging.level),
            ));
        }
        for (key, expr) in [
            ("backup.schedule", &self.backup.schedule),
            ("model.train_schedule", &self.model.train_schedule),
        ] {
            crate::schedule::parse(expr).map_err(|m| (key, m))?;
        }
        if self.expenses.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err((
                "expenses.timezone",
                format!(
                    "`{}` is not an IANA time zone such as Europe/Berlin",
                    self.expenses.timezone
                ),
            ));
        }
        if !["low", "medium", "high", "critical"].contains(&self.notify.email.min_severity.as_str())
        {
            return Err((
                "notify.email.min_severity",
                "must be one of low, medium, high, critical".into(),
            ));
        }
        if self.notify.email.enabled
            && (self.notify.email.smtp_host.is_empty() || self.notify.email.from.is_empty())
        {
            return Err((
                "notify.email.smtp_host",
                "smtp_host and from are required when email is enabled".into(),
            ));
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.server
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    pub fn data_dir(&self) -> &Path {
        &self.storage.data_dir
    }

    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join("ledgerguard.db")
    }

    pub fn backup_dir(&self) -> PathBuf {
        self.backup
            .dir
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("backups"))
    }

    pub fn jwt_key_path(&self) -> PathBuf {
        self.auth
            .jwt_key_file
            .clone()
            .unwrap_or_else(|| self.storage.data_dir.join("jwt.key"))
    }

    /// Parsed trusted proxy ranges (validated at load).
    pub fn trusted_proxies(&self) -> Vec<IpNet> {
        self.server
            .trusted_proxies
            .iter()
            .filter_map(|p| parse_ip_or_net(p))
            .collect()
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

fn parse_ip_or_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

fn readable(path: &Path) -> Result<(), String> {
    std::fs::File::open(path)
        .map(|_| ())
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn describe_figment_error(e: &figment::Error) -> ConfigError {
    let key = if e.path.is_empty() {
        None
    } else {
        Some(e.path.join("."))
    };
    let origin = e.metadata.as_ref().map(|m| match &m.source {
        Some(src) => format!("{} {}", m.name, src),
        None => m.name.to_string(),
    });
    let mut line = String::new();
    if let Some(k) = key {
        line.push_str(&format!("key `{k}` "));
    }
    if let Some(o) = origin {
        line.push_str(&format!("({o}) "));
    }
    line.push_str(&e.kind.to_string());
    ConfigError(line.replace('\n', " "))
}
