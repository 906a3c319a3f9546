//! Background work in the server process: sending queued email; removing
//! expired sessions (each removal of a signed-in session is audited as an idle
//! timeout); recording message expiries; removing files of abandoned uploads.

use std::time::Duration;

use portico_core::{
    config::{MailTransport, Settings},
    messages,
    notify::{deliver_due, FileTransport},
};

use crate::{serve::Services, ServerError};

/// How often the outbox is looked at.
const MAIL_EVERY: Duration = Duration::from_millis(500);
/// How often expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Starts the workers; they stop when the process does.
pub fn start(settings: &Settings, services: &Services) -> Result<(), ServerError> {
    let transport = match &settings.mail_transport {
        MailTransport::File => FileTransport {
            dir: settings.data_dir.join("outbox"),
        },
        MailTransport::Smtp(_) => {
            return Err(ServerError::Unsupported(
                "mail_transport: SMTP sending is not built yet; use \"file\"".into(),
            ))
        }
    };
    let mail = services.clone();
    let public_url = settings.public_url.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(MAIL_EVERY);
        loop {
            tick.tick().await;
            match deliver_due(&mail.store, &mail.vault, &transport, &public_url, 50).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(emails = n, dir = %transport.dir.display(), "email written to the outbox directory")
                }
                Err(error) => tracing::error!(%error, "outbox: sending failed"),
            }
        }
    });
    let sweep = services.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(error) = sweep.expire_sessions().await {
                tracing::error!(%error, "sessions: sweep failed");
            }
            if let Err(error) = messages::record_expired(&sweep.store, &sweep.audit).await {
                tracing::error!(%error, "messages: recording expiries failed");
            }
            if let Err(error) = messages::attachments::remove_abandoned(&sweep.store).await {
                tracing::error!(%error, "messages: removing abandoned uploads failed");
            }
        }
    });
    Ok(())
}
