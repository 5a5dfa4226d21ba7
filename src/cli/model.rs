//! `ledgerguard model train`: trains the fraud model from labelled outcomes, with a progress
//! bar on a terminal and plain progress lines otherwise. Works beside a running server: the
//! server notices a newly activated model within `crate::model::REFRESH_EVERY`.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Settings;
use crate::model::train::{self, Progress};
use crate::scoring::model::ModelSlot;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Retrain the fraud model from labelled outcomes; activate it if it is not worse.
    Train,
}

pub fn run(settings: &Settings, cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Train => train_model(settings),
    }
}

fn train_model(settings: &Settings) -> anyhow::Result<()> {
    let path = settings.database_path();
    if !path.exists() {
        anyhow::bail!("no database at {}", path.display());
    }
    let store = Store::open(settings).with_context(|| {
        format!(
            "cannot open the database in {}",
            settings.data_dir().display()
        )
    })?;
    let terminal = std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });
    let report = train::run(
        &store,
        &ModelSlot::default(),
        settings.model.min_labels,
        |p| {
            let line = match p {
                Progress::Loading => "reading labelled transactions".to_owned(),
                Progress::Loaded { rows } => format!("read {rows} labelled transactions"),
                Progress::Fitting { iteration, of } => {
                    if let Some(b) = &bar {
                        b.set_length(of as u64);
                        b.set_position(iteration as u64);
                        b.set_message("fitting");
                        return;
                    }
                    format!("fitting: Newton step {iteration} (at most {of})")
                }
                Progress::Evaluating => "measuring on the holdout".to_owned(),
                Progress::Saving => "saving the model".to_owned(),
            };
            match &bar {
                Some(b) => b.set_message(line),
                None => eprintln!("{line}"),
            }
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    store.close();
    let report = report?;
    let m = &report.metrics;
    println!(
        "model {} trained on {} transactions, measured on the newest {}: precision {:.3}, recall {:.3}, AUC ROC {:.3}, average precision {:.3}, precision@100 {:.3}",
        report.version,
        report.train_size,
        report.holdout_size,
        m.precision,
        m.recall,
        m.auc_roc,
        m.average_precision,
        m.precision_at_100
    );
    match (&report.previous_version, &report.previous_metrics) {
        (Some(v), Some(p)) => println!(
            "previous model {v} on the same holdout: average precision {:.3}, AUC ROC {:.3}",
            p.average_precision, p.auc_roc
        ),
        _ => println!("no model was active before"),
    }
    if report.activated {
        println!("{} is now active", report.version);
    } else {
        println!(
            "{} is stored but NOT activated: it is worse than the active model",
            report.version
        );
    }
    Ok(())
}
