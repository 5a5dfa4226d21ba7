//! Trained models: the fraud model — L2 logistic regression over the scoring engine's stored
//! feature vectors ([`logistic`]), trained from labelled outcomes ([`train`]), measured on a
//! time-ordered holdout ([`evaluate`]), versioned in the `models` table ([`store`]) and served
//! to the engine through the [`crate::scoring::model::ModelSlot`] in `AppState` — and the
//! naive Bayes text classifier ([`text`]) used by message analysis and expense categorisation.
//!
//! Training runs on `POST /api/v1/models/train`, `ledgerguard model train`, and on the
//! `model.train_schedule` cron ([`spawn_background`]), which also picks up models activated by
//! another process (the CLI) within [`REFRESH_EVERY`].

pub mod evaluate;
pub mod logistic;
pub mod routes;
pub mod store;
pub mod text;
pub mod train;

use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::AppState;

/// How often the server checks the store for a model activated elsewhere.
pub const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Starts the scheduled training and the active-model refresh.
pub fn spawn_background(state: AppState) {
    let refresh = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if refresh.lifecycle.is_stopping() {
                break;
            }
            let (store, slot) = (refresh.store.clone(), refresh.model.clone());
            match tokio::task::spawn_blocking(move || train::refresh_slot(&store, &slot)).await {
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot refresh the fraud model"),
                Err(e) => tracing::warn!(error = %e, "fraud model refresh task failed"),
                Ok(Ok(())) => {}
            }
        }
    });
    tokio::spawn(async move {
        if let Err(e) = schedule_training(state).await {
            tracing::error!(error = %e, "cannot schedule fraud model training");
        }
    });
}

async fn schedule_training(state: AppState) -> anyhow::Result<()> {
    let scheduler = JobScheduler::new().await?;
    let expr = state.settings.model.train_schedule.clone();
    let job_state = state.clone();
    let job = Job::new_async(expr.as_str(), move |_, _| {
        let state = job_state.clone();
        Box::pin(async move {
            let (store, slot) = (state.store.clone(), state.model.clone());
            let min = state.settings.model.min_labels;
            let outcome =
                tokio::task::spawn_blocking(move || train::run(&store, &slot, min, |_| {})).await;
            match outcome {
                Ok(Ok(r)) => {
                    tracing::info!(version = %r.version, activated = r.activated, "scheduled fraud model training done")
                }
                Ok(Err(e)) => tracing::info!(reason = %e, "scheduled fraud model training skipped"),
                Err(e) => tracing::error!(error = %e, "scheduled fraud model training failed"),
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    // Keep the scheduler alive until shutdown.
    while !state.lifecycle.is_stopping() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut scheduler = scheduler;
    let _ = scheduler.shutdown().await;
    Ok(())
}
