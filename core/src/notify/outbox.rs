//! The outbox table and its sender: claim, send, mark sent (see the module notes
//! in `notify` for why a row can, rarely, be sent twice but never lost).

use std::{future::Future, path::PathBuf, time::Duration};

use lettre::message::{Mailbox, Message};

use super::{
    AlertPayload, CodePayload, Email, Logo, MailKind, NewItemPayload, Payload, StaffReplyPayload,
};
use crate::{
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
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

/// Gives up on an email after this many attempts.
const MAX_ATTEMPTS: i64 = 12;

/// Where email goes: files, or an SMTP server.
pub trait Transport: Send + Sync {
    /// Hands over one email; `Ok` once the other side has taken it (for SMTP,
    /// the server's 250 after the data). `outbox_id` names the row.
    fn send(&self, message: &Message, outbox_id: &str) -> impl Future<Output = Result<()>> + Send;
}

/// Writes each email as `<dir>/<outbox id>.eml`, readable by its owner only,
/// for running without a mail server (and for tests to read the codes). The
/// bytes are those the SMTP transport would send.
pub struct FileTransport {
    pub dir: PathBuf,
}

impl Transport for FileTransport {
    async fn send(&self, message: &Message, outbox_id: &str) -> Result<()> {
        let io = |source| Error::Io {
            what: "the outbox directory".into(),
            source,
        };
        let bytes = message.formatted();
        let dir = self.dir.clone();
        let name = format!("{outbox_id}.eml");
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
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&partial, dir.join(&name))
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)
    }
}

/// How a sender works: who it is, the sender address, and its clocks.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Names this sender's leases; unique per sender.
    pub worker: String,
    /// `From:` of every email, and the domain of its `Message-ID`.
    pub from: Mailbox,
    /// The longest one email may take; a lease lasts twice this and 5 seconds.
    pub send_timeout: Duration,
    /// The wait before the first retry; it doubles with each failure...
    pub retry_first: Duration,
    /// ...up to this.
    pub retry_cap: Duration,
}

impl Delivery {
    pub fn new(from: Mailbox, send_timeout: Duration) -> Self {
        Self {
            worker: new_id(),
            from,
            send_timeout,
            retry_first: Duration::from_secs(30),
            retry_cap: Duration::from_secs(3600),
        }
    }

    fn lease_ms(&self) -> i64 {
        millis(self.send_timeout.saturating_mul(2) + Duration::from_secs(5))
    }

    fn retry_delay_ms(&self, attempts: i64) -> i64 {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let delay = self
            .retry_first
            .saturating_mul(1u32 << doublings)
            .min(self.retry_cap);
        millis(delay)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Emails not yet sent (due or waiting to be retried), for monitoring.
pub async fn backlog(store: &Store) -> Result<i64> {
    Ok(on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"
    )
    .fetch_one(pool)
    .await)?)
}

