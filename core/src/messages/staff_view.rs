//! What staff see of their mailboxes: each mailbox their role allows with its
//! count of unread threads, and a mailbox's threads with their unread counts.
//! "Unread" is per mailbox (shared by its staff): a patient's message newer
//! than the last time anyone of the mailbox opened the thread.

use super::{mailboxes, Mailbox, Messaging, StaffMember};
use crate::{
    audit::{Action, AuditEvent, Outcome},
    auth::Client,
    store::on_pool,
    vault::{items::open_text, KeyOwner},
    Error, Result,
};

/// A line of a staff member's list of mailboxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxSummary {
    pub mailbox: Mailbox,
    /// Threads with a patient's message nobody of the mailbox has opened.
    pub unread_threads: u64,
}

/// A line of a mailbox's list of threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailboxThread {
    pub thread_id: String,
    /// None when erased.
    pub subject: Option<String>,
    pub last_message_at: i64,
    /// The patient's messages newer than the mailbox's last look.
    pub unread: u64,
}

/// Unread messages in thread `t` for reader `$2` (used in both queries).
const UNREAD_SQL: &str = "(SELECT COUNT(*) FROM messages x WHERE x.thread_id = t.id \
     AND x.author_kind = 'patient' AND x.created_at > COALESCE((SELECT r.last_read_at \
     FROM thread_reads r WHERE r.thread_id = t.id AND r.reader = 'mailbox:' || t.mailbox_id), 0))";

impl Messaging<'_> {
    /// The mailboxes `staff` may use, with how many threads are unread in each.
    pub async fn my_mailboxes(&self, staff: &StaffMember) -> Result<Vec<MailboxSummary>> {
        let mut out = Vec::new();
        for mailbox in mailboxes(self.store, &staff.organization_id).await? {
            if !Self::may_use(staff, &mailbox) {
                continue;
            }
            let sql = format!(
                "SELECT COUNT(*) FROM threads t WHERE t.mailbox_id = $1 AND {UNREAD_SQL} > 0"
            );
            let unread: i64 = on_pool!(self.store, |pool| sqlx::query_scalar(&sql)
                .bind(&mailbox.id)
                .fetch_one(pool)
                .await)?;
            out.push(MailboxSummary {
                mailbox,
                unread_threads: unread.max(0) as u64,
            });
        }
        Ok(out)
    }

    /// A mailbox's threads, newest first, for staff whose role allows it. The
    /// view is recorded before it is returned.
    pub async fn mailbox_threads(
        &self,
        staff: &StaffMember,
        mailbox_id: &str,
        client: &Client,
    ) -> Result<(Mailbox, Vec<MailboxThread>)> {
        let mailbox = super::mailbox(self.store, mailbox_id).await?;
        if !Self::may_use(staff, &mailbox) {
            let event = AuditEvent::new(reader_actor(staff), Action::InboxViewed, Outcome::Denied)
                .about(mailbox.id.clone())
                .in_organization(mailbox.organization_id.clone());
            self.audit.record(client.stamp(event)).await?;
            return Err(Error::Denied);
        }
        let sql = format!(
            "SELECT t.id, t.subject_sealed, t.last_message_at, {UNREAD_SQL} FROM threads t \
             WHERE t.mailbox_id = $1 ORDER BY t.last_message_at DESC LIMIT 200"
        );
        let rows: Vec<(String, Vec<u8>, i64, i64)> = on_pool!(self.store, |pool| {
            sqlx::query_as(&sql).bind(&mailbox.id).fetch_all(pool).await
        })?;
        let key = self
            .subject_key(&rows, KeyOwner::Mailbox(mailbox.id.clone()))
            .await?;
        let mut threads = Vec::with_capacity(rows.len());
        for (thread_id, sealed, last_message_at, unread) in rows {
            let subject = open_text(key.as_ref(), &sealed).await?;
            threads.push(MailboxThread {
                thread_id,
                subject,
                last_message_at,
                unread: unread.max(0) as u64,
            });
        }
        let event = AuditEvent::new(reader_actor(staff), Action::InboxViewed, Outcome::Success)
            .about(mailbox.id.clone())
            .in_organization(mailbox.organization_id.clone());
        self.audit.record(client.stamp(event)).await?;
        Ok((mailbox, threads))
    }
}

fn reader_actor(staff: &StaffMember) -> crate::audit::Actor {
    crate::audit::Actor::staff(&staff.staff_id)
}
