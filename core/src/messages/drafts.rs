//! Writing: a message is drafted (who writes, to which thread or patient), its
//! attachments are stored one at a time as they arrive, sealed to the thread's
//! patient and mailbox, and then it is sent: the message, its attachments and
//! the notices go in one transaction. A draft that is not sent is discarded.

use tokio::io::AsyncRead;

use super::{
    attachments::{self, AttachmentInfo},
    check_text, mailbox, Mailbox, Messaging, Reader, Sender,
};
use crate::{
    audit::{Action, Actor, AppendWithin, AuditEvent, Outcome},
    auth::{staff::StaffRole, Client},
    notify::{MailKind, StaffReplyPayload},
    store::{multi_row::BeginWrite, new_id, now_ms, on_pool},
    vault::{KeyOwner, NormalizedEmail, Recipients},
    Error, Result,
};

/// Who writes: staff or a system by API key, or the thread's patient.
#[derive(Clone, Debug)]
enum Author {
    Sender(Sender),
    Patient(String),
}

impl Author {
    fn actor(&self) -> Actor {
        match self {
            Author::Sender(s) => s.actor(),
            Author::Patient(id) => Actor::patient(id),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Author::Sender(s) => s.author_kind(),
            Author::Patient(_) => "patient",
        }
    }

    fn id(&self) -> &str {
        match self {
            Author::Sender(s) => s.author_id(),
            Author::Patient(id) => id,
        }
    }

    fn is_patient(&self) -> bool {
        matches!(self, Author::Patient(_))
    }
}

/// A message being written.
pub struct Draft {
    author: Author,
    mailbox: Mailbox,
    patient_id: String,
    /// None for the first message of a new thread.
    thread_id: Option<String>,
    recipients: Recipients,
    attachments: Vec<AttachmentInfo>,
}

impl Draft {
    pub fn attachments(&self) -> &[AttachmentInfo] {
        &self.attachments
    }

    fn attachment_ids(&self) -> Vec<String> {
        self.attachments.iter().map(|a| a.id.clone()).collect()
    }
}

/// A staff member to tell of a patient's reply: their identity, and the sealed
/// payload for the outbox.
struct StaffNotice {
    identity_id: String,
    sealed: Vec<u8>,
}

