//! `ledgerguard serve`: runs the appliance until SIGTERM or SIGINT.

use crate::app::{Application, RunOptions};
use crate::config::Settings;
use crate::logging::{self, LogMode};

pub fn run(settings: Settings) -> anyhow::Result<()> {
    let _guards = logging::init(&settings, LogMode::Server);
    let rt = super::runtime()?;
    rt.block_on(async move {
        let app = Application::build(settings, RunOptions::default()).await?;
        app.run_until_stopped().await
    })
}
