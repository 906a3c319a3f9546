//! https without a proxy, as a browser and an operator see it: `portico serve`
//! with a certificate and key answers over TLS 1.3 and 1.2 with HSTS, and a
//! new certificate written over the files is served after SIGHUP.

mod support;

use std::{sync::Arc, time::Duration};

use rustls::{
    crypto::ring::default_provider,
    pki_types::{CertificateDer, ServerName},
    version::{TLS12, TLS13},
    ClientConfig, ProtocolVersion, RootCertStore, SupportedProtocolVersion,
};
use support::{free_port, wait_for, Portico};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

/// A self-signed certificate for `localhost`, written to `cert.pem` and
/// `key.pem` in `dir`; returns it, to be trusted by a client.
fn write_certificate(dir: &std::path::Path) -> CertificateDer<'static> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    made.cert.der().clone()
}

/// `GET /healthz` over TLS, trusting only `trusted`, offering only `versions`:
/// the protocol agreed and the response, or why the handshake failed.
async fn healthz(
    port: u16,
    trusted: &CertificateDer<'static>,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<(ProtocolVersion, String), String> {
    let mut roots = RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // A peer that closes without close_notify still sent the whole response.
    let _ = tls.read_to_end(&mut response).await;
    let version = tls.get_ref().1.protocol_version().unwrap();
    Ok((version, String::from_utf8_lossy(&response).into_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_is_served_directly_and_a_new_certificate_is_taken_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_certificate(dir.path());
    let port = free_port();
    let mut portico = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            Portico::serve(&[
                ("PORTICO_LISTEN", format!("127.0.0.1:{port}")),
                ("PORTICO_PUBLIC_URL", format!("https://localhost:{port}")),
                ("PORTICO_DATA_DIR", dir.join("data").display().to_string()),
                (
                    "PORTICO_TLS_CERT_FILE",
                    dir.join("cert.pem").display().to_string(),
                ),
                (
                    "PORTICO_TLS_KEY_FILE",
                    dir.join("key.pem").display().to_string(),
                ),
            ])
        }
    })
    .await
    .unwrap();

    let (version, response) = healthz(port, &first, &[&TLS13, &TLS12]).await.unwrap();
    assert_eq!(version, ProtocolVersion::TLSv1_3);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age="),
        "{response}"
    );
    let (version, response) = healthz(port, &first, &[&TLS12]).await.unwrap();
    assert_eq!(
        version,
        ProtocolVersion::TLSv1_2,
        "TLS 1.2 clients still get in"
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // Plain http on the TLS port gets no page.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer)).await;
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));

    // A renewed certificate, written over the files, is served after SIGHUP.
    let second = write_certificate(dir.path());
    portico.signal("HUP");
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        wait_for(
            "the new certificate after SIGHUP",
            Duration::from_secs(10),
            || rt.block_on(healthz(port, &second, &[&TLS13])).ok(),
        )
    })
    .await
    .unwrap();
    let old = healthz(port, &first, &[&TLS13]).await;
    assert!(old.is_err(), "the old certificate is no longer served");
    assert!(portico.log().contains("TLS certificate and key reloaded"));

    // Files that do not load leave the certificate in use as it was.
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    portico.signal("HUP");
    wait_for(
        "the failed reload to be logged",
        Duration::from_secs(10),
        || {
            portico
                .log()
                .contains("TLS files not reloaded")
                .then_some(())
        },
    );
    let second_again = rcgen_der(&dir.path().join("cert.pem"));
    let (_, response) = healthz(port, &second_again, &[&TLS13]).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(portico.terminate(), "stops cleanly on SIGTERM");
}

/// The certificate in a PEM file, as a client would be told to trust it.
fn rcgen_der(pem: &std::path::Path) -> CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file(pem).unwrap()
}
