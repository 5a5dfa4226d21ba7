//! The backup schedule: a tokio-cron-scheduler job on `backup.schedule` (six fields, seconds
//! first, UTC), started with the server when `backup.enabled`, plus a minute tick that keeps
//! the last-success gauge in step with backups taken by the CLI.

use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::AppState;
use crate::audit::Actor;

/// Starts the schedule in the background. Errors are logged; the server runs on without it.
pub fn start(state: AppState) {
    let dir = state.settings.backup_dir();
    super::refresh_last_success(&dir);
    let ticker_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if ticker_state.lifecycle.is_stopping() {
                break;
            }
            let dir = ticker_state.settings.backup_dir();
            let _ = tokio::task::spawn_blocking(move || super::refresh_last_success(&dir)).await;
        }
    });
    if !state.settings.backup.enabled {
        tracing::info!("scheduled backups are disabled (backup.enabled = false)");
        return;
    }
    tokio::spawn(async move {
        if let Err(e) = run(state).await {
            tracing::error!(error = %e, "cannot start the backup schedule");
        }
    });
}

async fn run(state: AppState) -> Result<(), tokio_cron_scheduler::JobSchedulerError> {
    let schedule = state.settings.backup.schedule.clone();
    let mut scheduler = JobScheduler::new().await?;
    let job_state = state.clone();
    let job = Job::new_async(schedule.as_str(), move |_, _| {
        let state = job_state.clone();
        Box::pin(async move {
            if state.lifecycle.is_stopping() {
                return;
            }
            if let Err(e) = super::take_now(&state, Actor::system()).await {
                tracing::error!(error = %e, "scheduled backup failed");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    tracing::info!(schedule = %schedule, "backup schedule started");
    // Keep the scheduler until the server stops.
    while !state.lifecycle.is_stopping() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    scheduler.shutdown().await?;
    Ok(())
}
