//! The command line: one file per subcommand. Every command reads the same config.
//! Exit codes: 0 ok, 1 the operation failed, 2 bad usage or bad config.

mod backup;
mod check_config;
mod demo;
mod identity;
mod import;
mod model;
mod restore;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{ConfigSource, Settings};

/// Exit code: the operation failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage or bad config.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "ledgerguard", version, about = "Self-hosted fraud and expense monitoring appliance", long_about = None)]
pub struct Cli {
    /// Config file (default /etc/ledgerguard/ledgerguard.toml; also LEDGERGUARD_CONFIG).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance (the default when no command is given).
    Serve,
    /// Run a throwaway demo: temp data dir, demo users, live synthetic traffic with fraud.
    Demo(demo::DemoArgs),
    /// Validate the configuration and print it with secrets redacted.
    CheckConfig,
    /// Take a verified backup now (`--out DIR`), or `backup list`.
    Backup(backup::BackupArgs),
    /// Replace the database with a verified backup (the server must be stopped).
    Restore(restore::RestoreArgs),
    /// Prepare the data dir and optionally create the first admin.
    Init(identity::InitArgs),
    /// Manage users.
    #[command(subcommand)]
    User(identity::UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(identity::ApiKeyCommand),
    /// Inspect the audit trail.
    #[command(subcommand)]
    Audit(identity::AuditCommand),
    /// Bulk ingest a CSV or NDJSON file (scores every row; refuses while a server runs).
    Import(import::ImportArgs),
    /// Train the fraud model.
    #[command(subcommand)]
    Model(model::ModelCommand),
}

/// Parses the command line, runs the command and maps its outcome to an exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    crate::tls::install_crypto_provider();
    let source = ConfigSource::resolve(cli.config.clone());
    let settings = match Settings::load(&source) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ledgerguard: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // `serve` sets up its own logging; other commands log warnings to stderr and audit lines
    // to the audit file.
    let _guards = (!matches!(command, Command::Serve | Command::Demo(_)))
        .then(|| crate::logging::init(&settings, crate::logging::LogMode::Cli));
    let outcome = match command {
        Command::Serve => serve::run(settings),
        Command::Demo(args) => demo::run(settings, args),
        Command::CheckConfig => check_config::run(&settings, &source),
        Command::Backup(args) => backup::run(&settings, args),
        Command::Restore(args) => restore::run(&settings, args),
        Command::Init(args) => identity::init(&settings, args),
        Command::User(cmd) => identity::user(&settings, cmd),
        Command::Apikey(cmd) => identity::apikey(&settings, cmd),
        Command::Audit(cmd) => identity::audit(&settings, cmd),
        Command::Import(args) => import::run(&settings, args),
        Command::Model(cmd) => model::run(&settings, cmd),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ledgerguard: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// A tokio runtime for commands that need one.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