/// Marks every email still queued as sent, without sending it; returns how
/// many. Only for data nobody will read (the load benchmark's seed, on a
/// database it made): the sender would otherwise spend the benchmark on them.
pub async fn mark_all_sent_unsent(store: &Store) -> Result<u64> {
    let marked = on_pool!(store, |pool| {
        sqlx::query(
        "UPDATE outbox SET sent_at = $1, last_error = 'not sent: benchmark seed' WHERE sent_at IS NULL"
    )
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(marked)
}

/// Sends up to `limit` emails that are due with a sender of its own (from
/// `Portico <no-reply@localhost>`), and returns how many went out.
pub async fn deliver_due(
    store: &Store,
    vault: &Vault,
    transport: &impl Transport,
    public_url: &url::Url,
    limit: u32,
) -> Result<u32> {
    let from = "Portico <no-reply@localhost>"
        .parse()
        .map_err(|_| Error::Invalid {
            field: "mail_from",
            problem: "the built-in sender does not parse".into(),
        })?;
    let delivery = Delivery::new(from, Duration::from_secs(30));
    Courier {
        store,
        vault,
        transport,
        public_url,
        delivery: &delivery,
    }
    .deliver(limit, || false)
    .await
}

/// One sender at work: the database, the vault that opens addresses and
/// payloads, and where the mail goes.
pub struct Courier<'a, T> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub transport: &'a T,
    pub public_url: &'a url::Url,
    pub delivery: &'a Delivery,
}

/// A claimed row: id, kind, identity, organization, sealed payload, due time.
type Claimed = (String, String, String, Option<String>, Vec<u8>, i64);

impl<T: Transport> Courier<'_, T> {
    /// Claims up to `limit` due emails and sends them one at a time, each marked
    /// sent in its own commit as soon as the transport has taken it. Before each
    /// email it asks `stop`: once that says yes, it finishes nothing more and
    /// hands the rest of its claim back. Returns how many went out. A failed send
    /// is retried later with a growing delay; an email whose identity was erased
    /// is dropped.
    pub async fn deliver(&self, limit: u32, stop: impl Fn() -> bool) -> Result<u32> {
        let mut claimed = self.claim(limit).await?;
        claimed.sort_by(|a, b| (a.5, &a.0).cmp(&(b.5, &b.0)));
        let mut sent = 0;
        for (id, kind, identity_id, organization_id, sealed, _) in claimed {
            if stop() {
                self.release().await?;
                break;
            }
            let Some(attempts) = self.begin_attempt(&id).await? else {
                continue; // the lease ran out and another sender has the row now
            };
            let send = self.send_one(
                &id,
                &kind,
                &identity_id,
                organization_id.as_deref(),
                &sealed,
            );
            let outcome = tokio::time::timeout(self.delivery.send_timeout, send)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::Mail("the mail server did not answer in time".into()))
                });
            match outcome {
                Ok(()) => {
                    self.finish(&id, None).await?;
                    sent += 1;
                }
                Err(Error::Erased) => self.finish(&id, Some("the recipient was erased")).await?,
                Err(error) if attempts >= MAX_ATTEMPTS => {
                    tracing::error!(outbox_id = %id, %error, "email given up after {MAX_ATTEMPTS} attempts");
                    self.finish(&id, Some("given up")).await?;
                }
                Err(error) => {
                    tracing::warn!(outbox_id = %id, attempts, %error, "email not sent; will retry");
                    self.retry_later(&id, attempts, &error).await?;
                }
            }
        }
        Ok(sent)
    }

    /// Leases up to `limit` due rows (unsent, due, and not leased or with a lease
    /// run out) to this sender, in one statement that other senders wait for
    /// (SQLite's write lock) or skip past (PostgreSQL's `SKIP LOCKED`).
    async fn claim(&self, limit: u32) -> Result<Vec<Claimed>> {
        let now = now_ms();
        let until = now.saturating_add(self.delivery.lease_ms());
        let sql = |lock: &str| {
            format!(
                "UPDATE outbox SET leased_by = $1, leased_until = $2 WHERE id IN (\
                 SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= $3 \
                 AND (leased_until IS NULL OR leased_until <= $3) \
                 ORDER BY next_attempt_at, id LIMIT $4{lock}) \
                 RETURNING id, kind, identity_id, organization_id, payload_sealed, next_attempt_at"
            )
        };
        let worker = &self.delivery.worker;
        let rows = match self.store {
            Store::Sqlite(pool) => {
                use sqlx::Connection;
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(&sql(""))
                    .bind(worker)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            Store::Postgres(pool) => {
                sqlx::query_as(&sql(" FOR UPDATE SKIP LOCKED"))
                    .bind(worker)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows)
    }

    /// Renews this sender's lease on a row for one attempt and counts it; `None`
    /// when the row is no longer this sender's (or was sent meanwhile).
    async fn begin_attempt(&self, id: &str) -> Result<Option<i64>> {
        let until = now_ms().saturating_add(self.delivery.lease_ms());
        let attempts: Option<(i64,)> = on_pool!(self.store, |pool| sqlx::query_as(
            "UPDATE outbox SET leased_until = $3, attempts = attempts + 1 \
             WHERE id = $1 AND leased_by = $2 AND sent_at IS NULL RETURNING attempts"
        )
        .bind(id)
        .bind(&self.delivery.worker)
        .bind(until)
        .fetch_optional(pool)
        .await)?;
        Ok(attempts.map(|(n,)| n))
    }

    /// Hands back every row this sender still holds, unsent, for another to take now.
    async fn release(&self) -> Result<()> {
        on_pool!(self.store, |pool| sqlx::query(
            "UPDATE outbox SET leased_by = NULL, leased_until = NULL \
             WHERE leased_by = $1 AND sent_at IS NULL"
        )
        .bind(&self.delivery.worker)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Sets the next attempt after a growing delay and lets go of the row.
    /// `last_error` gets fixed words only: never an address or any content.
    async fn retry_later(&self, id: &str, attempts: i64, error: &Error) -> Result<()> {
        let why = match error {
            Error::Mail(problem) => problem.as_str(),
            _ => "send failed",
        };
        let next = now_ms().saturating_add(self.delivery.retry_delay_ms(attempts));
        on_pool!(self.store, |pool| sqlx::query(
            "UPDATE outbox SET next_attempt_at = $3, last_error = $4, leased_by = NULL, \
             leased_until = NULL WHERE id = $1 AND leased_by = $2 AND sent_at IS NULL"
        )
        .bind(id)
        .bind(&self.delivery.worker)
        .bind(next)
        .bind(why)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Marks an email done (sent, or dropped with `why`) and forgets its sealed
    /// payload, in a commit of its own.
    async fn finish(&self, id: &str, why: Option<&str>) -> Result<()> {
        on_pool!(self.store, |pool| sqlx::query(
            "UPDATE outbox SET sent_at = $2, payload_sealed = $3, last_error = $4, \
             leased_by = NULL, leased_until = NULL WHERE id = $1"
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

    async fn send_one(
        &self,
        id: &str,
        kind: &str,
        identity_id: &str,
        organization_id: Option<&str>,
        sealed: &[u8],
    ) -> Result<()> {
        let to = self.vault.email_of(identity_id).await?;
        let organization = match organization_id {
            Some(org) => Some(self.store.organizations().get(org).await?.display_name),
            None => None,
        };
        let plain = self
            .vault
            .open(sealed, &KeyOwner::Identity(identity_id.to_owned()))
            .await?;
        // Notices are in the patient's kept language; a code email carries the
        // asker's, and staff emails are English.
        let kept_language = || crate::language::of_identity(self.store, identity_id);
        let mail_kind = MailKind::from_name(kind);
        let email = match mail_kind {
            Some(MailKind::SignInCode) => {
                Email::sign_in_code(&CodePayload::from_bytes(&plain)?, organization.as_deref())
            }
            Some(MailKind::NewItem) => {
                let payload = NewItemPayload::from_bytes(&plain)?;
                let mut link = self.public_url.clone();
                link.set_path(&format!("/open/{}", payload.token));
                Email::new_item(
                    kept_language().await?,
                    organization.as_deref(),
                    link.as_str(),
                )
            }
            Some(MailKind::NewStatements) => {
                let payload = NewItemPayload::from_bytes(&plain)?;
                let mut link = self.public_url.clone();
                link.set_path(&format!("/open/{}", payload.token));
                Email::new_statements(
                    kept_language().await?,
                    organization.as_deref(),
                    link.as_str(),
                )
            }
            Some(MailKind::StaffReply) => {
                let payload = StaffReplyPayload::from_bytes(&plain)?;
                let mut link = self.public_url.clone();
                link.set_path(&format!("/thread/{}", payload.thread_id));
                Email::staff_reply(&payload.mailbox, link.as_str())
            }
            Some(MailKind::SecurityAlert) => {
                let payload = AlertPayload::from_bytes(&plain)?;
                let mut link = self.public_url.clone();
                link.set_path("/staff/admin/alerts");
                Email::security_alert(&payload.organization, link.as_str())
            }
            None => {
                return Err(Error::Invalid {
                    field: "kind",
                    problem: format!("no sender for outbox kind {kind:?} yet"),
                })
            }
        };
        // A patient's email from an organization carries its logo, if it has one.
        let email = match (mail_kind, organization_id, &organization) {
            (Some(MailKind::SecurityAlert | MailKind::StaffReply), _, _) => email,
            (_, Some(org), Some(name)) => {
                match crate::admin::branding::logo(self.store, org).await? {
                    Some((bytes, content_type)) => email.with_logo(
                        name,
                        Logo {
                            bytes,
                            content_type,
                        },
                    ),
                    None => email,
                }
            }
            _ => email,
        };
        let message = email.to_message(&self.delivery.from, &to, id)?;
        self.transport.send(&message, id).await
    }
}
