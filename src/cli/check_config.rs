//! `ledgerguard check-config`: validates the configuration (the same checks `serve` runs) and
//! prints the effective settings as TOML with secrets redacted.

use crate::config::{ConfigSource, Settings};

pub fn run(settings: &Settings, source: &ConfigSource) -> anyhow::Result<()> {
    let origin = if source.path.exists() {
        source.path.display().to_string()
    } else {
        format!("embedded defaults ({} not found)", source.path.display())
    };
    println!("# configuration is valid; read from {origin} and LEDGERGUARD_* environment");
    print!("{}", settings.redacted_toml());
    Ok(())
}
