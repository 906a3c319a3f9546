//! The outbox table and its sender.

use std::{future::Future, path::PathBuf};

use super::{CodePayload, Email, MailKind, NewItemPayload, StaffReplyPayload};
use crate::{
    store::{now_ms, on_pool, Store},
    vault::{KeyOwner, NormalizedEmail, Vault},
    Error, Result,
};

/// Queues one email; bind id, kind, identity id, organization id (or NULL), the
/// sealed payload and the time, in that order. Run it in the transaction that
/// made the reason for the email.
pub const ENQUEUE_SQL: &str = "INSERT INTO outbox (id, kind, identity_id, organization_id, \
     payload_sealed, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)";

/// As [`ENQUEUE_SQL`] for a thread's notice, with the thread id seventh.
pub const ENQUEUE_FOR_THREAD_SQL: &str =
    "INSERT INTO outbox (id, kind, identity_id, organization_id, \
     payload_sealed, created_at, attempts, next_attempt_at, thread_id) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $6, $7)";

/// Gives up on an email after this many failed attempts.
const MAX_ATTEMPTS: i64 = 12;

/// Where email goes: the file transport here, SMTP later.
pub trait Transport: Send + Sync {
    fn send(
        &self,
        to: &NormalizedEmail,
        email: &Email,
        message_id: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Writes each email as `<dir>/<message id>.eml`, readable by its owner only,
/// for running without a mail server (and for tests to read the codes).
pub struct FileTransport {
    pub dir: PathBuf,
}

impl Transport for FileTransport {
    async fn send(&self, to: &NormalizedEmail, email: &Email, message_id: &str) -> Result<()> {
        let io = |source| Error::Io {
            what: "the outbox directory".into(),
            source,
        };
        let text = format!(
            "From: Portico <no-reply@portico.invalid>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
             Message-ID: <{message_id}@portico.invalid>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
            to = to.as_str(),
            subject = email.subject,
            body = email.text.replace('\n', "\r\n"),
        );
        let dir = self.dir.clone();
        let name = format!("{message_id}.eml");
        tokio::task::spawn_blocking(move || {
            use std::{
                io::Write,
                os::unix::fs::{DirBuilderExt, OpenOptionsExt},
            };
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
            // Written aside, then renamed: a reader never sees half an email.
            let partial = dir.join(format!(".{name}.partial"));
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&partial)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&partial, dir.join(&name))
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)
    }
}

/// Sends up to `limit` emails that are due, and returns how many went out. A
/// failed send is retried later with a growing delay; an email whose identity
/// was erased is dropped.
pub async fn deliver_due(
    store: &Store,
    vault: &Vault,
    transport: &impl Transport,
    public_url: &url::Url,
    limit: u32,
) -> Result<u32> {
    let now = now_ms();
    type Row = (String, String, String, Option<String>, Vec<u8>, i64);
    let due: Vec<Row> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT id, kind, identity_id, organization_id, payload_sealed, attempts FROM outbox \
         WHERE sent_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2"
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await)?;
    let mut sent = 0;
    for (id, kind, identity_id, organization_id, sealed, attempts) in due {
        let outcome = send_one(
            store,
            vault,
            transport,
            public_url,
            &id,
            &kind,
            &identity_id,
            organization_id.as_deref(),
            &sealed,
        )
        .await;
        match outcome {
            Ok(()) => {
                sent += 1;
                finish(store, &id, None).await?;
            }
            Err(Error::Erased) => finish(store, &id, Some("the recipient was erased")).await?,
            Err(error) if attempts + 1 >= MAX_ATTEMPTS => {
                tracing::error!(outbox_id = %id, %error, "email given up after {MAX_ATTEMPTS} attempts");
                finish(store, &id, Some("given up")).await?;
            }
            Err(error) => {
                tracing::warn!(outbox_id = %id, %error, "email not sent; will retry");
                let delay = 30_000i64.saturating_mul(1 << attempts.clamp(0, 7));
                on_pool!(store, |pool| sqlx::query(
                    "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, \
                     last_error = $3 WHERE id = $1"
                )
                .bind(&id)
                .bind(now + delay.min(3_600_000))
                .bind("send failed")
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
    }
    Ok(sent)
}

#[allow(clippy::too_many_arguments)]
async fn send_one(
    store: &Store,
    vault: &Vault,
    transport: &impl Transport,
    public_url: &url::Url,
    id: &str,
    kind: &str,
    identity_id: &str,
    organization_id: Option<&str>,
    sealed: &[u8],
) -> Result<()> {
    let to = vault.email_of(identity_id).await?;
    let organization = match organization_id {
        Some(org) => Some(store.organizations().get(org).await?.display_name),
        None => None,
    };
    let plain = vault
        .open(sealed, &KeyOwner::Identity(identity_id.to_owned()))
        .await?;
    let email = match MailKind::from_name(kind) {
        Some(MailKind::SignInCode) => {
            Email::sign_in_code(&CodePayload::from_bytes(&plain)?, organization.as_deref())
        }
        Some(MailKind::NewItem) => {
            let payload = NewItemPayload::from_bytes(&plain)?;
            let mut link = public_url.clone();
            link.set_path(&format!("/open/{}", payload.token));
            Email::new_item(
                organization.as_deref().unwrap_or("Your care team"),
                link.as_str(),
            )
        }
        Some(MailKind::StaffReply) => {
            let payload = StaffReplyPayload::from_bytes(&plain)?;
            let mut link = public_url.clone();
            link.set_path(&format!("/thread/{}", payload.thread_id));
            Email::staff_reply(&payload.mailbox, link.as_str())
        }
        None => {
            return Err(Error::Invalid {
                field: "kind",
                problem: format!("no sender for outbox kind {kind:?} yet"),
            })
        }
    };
    transport.send(&to, &email, id).await
}

/// Marks an email done (sent, or dropped with `why`) and forgets its sealed payload.
async fn finish(store: &Store, id: &str, why: Option<&str>) -> Result<()> {
    on_pool!(store, |pool| sqlx::query(
        "UPDATE outbox SET sent_at = $2, payload_sealed = $3, last_error = $4 WHERE id = $1"
    )
    .bind(id)
    .bind(now_ms())
    .bind(Vec::<u8>::new())
    .bind(why)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