impl Messaging<'_> {
    async fn draft_for(
        &self,
        author: Author,
        mailbox: Mailbox,
        patient_id: String,
        thread_id: Option<String>,
    ) -> Result<Draft> {
        let recipients = self
            .vault
            .recipients(&[
                KeyOwner::Identity(patient_id.clone()),
                KeyOwner::Mailbox(mailbox.id.clone()),
            ])
            .await?;
        Ok(Draft {
            author,
            mailbox,
            patient_id,
            thread_id,
            recipients,
            attachments: Vec::new(),
        })
    }

    /// The first message of a thread from `mailbox_id` to whoever has the address
    /// `to` (the identity is made on first use), by staff whose role may use the
    /// mailbox or by the mailbox's API key.
    pub async fn draft_thread(
        &self,
        sender: impl Into<Sender>,
        mailbox_id: &str,
        to: &NormalizedEmail,
    ) -> Result<Draft> {
        let sender = sender.into();
        let mailbox = mailbox(self.store, mailbox_id).await?;
        if !sender.may_send_from(&mailbox) {
            return Err(Error::Denied);
        }
        let patient = self.vault.identity_for_email(to).await?;
        self.draft_for(Author::Sender(sender), mailbox, patient.id, None)
            .await
    }

    /// The first message of a thread from a patient to `mailbox_id` (asking a
    /// plan to correct a statement, say): the mailbox's staff are told.
    pub async fn draft_patient_thread(&self, patient_id: &str, mailbox_id: &str) -> Result<Draft> {
        let mailbox = mailbox(self.store, mailbox_id).await?;
        self.draft_for(
            Author::Patient(patient_id.to_owned()),
            mailbox,
            patient_id.to_owned(),
            None,
        )
        .await
    }

    /// A reply in a thread, by its patient or by staff who may use its mailbox
    /// (a refusal is audited).
    pub async fn draft_reply(
        &self,
        reader: &Reader,
        thread_id: &str,
        client: &Client,
    ) -> Result<Draft> {
        let row = self.thread_row(thread_id).await?;
        self.authorize(reader, thread_id, &row, client).await?;
        let author = match reader {
            Reader::Patient(id) => Author::Patient(id.clone()),
            Reader::Staff(staff) => Author::Sender(Sender::Staff(staff.clone())),
        };
        self.draft_for(
            author,
            row.mailbox,
            row.patient_id,
            Some(thread_id.to_owned()),
        )
        .await
    }

    /// Stores a file for the draft, checked and sealed as it streams in. On an
    /// error the draft keeps what it had; discard it or send it.
    pub async fn attach<R>(&self, draft: &mut Draft, name: &str, reader: R) -> Result<()>
    where
        R: AsyncRead + Unpin + Send,
    {
        let limits = self.attachment_limits;
        if draft.attachments.len() >= limits.max_per_message {
            return Err(attachments::invalid(format!(
                "at most {} files can be attached to one message",
                limits.max_per_message
            )));
        }
        let info = attachments::store_pending(
            self.store,
            &draft.recipients,
            name,
            reader,
            limits.max_bytes,
        )
        .await?;
        draft.attachments.push(info);
        Ok(())
    }

    /// Forgets a draft and the files stored for it.
    pub async fn discard(&self, draft: Draft) -> Result<()> {
        attachments::discard(self.store, &draft.attachment_ids()).await
    }

    /// Staff, or a system by API key, start a thread with whoever has this
    /// address. Returns the thread and message ids.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_thread(
        &self,
        sender: impl Into<Sender>,
        mailbox_id: &str,
        to: &NormalizedEmail,
        subject: &str,
        body: &str,
        expires_at: Option<i64>,
        client: &Client,
    ) -> Result<(String, String)> {
        let draft = self.draft_thread(sender, mailbox_id, to).await?;
        self.send(draft, Some(subject), body, expires_at, client)
            .await
    }

    /// A reply without attachments. Returns the message id.
    pub async fn reply(
        &self,
        reader: &Reader,
        thread_id: &str,
        body: &str,
        client: &Client,
    ) -> Result<String> {
        let draft = self.draft_reply(reader, thread_id, client).await?;
        let (_, message_id) = self.send(draft, None, body, None, client).await?;
        Ok(message_id)
    }

    /// Sends a draft: a new thread needs a subject, a reply has none. Expiry is
    /// for staff only. Returns the thread and message ids. On an error the
    /// draft's files are removed.
    pub async fn send(
        &self,
        draft: Draft,
        subject: Option<&str>,
        body: &str,
        expires_at: Option<i64>,
        client: &Client,
    ) -> Result<(String, String)> {
        let ids = draft.attachment_ids();
        match self
            .send_draft(&draft, subject, body, expires_at, client)
            .await
        {
            Ok(sent) => Ok(sent),
            Err(error) => {
                attachments::discard(self.store, &ids).await?;
                Err(error)
            }
        }
    }

    async fn send_draft(
        &self,
        draft: &Draft,
        subject: Option<&str>,
        body: &str,
        expires_at: Option<i64>,
        client: &Client,
    ) -> Result<(String, String)> {
        let new_thread = draft.thread_id.is_none();
        if new_thread != subject.is_some() {
            return Err(Error::Invalid {
                field: "subject",
                problem: "a new thread needs a subject, and a reply has none".into(),
            });
        }
        check_text(subject, body)?;
        if expires_at.is_some() && draft.author.is_patient() {
            return Err(Error::Invalid {
                field: "expires_at",
                problem: "only the sending organization can set an expiry".into(),
            });
        }
        let subject_sealed = match subject {
            Some(subject) => Some(draft.recipients.seal(subject.trim().as_bytes())?),
            None => None,
        };
        // A new thread's first message carries the subject too (see subject_inside).
        let body_sealed = match subject {
            Some(subject) => draft
                .recipients
                .seal(&super::subject_inside::pack(subject.trim(), body))?,
            None => draft.recipients.seal(body.as_bytes())?,
        };
        let thread_id = draft.thread_id.clone().unwrap_or_else(new_id);
        let (patient_notice, staff_notices) = if draft.author.is_patient() {
            (None, self.staff_notices(&draft.mailbox, &thread_id).await?)
        } else {
            (Some(self.prepare_notice(&draft.patient_id).await?), vec![])
        };
        let (message_id, now) = (new_id(), now_ms());
        let link_expires = now + self.link_lifetime.as_millis() as i64;
        let (author_kind, author_id) = (draft.author.kind(), draft.author.id());
        let mailbox = &draft.mailbox;
        let patient_id = &draft.patient_id;
        let mut event =
            AuditEvent::new(draft.author.actor(), Action::MessageSent, Outcome::Success)
                .about(message_id.clone())
                .about(thread_id.clone());
        // Named so the patient's access history finds it: every new thread, and
        // every message someone else writes on theirs.
        if new_thread || !draft.author.is_patient() {
            event = event.about(patient_id.clone());
        }
        for id in ids_in_order(draft) {
            event = event.about(id.to_owned());
        }
        let events = [client.stamp(event.in_organization(mailbox.organization_id.clone()))];
        // The message and its audit event commit together: no crash leaves a
        // message that was never recorded as sent.
        on_pool!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            if let Some(subject_sealed) = &subject_sealed {
                sqlx::query(
                    "INSERT INTO threads (id, mailbox_id, patient_identity_id, subject_sealed, created_at, last_message_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(&thread_id)
                .bind(&mailbox.id)
                .bind(patient_id)
                .bind(subject_sealed.as_slice())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query("UPDATE threads SET last_message_at = $2 WHERE id = $1")
                    .bind(&thread_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO messages (id, thread_id, author_kind, author_id, body_sealed, created_at, expires_at, carries_subject) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&message_id)
            .bind(&thread_id)
            .bind(author_kind)
            .bind(author_id)
            .bind(body_sealed.as_slice())
            .bind(now)
            .bind(expires_at)
            .bind(new_thread)
            .execute(&mut *tx)
            .await?;
            for (position, id) in ids_in_order(draft).enumerate() {
                let linked = sqlx::query(
                    "UPDATE attachments SET message_id = $1, position = $2 WHERE id = $3 AND message_id IS NULL",
                )
                .bind(&message_id)
                .bind(position as i64)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if linked.rows_affected() != 1 {
                    return Err(attachments::invalid(
                        "a file of this message was not stored",
                    ));
                }
            }
            if let Some(notice) = &patient_notice {
                queue_notice!(
                    tx,
                    &thread_id,
                    patient_id,
                    &mailbox.organization_id,
                    &message_id,
                    notice,
                    now,
                    link_expires
                );
            }
            for notice in &staff_notices {
                let recent: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE thread_id = $1 AND identity_id = $2 \
                     AND kind = $3 AND created_at > $4",
                )
                .bind(&thread_id)
                .bind(&notice.identity_id)
                .bind(MailKind::StaffReply.as_str())
                .bind(now - super::NOTIFY_AT_MOST_EVERY_MS)
                .fetch_one(&mut *tx)
                .await?;
                if recent == 0 {
                    sqlx::query(crate::notify::ENQUEUE_FOR_THREAD_SQL)
                        .bind(new_id())
                        .bind(MailKind::StaffReply.as_str())
                        .bind(&notice.identity_id)
                        .bind(&mailbox.organization_id)
                        .bind(notice.sealed.as_slice())
                        .bind(now)
                        .bind(&thread_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.append_audit(&events).await?;
            tx.commit().await
        })?;
        self.audit.index_soon().await;
        Ok((thread_id, message_id))
    }

    /// A sealed reply notice for each active staff member whose role may use
    /// the mailbox.
    async fn staff_notices(&self, mailbox: &Mailbox, thread_id: &str) -> Result<Vec<StaffNotice>> {
        let staff: Vec<(String, String)> = on_pool!(self.store, |pool| sqlx::query_as(
            "SELECT identity_id, role FROM staff_accounts WHERE organization_id = $1 \
             AND disabled_at IS NULL"
        )
        .bind(&mailbox.organization_id)
        .fetch_all(pool)
        .await)?;
        let payload = StaffReplyPayload {
            thread_id: thread_id.to_owned(),
            mailbox: mailbox.display_name.clone(),
        };
        let mut notices = Vec::new();
        for (identity_id, role) in staff {
            let allowed = StaffRole::parse(&role)
                .map(|role| super::role_may_use(role, mailbox.kind))
                .unwrap_or(false);
            if allowed {
                let sealed = self
                    .vault
                    .seal(
                        &crate::notify::Payload::to_bytes(&payload),
                        &[KeyOwner::Identity(identity_id.clone())],
                    )
                    .await?;
                notices.push(StaffNotice {
                    identity_id,
                    sealed,
                });
            }
        }
        Ok(notices)
    }
}

fn ids_in_order(draft: &Draft) -> impl Iterator<Item = &str> {
    draft.attachments.iter().map(|a| a.id.as_str())
}
