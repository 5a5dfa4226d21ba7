//! Built-in TLS with rustls (aws-lc-rs provider): loads the PEM certificate chain and key
//! named in `server.tls`.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;

/// Installs the process-wide rustls crypto provider (idempotent).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A rustls server config from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    install_crypto_provider();
    let certs = rustls_pemfile::certs(&mut BufReader::new(
        File::open(cert)
            .with_context(|| format!("cannot read server.tls.cert_file {}", cert.display()))?,
    ))
    .collect::<Result<Vec<_>, _>>()
    .with_context(|| format!("server.tls.cert_file {} is not PEM", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "server.tls.cert_file {} holds no certificate",
            cert.display()
        );
    }
    let key = rustls_pemfile::private_key(&mut BufReader::new(
        File::open(key)
            .with_context(|| format!("cannot read server.tls.key_file {}", key.display()))?,
    ))
    .with_context(|| format!("server.tls.key_file {} is not PEM", key.display()))?
    .with_context(|| format!("server.tls.key_file {} holds no private key", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
