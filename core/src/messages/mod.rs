//! Secure messages: threads between an organization's mailbox and a patient.
//!
//! Subjects and bodies are sealed to the patient's identity and to the mailbox;
//! only ids, times and states are plaintext. Who may read a thread: its patient,
//! and staff of the mailbox's organization whose role may use that kind of
//! mailbox ([`access`]). Every view is recorded before its content is returned
//! (write before serve); a refused view is recorded as denied.

pub mod access;
pub mod attachments;
mod sender;

use futures_util::future::try_join_all;

pub use access::{role_may_use, MailboxKind};
pub use sender::Sender;

use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::{staff::StaffRole, Client},
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
    Error, Result,
};

/// In the transaction that adds a message: unless the patient was notified of
/// this thread within the hour (coalescing), a link to the message and an
/// outbox row carrying its sealed token.
macro_rules! queue_notice {
    ($tx:ident, $thread:expr, $patient:expr, $org:expr, $message:expr, $notice:expr, $now:expr, $link_expires:expr) => {{
        let recent: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE thread_id = $1 AND kind = 'new_item' AND created_at > $2",
        )
        .bind($thread)
        .bind($now - $crate::messages::NOTIFY_AT_MOST_EVERY_MS)
        .fetch_one(&mut *$tx)
        .await?;
        if recent == 0 {
            let (hash, sealed): &([u8; 32], Vec<u8>) = $notice;
            sqlx::query(
                "INSERT INTO open_links (token_hash, identity_id, item_id, organization_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(hash.as_slice())
            .bind($patient)
            .bind($message)
            .bind($org)
            .bind($now)
            .bind($link_expires)
            .execute(&mut *$tx)
            .await?;
            sqlx::query(crate::notify::ENQUEUE_FOR_THREAD_SQL)
                .bind(new_id())
                .bind(crate::notify::MailKind::NewItem.as_str())
                .bind($patient)
                .bind($org)
                .bind(sealed.as_slice())
                .bind($now)
                .bind($thread)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

mod downloads;
mod drafts;
mod receipts;
mod staff_view;

pub use attachments::{AttachmentInfo, AttachmentLimits, AttachmentType};
pub use downloads::Download;
pub use drafts::Draft;
pub use staff_view::{MailboxSummary, MailboxThread};

/// A patient is notified of a thread at most once in this long (milliseconds).
pub const NOTIFY_AT_MOST_EVERY_MS: i64 = 3_600_000;

/// Subject length, in characters.
pub const SUBJECT_MAX_CHARS: usize = 200;
/// Body length, in bytes.
pub const BODY_MAX_BYTES: usize = 64 * 1024;

/// A department of an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub id: String,
    pub organization_id: String,
    pub display_name: String,
    pub kind: MailboxKind,
}

/// A signed-in staff member, as the rules need them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    pub staff_id: String,
    pub organization_id: String,
    pub role: StaffRole,
}

/// Who is reading or writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reader {
    /// A patient, by identity id.
    Patient(String),
    Staff(StaffMember),
}

impl Reader {
    fn actor(&self) -> Actor {
        match self {
            Reader::Patient(id) => Actor::patient(id),
            Reader::Staff(s) => Actor::staff(&s.staff_id),
        }
    }
}

/// What a message shows its reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageContent {
    Text(String),
    /// Revoked by the sender, or past the expiry they set: the patient learns
    /// only who withdrew it and when.
    Withdrawn {
        by: String,
        on: i64,
    },
    /// Sealed to a key that was erased on request.
    Erased,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageView {
    pub id: String,
    /// `staff`, `patient` or `api_key`.
    pub author_kind: String,
    pub sent_at: i64,
    pub content: MessageContent,
    /// Its files, in the order attached; none when withdrawn or erased.
    pub attachments: Vec<AttachmentInfo>,
    /// For staff, on a message to the patient: when the patient first opened
    /// it (from the audit log).
    pub first_read_by_patient: Option<i64>,
    /// When it was revoked or expired (staff still see its text).
    pub withdrawn_at: Option<i64>,
}

/// A line of a patient's inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadSummary {
    pub thread_id: String,
    pub organization_name: String,
    pub mailbox_name: String,
    /// None when erased, or when everything in it was withdrawn.
    pub subject: Option<String>,
    pub last_message_at: i64,
    /// A message from the organization newer than the patient's last look.
    pub unread: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadView {
    pub thread_id: String,
    pub organization_name: String,
    pub mailbox_name: String,
    /// None when withdrawn or erased for this reader.
    pub subject: Option<String>,
    pub messages: Vec<MessageView>,
}

/// When a message stopped being shown to its patient: its revocation, or its
/// expiry once past.
fn withdrawn_on(revoked_at: Option<i64>, expires_at: Option<i64>, now: i64) -> Option<i64> {
    revoked_at.or(expires_at.filter(|e| *e <= now))
}

fn invalid(field: &'static str, problem: &str) -> Error {
    Error::Invalid {
        field,
        problem: problem.into(),
    }
}

fn check_text(subject: Option<&str>, body: &str) -> Result<()> {
    if let Some(subject) = subject {
        let n = subject.trim().chars().count();
        if n == 0 || n > SUBJECT_MAX_CHARS {
            return Err(invalid("subject", "must be 1 to 200 characters"));
        }
    }
    if body.trim().is_empty() || body.len() > BODY_MAX_BYTES {
        return Err(invalid("body", "must be 1 byte to 64 KiB"));
    }
    Ok(())
}

/// Makes a mailbox.
pub async fn create_mailbox(
    store: &Store,
    organization_id: &str,
    display_name: &str,
    kind: MailboxKind,
) -> Result<Mailbox> {
    let name = display_name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("display_name", "must be 1 to 100 characters"));
    }
    store.organizations().get(organization_id).await?;
    let mailbox = Mailbox {
        id: new_id(),
        organization_id: organization_id.to_owned(),
        display_name: name.to_owned(),
        kind,
    };
    on_pool!(store, |pool| {
        sqlx::query(
        "INSERT INTO mailboxes (id, organization_id, display_name, kind, created_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(&mailbox.id)
    .bind(&mailbox.organization_id)
    .bind(&mailbox.display_name)
    .bind(kind.as_str())
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop)
    })?;
    Ok(mailbox)
}

