//! Opening a thread, the page read most, in one query: the thread with its
//! mailbox, read state and the wrapped keys of its patient and mailbox, and
//! its messages with their files. One key unwrap opens every item; the audit
//! events follow, with the read state in their transaction when the reader
//! had not yet seen the newest message.

use std::sync::LazyLock;

use futures_util::future::try_join_all;

use super::{
    downloads::attachment_info, receipts, subject_inside, withdrawn_on, AttachmentInfo,
    MessageContent, MessageView, Messaging, Reader, ThreadColumns, ThreadRow, ThreadView,
    THREAD_COLUMNS, THREAD_JOINS,
};
use crate::{
    audit::{Action, AuditEvent, Outcome, ReadMark, SUBJECTS_MAX},
    auth::Client,
    store::{now_ms, on_pool},
    vault::{
        items::{open_text, open_with},
        WrappedKey,
    },
    Error, Result,
};

/// One row of the view's query: the thread's facts (the same on every row),
/// a message (none only for a thread without messages) and one of its files.
#[derive(sqlx::FromRow)]
struct ViewRow {
    #[sqlx(flatten)]
    thread: ThreadColumns,
    patient_last_read: Option<i64>,
    mailbox_last_read: Option<i64>,
    patient_key_secret: Option<Vec<u8>>,
    patient_key_version: Option<i64>,
    patient_key_erased: Option<i64>,
    mailbox_key_secret: Option<Vec<u8>>,
    mailbox_key_version: Option<i64>,
    mailbox_key_erased: Option<i64>,
    message_id: Option<String>,
    author_kind: Option<String>,
    body_sealed: Option<Vec<u8>>,
    carries_subject: Option<bool>,
    sent_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    file_id: Option<String>,
    file_name_sealed: Option<Vec<u8>>,
    file_type: Option<String>,
    file_size: Option<i64>,
}

impl ViewRow {
    /// The same row, read in place on SQLite, column by column of [`VIEW_SQL`].
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(ViewRow {
            thread: ThreadColumns {
                mailbox_id: r.get("mailbox_id")?,
                patient_id: r.get("patient_id")?,
                subject_sealed: r.get("subject_sealed")?,
                organization_id: r.get("organization_id")?,
                mailbox_name: r.get("mailbox_name")?,
                mailbox_kind: r.get("mailbox_kind")?,
                organization_name: r.get("organization_name")?,
            },
            patient_last_read: r.get("patient_last_read")?,
            mailbox_last_read: r.get("mailbox_last_read")?,
            patient_key_secret: r.get("patient_key_secret")?,
            patient_key_version: r.get("patient_key_version")?,
            patient_key_erased: r.get("patient_key_erased")?,
            mailbox_key_secret: r.get("mailbox_key_secret")?,
            mailbox_key_version: r.get("mailbox_key_version")?,
            mailbox_key_erased: r.get("mailbox_key_erased")?,
            message_id: r.get("message_id")?,
            author_kind: r.get("author_kind")?,
            body_sealed: r.get("body_sealed")?,
            carries_subject: r.get("carries_subject")?,
            sent_at: r.get("sent_at")?,
            expires_at: r.get("expires_at")?,
            revoked_at: r.get("revoked_at")?,
            file_id: r.get("file_id")?,
            file_name_sealed: r.get("file_name_sealed")?,
            file_type: r.get("file_type")?,
            file_size: r.get("file_size")?,
        })
    }
}

static VIEW_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {THREAD_COLUMNS}, \
         (SELECT r.last_read_at FROM thread_reads r \
           WHERE r.thread_id = t.id AND r.reader = 'patient:' || t.patient_identity_id) \
           AS patient_last_read, \
         (SELECT r.last_read_at FROM thread_reads r \
           WHERE r.thread_id = t.id AND r.reader = 'mailbox:' || t.mailbox_id) \
           AS mailbox_last_read, \
         pk.wrapped_secret AS patient_key_secret, pk.root_key_version AS patient_key_version, \
         pk.erased_at AS patient_key_erased, \
         mk.wrapped_secret AS mailbox_key_secret, mk.root_key_version AS mailbox_key_version, \
         mk.erased_at AS mailbox_key_erased, \
         x.id AS message_id, x.author_kind, x.body_sealed, x.carries_subject, \
         x.created_at AS sent_at, \
         x.expires_at, x.revoked_at, \
         a.id AS file_id, a.name_sealed AS file_name_sealed, a.content_type AS file_type, \
         a.size_bytes AS file_size \
         FROM {THREAD_JOINS} \
         LEFT JOIN identity_keys pk ON pk.owner_kind = 'identity' \
           AND pk.owner_id = t.patient_identity_id \
         LEFT JOIN identity_keys mk ON mk.owner_kind = 'mailbox' AND mk.owner_id = t.mailbox_id \
         LEFT JOIN messages x ON x.thread_id = t.id \
         LEFT JOIN attachments a ON a.message_id = x.id \
         WHERE t.id = $1 ORDER BY x.created_at, x.id, a.position"
    )
});

