//! Secure messages: threads between an organization's mailbox and a patient.
//!
//! Subjects and bodies are sealed to the patient's identity and to the mailbox;
//! only ids, times and states are plaintext. Who may read a thread: its patient,
//! and staff of the mailbox's organization whose role may use that kind of
//! mailbox ([`access`]). Every view is recorded before its content is returned
//! (write before serve); a refused view is recorded as denied.

use std::sync::LazyLock;

pub mod access;
pub mod attachments;
mod sender;

pub use access::{role_may_use, MailboxKind};
pub use sender::Sender;

use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::{staff::StaffRole, Client},
    store::{new_id, now_ms, on_pool, Store},
    vault::{items::open_text, KeyOwner, ReaderKey, Vault},
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
mod subject_inside;
mod thread_view;

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

impl ThreadRow {
    /// Names the thread's patient on an event by anyone else (staff, another
    /// patient refused), so that the patient's access history, read through
    /// [`audit::events_about`](crate::audit::events_about), finds it.
    fn naming_patient(&self, reader: &Reader, event: AuditEvent) -> AuditEvent {
        match reader {
            Reader::Patient(id) if *id == self.patient_id => event,
            _ => event.about(self.patient_id.clone()),
        }
    }
}

/// A thread's plaintext facts as [`THREAD_COLUMNS`] selects them from
/// [`THREAD_JOINS`].
#[derive(Clone, sqlx::FromRow)]
struct ThreadColumns {
    mailbox_id: String,
    patient_id: String,
    subject_sealed: Vec<u8>,
    organization_id: String,
    mailbox_name: String,
    mailbox_kind: String,
    organization_name: String,
}

const THREAD_COLUMNS: &str =
    "t.mailbox_id, t.patient_identity_id AS patient_id, t.subject_sealed, \
     mb.organization_id, mb.display_name AS mailbox_name, mb.kind AS mailbox_kind, \
     o.display_name AS organization_name";
const THREAD_JOINS: &str = "threads t JOIN mailboxes mb ON mb.id = t.mailbox_id \
     JOIN organizations o ON o.id = mb.organization_id";

impl TryFrom<ThreadColumns> for ThreadRow {
    type Error = Error;

    fn try_from(c: ThreadColumns) -> Result<Self> {
        Ok(ThreadRow {
            mailbox: Mailbox {
                id: c.mailbox_id,
                organization_id: c.organization_id,
                display_name: c.mailbox_name,
                kind: MailboxKind::parse(&c.mailbox_kind)
                    .ok_or(Error::Crypto("a mailbox kind is unknown"))?,
            },
            organization_name: c.organization_name,
            patient_id: c.patient_id,
            subject_sealed: c.subject_sealed,
        })
    }
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

    /// The thread with its mailbox and organization, in one query: every reply,
    /// revocation and download starts here (a view has a query of its own,
    /// `thread_view`).
    async fn thread_row(&self, thread_id: &str) -> Result<ThreadRow> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT {THREAD_COLUMNS} FROM {THREAD_JOINS} WHERE t.id = $1")
        });
        let row: Option<ThreadColumns> = on_pool!(self.store, |pool| {
            sqlx::query_as(SQL.as_str())
                .bind(thread_id)
                .fetch_optional(pool)
                .await
        })?;
        row.ok_or(Error::NotFound)?.try_into()
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
        let event = row.naming_patient(reader, event);
        self.audit.record(client.stamp(event)).await?;
        // A patient is not told that someone else's thread exists.
        Err(match reader {
            Reader::Patient(_) => Error::NotFound,
            Reader::Staff(_) => Error::Denied,
        })
    }

    /// The key that opens the subjects of a list of threads, looked up once
    /// (none for an empty list, which may have no key to find).
    async fn subject_key<T>(&self, rows: &[T], owner: KeyOwner) -> Result<Option<ReaderKey>> {
        match rows.is_empty() {
            true => Ok(None),
            false => self.vault.reader_key_unless_erased(&owner).await,
        }
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
        let key = self
            .subject_key(&rows, KeyOwner::Identity(patient_id.to_owned()))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (thread_id, sealed, last, mailbox_name, organization_name, unread, live) in rows {
            // A thread whose every message was withdrawn shows nothing more.
            let subject = match live {
                0 => None,
                _ => open_text(key.as_ref(), &sealed).await?,
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
        .about(row.patient_id)
        .in_organization(row.mailbox.organization_id);
        self.audit.record(client.stamp(event)).await?;
        Ok(())
    }
}

/// Records each message that has reached its expiry since the last sweep, once.
/// Returns how many.
pub async fn record_expired(store: &Store, audit: &AuditLog) -> Result<u64> {
    let now = now_ms();
    let due: Vec<(String, String, String)> = on_pool!(store, |pool| {
        sqlx::query_as(
            "SELECT m.id, m.thread_id, t.patient_identity_id FROM messages m \
         JOIN threads t ON t.id = m.thread_id \
         WHERE m.expires_at <= $1 AND m.expiry_audited_at IS NULL",
        )
        .bind(now)
        .fetch_all(pool)
        .await
    })?;
    for (id, thread_id, patient_id) in &due {
        let event = AuditEvent::new(
            Actor::system("expiry"),
            Action::MessageExpired,
            Outcome::Success,
        )
        .about(id.clone())
        .about(thread_id.clone())
        .about(patient_id.clone());
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