pub async fn mailbox(store: &Store, id: &str) -> Result<Mailbox> {
    let row: Option<(String, String, String)> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT organization_id, display_name, kind FROM mailboxes WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    let (organization_id, display_name, kind) = row.ok_or(Error::NotFound)?;
    Ok(Mailbox {
        id: id.to_owned(),
        organization_id,
        display_name,
        kind: MailboxKind::parse(&kind).ok_or(Error::Crypto("a mailbox kind is unknown"))?,
    })
}

/// A thread's plaintext facts.
struct ThreadRow {
    mailbox: Mailbox,
    organization_name: String,
    patient_id: String,
    subject_sealed: Vec<u8>,
}

/// Sending and reading messages.
pub struct Messaging<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub audit: &'a AuditLog,
    /// How long a notice's link works.
    pub link_lifetime: std::time::Duration,
    pub attachment_limits: AttachmentLimits,
}

impl Messaging<'_> {
    fn may_use(staff: &StaffMember, mailbox: &Mailbox) -> bool {
        staff.organization_id == mailbox.organization_id && role_may_use(staff.role, mailbox.kind)
    }

    /// The thread with its mailbox and organization, in one query: every view,
    /// reply and revocation starts here.
    async fn thread_row(&self, thread_id: &str) -> Result<ThreadRow> {
        type Row = (String, String, Vec<u8>, String, String, String, String);
        let row: Option<Row> = on_pool!(self.store, |pool| {
            sqlx::query_as(
            "SELECT t.mailbox_id, t.patient_identity_id, t.subject_sealed, m.organization_id, \
             m.display_name, m.kind, o.display_name FROM threads t \
             JOIN mailboxes m ON m.id = t.mailbox_id JOIN organizations o ON o.id = m.organization_id \
             WHERE t.id = $1"
        )
        .bind(thread_id)
        .fetch_optional(pool)
        .await
        })?;
        let (
            mailbox_id,
            patient_id,
            subject_sealed,
            organization_id,
            mailbox_name,
            kind,
            organization_name,
        ) = row.ok_or(Error::NotFound)?;
        Ok(ThreadRow {
            mailbox: Mailbox {
                id: mailbox_id,
                organization_id,
                display_name: mailbox_name,
                kind: MailboxKind::parse(&kind)
                    .ok_or(Error::Crypto("a mailbox kind is unknown"))?,
            },
            organization_name,
            patient_id,
            subject_sealed,
        })
    }

    /// Checks `reader` may see the thread; a refusal is audited and is `Denied`.
    async fn authorize(
        &self,
        reader: &Reader,
        thread_id: &str,
        row: &ThreadRow,
        client: &Client,
    ) -> Result<()> {
        let allowed = match reader {
            Reader::Patient(id) => *id == row.patient_id,
            Reader::Staff(staff) => Self::may_use(staff, &row.mailbox),
        };
        if allowed {
            return Ok(());
        }
        let event = AuditEvent::new(reader.actor(), Action::ThreadViewed, Outcome::Denied)
            .about(thread_id.to_owned())
            .in_organization(row.mailbox.organization_id.clone());
        self.audit.record(client.stamp(event)).await?;
        // A patient is not told that someone else's thread exists.
        Err(match reader {
            Reader::Patient(_) => Error::NotFound,
            Reader::Staff(_) => Error::Denied,
        })
    }

    /// A notice for the patient, ready to queue: the link's token hash and the
    /// sealed payload. Sealed before the transaction (sealing may make a key).
    async fn prepare_notice(&self, patient_id: &str) -> Result<([u8; 32], Vec<u8>)> {
        let (token, hash) = crate::auth::links::new_token();
        let payload = crate::notify::NewItemPayload {
            token: token.as_str().to_owned(),
        };
        let sealed = self
            .vault
            .seal(
                &crate::notify::Payload::to_bytes(&payload),
                &[KeyOwner::Identity(patient_id.to_owned())],
            )
            .await?;
        Ok((hash, sealed))
    }

    fn key_of(reader: &Reader, row: &ThreadRow) -> KeyOwner {
        match reader {
            Reader::Patient(id) => KeyOwner::Identity(id.clone()),
            Reader::Staff(_) => KeyOwner::Mailbox(row.mailbox.id.clone()),
        }
    }

    /// The thread as `reader` may see it. Every message shown is recorded
    /// (message_viewed, for read receipts) before anything is returned.
    pub async fn thread(
        &self,
        reader: &Reader,
        thread_id: &str,
        client: &Client,
    ) -> Result<ThreadView> {
        let row = self.thread_row(thread_id).await?;
        self.authorize(reader, thread_id, &row, client).await?;
        type MessageRow = (String, String, Vec<u8>, i64, Option<i64>, Option<i64>);
        let rows: Vec<MessageRow> = on_pool!(self.store, |pool| {
            sqlx::query_as(
            "SELECT id, author_kind, body_sealed, created_at, expires_at, revoked_at FROM messages \
             WHERE thread_id = $1 ORDER BY created_at, id"
        )
        .bind(thread_id)
        .fetch_all(pool)
        .await
        })?;
        let key = Self::key_of(reader, &row);
        let now = now_ms();
        let mut messages = Vec::with_capacity(rows.len());
        for (id, author_kind, sealed, sent_at, expires_at, revoked_at) in rows {
            let withdrawn_on = withdrawn_on(revoked_at, expires_at, now);
            let content = match (withdrawn_on, reader) {
                (Some(on), Reader::Patient(_)) => MessageContent::Withdrawn {
                    by: row.organization_name.clone(),
                    on,
                },
                _ => match self.vault.open(&sealed, &key).await {
                    Ok(plain) => MessageContent::Text(String::from_utf8_lossy(&plain).into_owned()),
                    Err(Error::Erased) => MessageContent::Erased,
                    Err(other) => return Err(other),
                },
            };
            let attachments = match content {
                MessageContent::Text(_) => self.attachments_of(&id, &key).await?,
                _ => Vec::new(),
            };
            let first_read_by_patient = match reader {
                Reader::Staff(_) if author_kind != "patient" => {
                    receipts::first_read_by_patient(self.store, &id, &row.patient_id).await?
                }
                _ => None,
            };
            messages.push(MessageView {
                id,
                author_kind,
                sent_at,
                content,
                attachments,
                first_read_by_patient,
                withdrawn_at: withdrawn_on,
            });
        }
        let everything_withdrawn = matches!(reader, Reader::Patient(_))
            && !messages.is_empty()
            && messages
                .iter()
                .all(|m| !matches!(m.content, MessageContent::Text(_)));
        let subject = if everything_withdrawn {
            None
        } else {
            match self.vault.open(&row.subject_sealed, &key).await {
                Ok(plain) => Some(String::from_utf8_lossy(&plain).into_owned()),
                Err(Error::Erased) => None,
                Err(other) => return Err(other),
            }
        };
        // Write before serve: the views are committed before the content leaves.
        let org = row.mailbox.organization_id.clone();
        let mut events =
            vec![
                AuditEvent::new(reader.actor(), Action::ThreadViewed, Outcome::Success)
                    .about(thread_id.to_owned())
                    .in_organization(org.clone()),
            ];
        for m in messages
            .iter()
            .filter(|m| matches!(m.content, MessageContent::Text(_)))
        {
            events.push(
                AuditEvent::new(reader.actor(), Action::MessageViewed, Outcome::Success)
                    .about(m.id.clone())
                    .about(thread_id.to_owned())
                    .in_organization(org.clone()),
            );
        }
        try_join_all(
            events
                .into_iter()
                .map(|e| self.audit.record(client.stamp(e))),
        )
        .await?;
        let reader_key = match reader {
            Reader::Patient(id) => format!("patient:{id}"),
            Reader::Staff(_) => format!("mailbox:{}", row.mailbox.id),
        };
        on_pool!(self.store, |pool| sqlx::query(
            "INSERT INTO thread_reads (thread_id, reader, last_read_at) VALUES ($1, $2, $3) \
             ON CONFLICT (thread_id, reader) DO UPDATE SET last_read_at = excluded.last_read_at"
        )
        .bind(thread_id)
        .bind(&reader_key)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(ThreadView {
            thread_id: thread_id.to_owned(),
            organization_name: row.organization_name,
            mailbox_name: row.mailbox.display_name,
            subject,
            messages,
        })
    }

    /// The patient's one inbox across every organization, newest first. The
    /// view is recorded before it is returned.
    pub async fn inbox(&self, patient_id: &str, client: &Client) -> Result<Vec<ThreadSummary>> {
        type Row = (String, Vec<u8>, i64, String, String, i64, i64);
        let rows: Vec<Row> = on_pool!(self.store, |pool| {
            sqlx::query_as(
            "SELECT t.id, t.subject_sealed, t.last_message_at, m.display_name, o.display_name, \
             (SELECT COUNT(*) FROM messages x WHERE x.thread_id = t.id AND x.author_kind <> 'patient' \
               AND x.revoked_at IS NULL \
               AND x.created_at > COALESCE((SELECT r.last_read_at FROM thread_reads r \
                   WHERE r.thread_id = t.id AND r.reader = $2), 0)), \
             (SELECT COUNT(*) FROM messages y WHERE y.thread_id = t.id AND y.revoked_at IS NULL \
               AND (y.expires_at IS NULL OR y.expires_at > $3)) \
             FROM threads t JOIN mailboxes m ON m.id = t.mailbox_id JOIN organizations o ON o.id = m.organization_id \
             WHERE t.patient_identity_id = $1 ORDER BY t.last_message_at DESC LIMIT 200"
        )
        .bind(patient_id)
        .bind(format!("patient:{patient_id}"))
        .bind(now_ms())
        .fetch_all(pool)
        .await
        })?;
        let key = KeyOwner::Identity(patient_id.to_owned());
        let mut out = Vec::with_capacity(rows.len());
        for (thread_id, sealed, last, mailbox_name, organization_name, unread, live) in rows {
            // A thread whose every message was withdrawn shows nothing more.
            let subject = match self.vault.open(&sealed, &key).await {
                Ok(_) if live == 0 => None,
                Ok(plain) => Some(String::from_utf8_lossy(&plain).into_owned()),
                Err(Error::Erased) => None,
                Err(other) => return Err(other),
            };
            out.push(ThreadSummary {
                thread_id,
                organization_name,
                mailbox_name,
                subject,
                last_message_at: last,
                unread: unread > 0,
            });
        }
        let event = AuditEvent::new(
            Actor::patient(patient_id),
            Action::InboxViewed,
            Outcome::Success,
        )
        .about(patient_id.to_owned());
        self.audit.record(client.stamp(event)).await?;
        Ok(out)
    }

    /// The sender's organization withdraws a message: the patient then sees
    /// only that it was withdrawn, by whom and when.
    pub async fn revoke(
        &self,
        staff: &StaffMember,
        message_id: &str,
        client: &Client,
    ) -> Result<()> {
        let thread_id: Option<String> = on_pool!(self.store, |pool| sqlx::query_scalar(
            "SELECT thread_id FROM messages WHERE id = $1"
        )
        .bind(message_id)
        .fetch_optional(pool)
        .await)?;
        let thread_id = thread_id.ok_or(Error::NotFound)?;
        let row = self.thread_row(&thread_id).await?;
        if !Self::may_use(staff, &row.mailbox) {
            return Err(Error::Denied);
        }
        on_pool!(self.store, |pool| {
            sqlx::query(
            "UPDATE messages SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND author_kind <> 'patient'"
        )
        .bind(message_id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(drop)
        })?;
        let event = AuditEvent::new(
            Actor::staff(&staff.staff_id),
            Action::MessageRevoked,
            Outcome::Success,
        )
        .about(message_id.to_owned())
        .about(thread_id)
        .in_organization(row.mailbox.organization_id);
        self.audit.record(client.stamp(event)).await?;
        Ok(())
    }
}

/// Records each message that has reached its expiry since the last sweep, once.
/// Returns how many.
pub async fn record_expired(store: &Store, audit: &AuditLog) -> Result<u64> {
    let now = now_ms();
    let due: Vec<(String, String)> = on_pool!(store, |pool| {
        sqlx::query_as(
        "SELECT id, thread_id FROM messages WHERE expires_at <= $1 AND expiry_audited_at IS NULL"
    )
    .bind(now)
    .fetch_all(pool)
    .await
    })?;
    for (id, thread_id) in &due {
        let event = AuditEvent::new(
            Actor::system("expiry"),
            Action::MessageExpired,
            Outcome::Success,
        )
        .about(id.clone())
        .about(thread_id.clone());
        audit.record(event).await?;
        on_pool!(store, |pool| sqlx::query(
            "UPDATE messages SET expiry_audited_at = $2 WHERE id = $1"
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))?;
    }
    Ok(due.len() as u64)
}

/// An organization's mailboxes, by name.
pub async fn mailboxes(store: &Store, organization_id: &str) -> Result<Vec<Mailbox>> {
    let rows: Vec<(String, String, String)> = on_pool!(store, |pool| {
        sqlx::query_as(
        "SELECT id, display_name, kind FROM mailboxes WHERE organization_id = $1 ORDER BY display_name"
    )
    .bind(organization_id)
    .fetch_all(pool)
    .await
    })?;
    rows.into_iter()
        .map(|(id, display_name, kind)| {
            Ok(Mailbox {
                id,
                organization_id: organization_id.to_owned(),
                display_name,
                kind: MailboxKind::parse(&kind)
                    .ok_or(Error::Crypto("a mailbox kind is unknown"))?,
            })
        })
        .collect()
}