/// A stored message before it is opened.
struct Stored {
    id: String,
    author_kind: String,
    body_sealed: Vec<u8>,
    /// The body is framed with the thread's subject (see subject_inside).
    carries_subject: bool,
    sent_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    /// Each file: id, sealed name, content type, size.
    files: Vec<(String, Vec<u8>, String, i64)>,
}

/// What the view's rows say: the thread, its read state, keys and messages.
struct Loaded {
    thread: ThreadRow,
    patient_last_read: Option<i64>,
    mailbox_last_read: Option<i64>,
    patient_key: WrappedKey,
    mailbox_key: WrappedKey,
    messages: Vec<Stored>,
}

fn load(rows: Vec<ViewRow>) -> Result<Loaded> {
    let mut rows = rows.into_iter().peekable();
    let first = rows.peek().ok_or(Error::NotFound)?;
    let mut loaded = Loaded {
        thread: ThreadRow::try_from(first.thread.clone())?,
        patient_last_read: first.patient_last_read,
        mailbox_last_read: first.mailbox_last_read,
        patient_key: WrappedKey {
            wrapped_secret: first.patient_key_secret.clone(),
            root_key_version: first.patient_key_version,
            erased_at: first.patient_key_erased,
        },
        mailbox_key: WrappedKey {
            wrapped_secret: first.mailbox_key_secret.clone(),
            root_key_version: first.mailbox_key_version,
            erased_at: first.mailbox_key_erased,
        },
        messages: Vec::new(),
    };
    for row in rows {
        let (Some(id), Some(author_kind), Some(body_sealed), Some(sent_at)) = (
            row.message_id,
            row.author_kind,
            row.body_sealed,
            row.sent_at,
        ) else {
            continue;
        };
        let messages = &mut loaded.messages;
        if messages.last().is_none_or(|m| m.id != id) {
            messages.push(Stored {
                id,
                author_kind,
                body_sealed,
                carries_subject: row.carries_subject.unwrap_or(false),
                sent_at,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                files: Vec::new(),
            });
        }
        if let (Some(file), Some(name), Some(mime), Some(size), Some(m)) = (
            row.file_id,
            row.file_name_sealed,
            row.file_type,
            row.file_size,
            messages.last_mut(),
        ) {
            m.files.push((file, name, mime, size));
        }
    }
    Ok(loaded)
}

