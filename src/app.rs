//! Builds the application: shared state, middleware order, the route table, the listener
//! (plain or rustls), signal handling, systemd notification and graceful shutdown.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::auth::middleware::{authenticate, rate_limit, RateLimits};
use crate::auth::AuthService;
use crate::config::Settings;
use crate::events::EventBus;
use crate::health::{self, Lifecycle};
use crate::http::envelope::envelope;
use crate::http::extract::BodyLimits;
use crate::http::routes::ApiRoutes;
use crate::http::{ApiError, HttpPolicy};
use crate::store::{DataDirLock, Store};

/// Everything handlers share. Cheap to clone (all fields are handles).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub lifecycle: Arc<Lifecycle>,
    pub started: Instant,
    pub events: EventBus,
    pub engine: Arc<crate::scoring::Engine>,
    pub live: crate::sse::LiveStreams,
    pub webhooks: crate::notify::Wake,
    /// The active fraud model, swapped after training.
    pub model: crate::scoring::model::ModelSlot,
    /// The expense categoriser, retrained as corrections arrive.
    pub categorizer: crate::expenses::categorize::Categorizer,
    pub auth: Arc<AuthService>,
    pub rate_limits: Arc<RateLimits>,
}

impl AppState {
    /// The ingestion pipeline (validation, scoring, storage).
    pub fn pipeline(&self) -> crate::transactions::ingest::Pipeline {
        crate::transactions::ingest::Pipeline {
            store: self.store.clone(),
            engine: self.engine.clone(),
            events: self.events.clone(),
            categorizer: Some(self.categorizer.clone()),
        }
    }

    /// The backup schedule's interval (a day when it cannot be computed).
    pub fn backup_interval(&self) -> Duration {
        crate::schedule::interval(&self.settings.backup.schedule)
            .unwrap_or(Duration::from_secs(86_400))
    }
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    _lock: DataDirLock,
}

/// Options the CLI and tests vary.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Install SIGTERM/SIGINT handlers (off in in-process tests).
    pub handle_signals: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            handle_signals: true,
        }
    }
}

impl Application {
    /// Locks the data dir, opens and migrates the store, and binds the listener.
    pub async fn build(settings: Settings, options: RunOptions) -> anyhow::Result<Self> {
        crate::store::ensure_private_dir(settings.data_dir()).with_context(|| {
            format!(
                "cannot create the data dir {}",
                settings.data_dir().display()
            )
        })?;
        let lock = DataDirLock::acquire(settings.data_dir()).map_err(anyhow::Error::msg)?;
        let settings = Arc::new(settings);
        let store = {
            let s = settings.clone();
            tokio::task::spawn_blocking(move || Store::open(&s)).await??
        };
        // The fraud model slot is shared: training swaps the model the engine consults.
        let (model, categorizer) = {
            let st = store.clone();
            tokio::task::spawn_blocking(move || crate::model::train::load_models(&st)).await?
        };
        let engine = {
            let (s, st, m) = (settings.clone(), store.clone(), model.clone());
            tokio::task::spawn_blocking(move || crate::scoring::start(&s, &st, m)).await??
        };
        crate::scoring::spawn_refresh(engine.clone(), store.clone());
        let auth = {
            let (s, st) = (settings.clone(), store.clone());
            Arc::new(
                tokio::task::spawn_blocking(move || AuthService::new(&s, st))
                    .await?
                    .map_err(anyhow::Error::msg)?,
            )
        };
        let state = AppState {
            settings: settings.clone(),
            store,
            lifecycle: Arc::new(Lifecycle::default()),
            started: Instant::now(),
            events: EventBus::default(),
            engine,
            live: crate::sse::LiveStreams::new(settings.server.max_event_streams),
            webhooks: crate::notify::Wake::default(),
            model,
            categorizer,
            auth,
            rate_limits: Arc::new(RateLimits::new(&settings.rate_limit)),
        };

        let listener = TcpListener::bind(settings.listen_addr())
            .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let server = serve(listener, state.clone())?;
        if options.handle_signals {
            spawn_signal_handler(server.handle(), state.lifecycle.clone());
        }
        Ok(Self {
            port,
            server,
            state,
            _lock: lock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped, then flushes the writer and closes the store.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Application {
            server,
            state,
            _lock,
            ..
        } = self;
        state.lifecycle.set_ready();
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        spawn_watchdog(state.clone());
        crate::sse::spawn_stats_ticker(state.clone());
        crate::notify::start(state.clone());
        crate::budgets::spawn_evaluator(state.clone());
        crate::model::spawn_background(state.clone());
        spawn_background(state.clone());
        crate::backup::schedule::start(state.clone());
        announce_setup(&state).await;
        tracing::info!(listen = %state.settings.server.listen, version = env!("CARGO_PKG_VERSION"), "ledgerguard is ready");
        let result = server.await;
        state.lifecycle.set_stopping();
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.close()).await?;
        tracing::info!("ledgerguard stopped");
        drop(_lock);
        result.context("the HTTP server failed")
    }
}

fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let settings = state.settings.clone();
    let policy = web::Data::new(HttpPolicy::from_settings(&settings));
    let limits = web::Data::new(BodyLimits {
        json: settings.server.json_limit_bytes,
        batch: settings.server.batch_limit_bytes,
        import: settings.server.import_limit_bytes,
    });
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(policy.clone())
            .app_data(limits.clone())
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::bad_request(format!("The query string is invalid: {e}.")).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
            .app_data(
                web::JsonConfig::default()
                    .limit(256 * 1024)
                    .error_handler(|e, _| {
                        ApiError::bad_request(format!("The body is not valid JSON: {e}.")).into()
                    }),
            )
            .configure(health::routes)
            .configure(crate::openapi::routes)
            .service(
                web::scope("/api/v1")
                    .configure(api_routes)
                    .wrap(from_fn(rate_limit))
                    .wrap(from_fn(crate::sse::ticket_auth))
                    .wrap(from_fn(authenticate)),
            )
            .configure(crate::ui::routes)
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::not_found())
            }))
            .wrap(from_fn(envelope))
    })
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_timeout_s)
    .keep_alive(Duration::from_secs(settings.server.keep_alive_s))
    .client_request_timeout(Duration::from_secs(settings.server.request_head_timeout_s))
    .client_disconnect_timeout(Duration::from_secs(5))
    .backlog(2048);
    if settings.server.workers > 0 {
        server = server.workers(settings.server.workers);
    }
    let server = match (
        &settings.server.tls.cert_file,
        &settings.server.tls.key_file,
    ) {
        (Some(cert), Some(key)) => {
            let config = crate::tls::server_config(cert, key)?;
            server.listen_rustls_0_23(listener, config)?
        }
        _ => server.listen(listener)?,
    };
    Ok(server.run())
}

