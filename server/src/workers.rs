//! Background work in the server process: sending queued email; removing
//! expired sessions (each removal of a signed-in session is audited as an idle
//! timeout); recording message expiries; checking behavioural alert rules; removing files of abandoned uploads; failing bulk
//! EOB uploads whose process died mid-upload. Logs name counts and outbox ids only: never an address, a code or
//! a link.

use std::time::Duration;

use portico_core::{
    alerts,
    config::{MailTransport, Settings},
    eob::uploads,
    messages,
    notify::{Courier, Delivery, FileTransport, SmtpTransport, Transport},
};
use tokio::{sync::watch, task::JoinHandle};

use crate::{serve::Services, ServerError};

/// How often the outbox is looked at.
const MAIL_EVERY: Duration = Duration::from_millis(500);
/// How many emails one sender claims at a time.
const MAIL_BATCH: u32 = 50;
/// How often expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The running workers. The session sweep stops with the process; the mail
/// sender is stopped with [`Workers::stop`] and finishes the email in hand.
pub struct Workers {
    stop: watch::Sender<bool>,
    mail: JoinHandle<()>,
}

impl Workers {
    /// Something that tells the mail sender to stop, for the shutdown signal.
    pub fn stopper(&self) -> impl FnOnce() + Send + 'static {
        let stop = self.stop.clone();
        move || {
            stop.send_replace(true);
        }
    }

    /// Tells the mail sender to stop and waits until it has: the email in hand
    /// is sent (or fails) and marked, the rest of its claim handed back.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(error) = self.mail.await {
            tracing::error!(%error, "outbox: the sender ended abnormally");
        }
    }
}

/// Starts the workers. A mail transport that cannot be set up (a missing
/// password or CA file) stops start-up here.
pub fn start(settings: &Settings, services: &Services) -> Result<Workers, ServerError> {
    let (stop, stopped) = watch::channel(false);
    let delivery = Delivery::new(settings.mail_from.clone(), settings.smtp_timeout);
    let public_url = settings.public_url.clone();
    let mail = match &settings.mail_transport {
        MailTransport::File => {
            let transport = FileTransport {
                dir: settings.data_dir.join("outbox"),
            };
            tracing::info!(dir = %transport.dir.display(), "email is written to files");
            tokio::spawn(send_mail(
                services.clone(),
                transport,
                public_url,
                delivery,
                stopped,
            ))
        }
        MailTransport::Smtp(smtp) => {
            let transport = SmtpTransport::new(smtp, settings.smtp_timeout)?;
            tracing::info!(host = %smtp.host, port = smtp.port, security = ?smtp.security, "email is sent over SMTP");
            tokio::spawn(send_mail(
                services.clone(),
                transport,
                public_url,
                delivery,
                stopped,
            ))
        }
    };
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
            match alerts::check(&sweep.store, &sweep.vault, portico_core::store::now_ms()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(alerts = n, "behavioural alerts raised");
                    // Their audit events were appended with them: index them soon.
                    sweep.audit.index_soon().await;
                }
                Err(error) => tracing::error!(%error, "alerts: checking the rules failed"),
            }
            match uploads::fail_abandoned(&sweep.store, uploads::PRESUMED_DEAD_AFTER).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    uploads = n,
                    "bulk EOB uploads cut off by a process's end marked failed"
                ),
                Err(error) => tracing::error!(%error, "eob: failing abandoned uploads failed"),
            }
        }
    });
    Ok(Workers { stop, mail })
}

async fn send_mail(
    services: Services,
    transport: impl Transport,
    public_url: url::Url,
    delivery: Delivery,
    mut stopped: watch::Receiver<bool>,
) {
    let courier = Courier {
        store: &services.store,
        vault: &services.vault,
        transport: &transport,
        public_url: &public_url,
        delivery: &delivery,
    };
    let mut tick = tokio::time::interval(MAIL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let gone = tokio::select! {
            _ = tick.tick() => false,
            changed = stopped.changed() => changed.is_err(),
        };
        if gone || *stopped.borrow() {
            break;
        }
        match courier.deliver(MAIL_BATCH, || *stopped.borrow()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(emails = n, "email sent"),
            Err(error) => tracing::error!(%error, "outbox: sending failed"),
        }
    }
    tracing::info!("outbox: sender stopped");
}