impl Messaging<'_> {
    /// The thread as `reader` may see it. The view, naming every message shown
    /// (read receipts are found by it), is recorded before anything is returned.
    pub async fn thread(
        &self,
        reader: &Reader,
        thread_id: &str,
        client: &Client,
    ) -> Result<ThreadView> {
        let rows: Vec<ViewRow> = match self.store.sync_readers() {
            // Read in place: the page read most (see store::sync_read).
            Some(readers) => readers.read(|conn| {
                conn.prepare_cached(VIEW_SQL.as_str())?
                    .query_map([thread_id], ViewRow::from_sqlite)?
                    .collect()
            })?,
            None => on_pool!(self.store, |pool| {
                sqlx::query_as(VIEW_SQL.as_str())
                    .bind(thread_id)
                    .fetch_all(pool)
                    .await
            })?,
        };
        let Loaded {
            thread: row,
            patient_last_read,
            mailbox_last_read,
            patient_key,
            mailbox_key,
            messages: stored,
        } = load(rows)?;
        self.authorize(reader, thread_id, &row, client).await?;
        let (wrapped, last_read) = match reader {
            Reader::Patient(_) => (patient_key, patient_last_read),
            Reader::Staff(_) => (mailbox_key, mailbox_last_read),
        };
        let key = match self
            .vault
            .reader_key_from(&Self::key_of(reader, &row), wrapped)
        {
            Ok(key) => Some(key),
            Err(Error::Erased) => None,
            Err(other) => return Err(other),
        };
        let now = now_ms();
        let newest = stored.iter().map(|m| m.sent_at).max();
        let mut messages = Vec::with_capacity(stored.len());
        // Found inside the first message when it carries it: one opening, not two.
        let mut subject_inside = None;
        for m in stored {
            let withdrawn_on = withdrawn_on(m.revoked_at, m.expires_at, now);
            let content = match (withdrawn_on, reader) {
                (Some(on), Reader::Patient(_)) => MessageContent::Withdrawn {
                    by: row.organization_name.clone(),
                    on,
                },
                _ => match (&key, m.carries_subject) {
                    (None, _) => MessageContent::Erased,
                    (Some(key), true) => {
                        let (subject, body) =
                            subject_inside::unpack(&open_with(key, &m.body_sealed).await?)?;
                        subject_inside = Some(subject);
                        MessageContent::Text(body)
                    }
                    (Some(key), false) => MessageContent::Text(
                        String::from_utf8_lossy(&open_with(key, &m.body_sealed).await?)
                            .into_owned(),
                    ),
                },
            };
            let mut attachments: Vec<AttachmentInfo> = Vec::new();
            if let (MessageContent::Text(_), Some(key)) = (&content, &key) {
                for (id, name_sealed, mime, size) in m.files {
                    attachments.push(attachment_info(key, id, &name_sealed, &mime, size).await?);
                }
            }
            let first_read_by_patient = match reader {
                Reader::Staff(_) if m.author_kind != "patient" => {
                    receipts::first_read_by_patient(self.store, &m.id, &row.patient_id).await?
                }
                _ => None,
            };
            messages.push(MessageView {
                id: m.id,
                author_kind: m.author_kind,
                sent_at: m.sent_at,
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
        } else if subject_inside.is_some() {
            subject_inside
        } else {
            open_text(key.as_ref(), &row.subject_sealed).await?
        };
        let mark = read_mark(reader, thread_id, &row, last_read, newest);
        self.record_thread_view(reader, thread_id, &row, &messages, mark, client)
            .await?;
        Ok(ThreadView {
            thread_id: thread_id.to_owned(),
            organization_name: row.organization_name,
            mailbox_name: row.mailbox.display_name,
            subject,
            messages,
        })
    }

    /// Write before serve: the thread's view, naming each message shown, is
    /// committed before the content leaves, with the read state it leaves
    /// (`mark`) in the same transaction. (Until 2026-12 each message shown had
    /// a `message_viewed` event of its own besides; one event says the same
    /// with half the rows and fewer index entries on the view path.)
    async fn record_thread_view(
        &self,
        reader: &Reader,
        thread_id: &str,
        row: &ThreadRow,
        messages: &[MessageView],
        mark: Option<ReadMark>,
        client: &Client,
    ) -> Result<()> {
        let shown: Vec<&str> = messages
            .iter()
            .filter(|m| matches!(m.content, MessageContent::Text(_)))
            .map(|m| m.id.as_str())
            .collect();
        // An event names at most SUBJECTS_MAX ids, the thread's and the
        // patient's among them: a longer thread's further messages are named
        // by message_viewed events, as many as that takes.
        let mut chunks = shown.chunks(SUBJECTS_MAX - 2);
        let first = chunks.next().unwrap_or_default();
        let event = |action, ids: &[&str]| {
            let event = ids.iter().fold(
                AuditEvent::new(reader.actor(), action, Outcome::Success)
                    .about(thread_id.to_owned()),
                |event, id| event.about(*id),
            );
            let event = event.in_organization(row.mailbox.organization_id.clone());
            client.stamp(row.naming_patient(reader, event))
        };
        let viewed = self
            .audit
            .record_marking(event(Action::ThreadViewed, first), mark);
        let rest =
            try_join_all(chunks.map(|ids| self.audit.record(event(Action::MessageViewed, ids))));
        futures_util::try_join!(viewed, rest)?;
        Ok(())
    }
}

/// The read state `reader` leaves by seeing the thread up to `newest`: none
/// when they had already read that far, so a thread read again costs no write.
fn read_mark(
    reader: &Reader,
    thread_id: &str,
    row: &ThreadRow,
    last_read: Option<i64>,
    newest: Option<i64>,
) -> Option<ReadMark> {
    let read_at = newest.filter(|n| last_read.is_none_or(|r| r < *n))?;
    let reader = match reader {
        Reader::Patient(id) => format!("patient:{id}"),
        Reader::Staff(_) => format!("mailbox:{}", row.mailbox.id),
    };
    Some(ReadMark {
        thread_id: thread_id.to_owned(),
        reader,
        read_at,
    })
}