/// The `/api/v1` route table; each feature adds its routes here.
pub fn api_table() -> ApiRoutes {
    let mut api = ApiRoutes::default();
    crate::auth::api_routes(&mut api);
    crate::audit::routes::routes(&mut api);
    crate::backup::routes::routes(&mut api);
    crate::transactions::routes::routes(&mut api);
    crate::rules::routes::routes(&mut api);
    crate::lists::routes::routes(&mut api);
    crate::accounts::routes::routes(&mut api);
    crate::alerts::routes::routes(&mut api);
    crate::stats::routes::routes(&mut api);
    crate::sse::routes(&mut api);
    crate::notify::routes::routes(&mut api);
    crate::analyze::routes::routes(&mut api);
    crate::budgets::routes::routes(&mut api);
    crate::expenses::routes::routes(&mut api);
    crate::labels::routes::routes(&mut api);
    crate::model::routes::routes(&mut api);
    api
}

fn api_routes(cfg: &mut web::ServiceConfig) {
    api_table().register(cfg);
}

fn spawn_signal_handler(handle: ServerHandle, lifecycle: Arc<Lifecycle>) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received; draining"),
            _ = int.recv() => tracing::info!("SIGINT received; draining"),
        }
        lifecycle.set_stopping();
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        handle.stop(true).await;
    });
}

/// Pings the systemd watchdog at half its interval, but only while the database answers, so
/// a wedged store gets the service restarted.
fn spawn_watchdog(state: AppState) {
    let mut usec = 0u64;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return;
    }
    let period = Duration::from_micros(usec / 2);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            if state.lifecycle.is_stopping() {
                break;
            }
            let pool = state.store.pool.clone();
            let healthy = tokio::task::spawn_blocking(move || {
                pool.get()
                    .ok()
                    .and_then(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).ok())
                    .is_some()
            })
            .await
            .unwrap_or(false);
            if healthy {
                let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            } else {
                tracing::error!("database unhealthy; withholding the systemd watchdog ping");
            }
        }
    });
}

/// Periodic housekeeping: batched API key `last_used_at` updates, rate-limiter memory, old logs.
fn spawn_background(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            if ticks.is_multiple_of(720) {
                // Hourly (and at start): old log files go by the date in their name.
                let s = state.settings.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    crate::logging::prune_old_logs(&s.logging.dir, s.logging.retention_days)
                })
                .await;
            }
            ticks += 1;
            state.rate_limits.housekeeping();
            if let Err(e) = state.auth.flush_last_used().await {
                tracing::warn!(error = %e, "cannot record API key use");
            }
            if state.lifecycle.is_stopping() {
                break;
            }
        }
    });
}

/// On an empty user table, logs the one-time setup URL (valid one hour, single use).
async fn announce_setup(state: &AppState) {
    let st = state.clone();
    match tokio::task::spawn_blocking(move || crate::auth::routes::issue_setup_url(&st)).await {
        Ok(Ok(Some(url))) => {
            tracing::warn!(setup_url = %url, "no users exist yet: open the setup URL within the hour to create the first admin (or run `ledgerguard init --admin-email ...`)")
        }
        Ok(Ok(None)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot create a setup token"),
        Err(e) => tracing::error!(error = %e, "setup token task failed"),
    }
}
