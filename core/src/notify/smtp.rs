//! Sending over SMTP with lettre: STARTTLS required (`smtp://`) or TLS from the
//! first byte (`smtps://`), through rustls with the system's roots and an
//! optional extra CA file; unencrypted only to this machine (`smtp+insecure://`).

use std::{path::Path, time::Duration};

use lettre::{
    message::Message,
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};

use super::Transport;
use crate::{
    config::{SmtpPassword, SmtpSecurity, SmtpSettings},
    Error, Result,
};

/// An SMTP client for one server. Each email is one SMTP session, so a failure
/// of one never leaves the next in doubt.
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    /// Builds the client, reading the password file and the CA file now, so a
    /// missing or bad file stops start-up naming its setting. `timeout` bounds
    /// connecting and each command.
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Self> {
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(timeout));
        let builder = match settings.security {
            SmtpSecurity::StartTls => builder.tls(Tls::Required(tls(settings)?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls(settings)?)),
            SmtpSecurity::InsecureLoopback => builder.tls(Tls::None),
        };
        let builder = match &settings.credentials {
            Some((user, password)) => {
                builder.credentials(Credentials::new(user.clone(), read_password(password)?))
            }
            None => builder,
        };
        Ok(Self {
            inner: builder.build(),
        })
    }
}

impl Transport for SmtpTransport {
    async fn send(&self, message: &Message, _outbox_id: &str) -> Result<()> {
        self.inner
            .send_raw(message.envelope(), &message.formatted())
            .await
            .map(|_| ())
            .map_err(|e| Error::Mail(describe(&e)))
    }
}

/// What went wrong, in words that never repeat the server's text (which may
/// echo the address): for an answer, its kind and status code; for a failure to
/// connect or of TLS, the cause as the network stack or TLS library words it.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        let what = if error.is_permanent() {
            "refused"
        } else {
            "deferred"
        };
        return format!("the mail server {what} the email ({code})");
    }
    if error.is_response() {
        return "the mail server's answer made no sense".into();
    }
    if error.is_timeout() {
        return "the mail server did not answer in time".into();
    }
    let mut cause = None;
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    match cause {
        Some(cause) => format!("could not talk to the mail server: {cause}"),
        None => "could not talk to the mail server".into(),
    }
}

fn tls(settings: &SmtpSettings) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        builder = builder.add_root_certificate(read_ca(path)?);
    }
    builder.build_rustls().map_err(|_| Error::Invalid {
        field: "mail_transport",
        problem: "TLS with this host cannot be set up".into(),
    })
}

fn read_ca(path: &Path) -> Result<Certificate> {
    let invalid = |problem: String| Error::Invalid {
        field: "smtp_ca_file",
        problem,
    };
    let pem = std::fs::read(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    let has_cert = String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----");
    match Certificate::from_pem(&pem) {
        Ok(cert) if has_cert => Ok(cert),
        _ => Err(invalid(format!(
            "{} holds no PEM certificate",
            path.display()
        ))),
    }
}

fn read_password(password: &SmtpPassword) -> Result<String> {
    match password {
        SmtpPassword::Value(value) => Ok(value.as_str().to_owned()),
        SmtpPassword::File(path) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                Error::Invalid {
                    field: "smtp_password_file",
                    problem: format!("{}: {e}", path.display()),
                }
            })?);
            match text.lines().next() {
                Some(line) if !line.is_empty() => Ok(line.to_owned()),
                _ => Err(Error::Invalid {
                    field: "smtp_password_file",
                    problem: format!("{} is empty", path.display()),
                }),
            }
        }
    }
}
