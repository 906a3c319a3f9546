//! https without a proxy: the certificate chain and key files named by
//! `tls_cert_file` and `tls_key_file`, served with rustls (ring), TLS 1.2 and
//! 1.3 only, HTTP/2 and HTTP/1.1. SIGHUP rereads both files and swaps them in
//! for new connections; if they do not load, the old ones stay and the log says
//! why.

use std::sync::Arc;

use axum_server::tls_rustls::RustlsConfig;
use portico_core::config::TlsFiles;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    version::{TLS12, TLS13},
    ServerConfig,
};

use crate::ServerError;

fn invalid(what: &str, problem: impl std::fmt::Display) -> ServerError {
    ServerError::Io {
        what: what.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, problem.to_string()),
    }
}

/// The rustls configuration for these files.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, ServerError> {
    let cert_what = format!("TLS certificate {}", files.cert_file.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_file)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| invalid(&cert_what, e))?;
    if certs.is_empty() {
        return Err(invalid(&cert_what, "holds no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .map_err(|e| invalid(&format!("TLS key {}", files.key_file.display()), e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|e| invalid("TLS", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(&cert_what, format!("does not fit its key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Loads the files now, for a listener.
pub fn load(files: &TlsFiles) -> Result<RustlsConfig, ServerError> {
    Ok(RustlsConfig::from_config(server_config(files)?))
}

/// Rereads the files on every SIGHUP, for as long as the process runs.
pub fn reload_on_sighup(files: TlsFiles, config: RustlsConfig) -> Result<(), ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = signal(SignalKind::hangup()).map_err(ServerError::io("SIGHUP handler"))?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match server_config(&files) {
                Ok(new) => {
                    config.reload_from_config(new);
                    tracing::info!("SIGHUP: TLS certificate and key reloaded");
                }
                Err(error) => {
                    tracing::error!(%error, "SIGHUP: TLS files not reloaded; the previous ones stay in use");
                }
            }
        }
    });
    Ok(())
}
