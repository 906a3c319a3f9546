//! Reading attachments: their names for the thread page, and downloads, each
//! checked like a view of the thread and recorded before a byte is served.

use super::{
    attachments::{AttachmentInfo, AttachmentType},
    Messaging, Reader,
};
use crate::{
    audit::{Action, AuditEvent, Outcome},
    auth::Client,
    store::{now_ms, on_pool},
    vault::{items::open_with, KeyOwner, ReaderKey},
    Error, Result,
};

/// An attachment its reader may fetch: what it is, and the key to open it with
/// (stream it with [`super::attachments::write_out`]).
#[derive(Clone, Debug)]
pub struct Download {
    pub info: AttachmentInfo,
    pub owner: KeyOwner,
}

/// An attachment's stored facts, its name opened with `key`.
pub(super) async fn attachment_info(
    key: &ReaderKey,
    id: String,
    name_sealed: &[u8],
    mime: &str,
    size: i64,
) -> Result<AttachmentInfo> {
    let name = open_with(key, name_sealed).await?;
    Ok(AttachmentInfo {
        id,
        name: String::from_utf8_lossy(&name).into_owned(),
        content_type: AttachmentType::from_mime(mime)
            .ok_or(Error::Crypto("an attachment type is unknown"))?,
        size: size.max(0) as u64,
    })
}

impl Messaging<'_> {
    /// An attachment for `reader`, who must be allowed to see its thread (a
    /// refusal is audited); a patient gets nothing of a withdrawn message. The
    /// download is recorded before this returns.
    pub async fn download(
        &self,
        reader: &Reader,
        attachment_id: &str,
        client: &Client,
    ) -> Result<Download> {
        type Row = (
            String,
            String,
            Option<i64>,
            Option<i64>,
            Vec<u8>,
            String,
            i64,
        );
        let row: Option<Row> = on_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT m.thread_id, m.id, m.revoked_at, m.expires_at, a.name_sealed, \
                 a.content_type, a.size_bytes FROM attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE a.id = $1",
            )
            .bind(attachment_id)
            .fetch_optional(pool)
            .await
        })?;
        let (thread_id, message_id, revoked_at, expires_at, name_sealed, mime, size) =
            row.ok_or(Error::NotFound)?;
        let thread = self.thread_row(&thread_id).await?;
        self.authorize(reader, &thread_id, &thread, client).await?;
        let withdrawn = super::withdrawn_on(revoked_at, expires_at, now_ms()).is_some();
        if withdrawn && matches!(reader, Reader::Patient(_)) {
            return Err(Error::NotFound);
        }
        let owner = Self::key_of(reader, &thread);
        let key = self.vault.reader_key(&owner).await?;
        let info =
            attachment_info(&key, attachment_id.to_owned(), &name_sealed, &mime, size).await?;
        let event = AuditEvent::new(
            reader.actor(),
            Action::AttachmentDownloaded,
            Outcome::Success,
        )
        .about(attachment_id.to_owned())
        .about(message_id)
        .about(thread_id)
        .in_organization(thread.mailbox.organization_id.clone());
        let event = thread.naming_patient(reader, event);
        self.audit.record(client.stamp(event)).await?;
        Ok(Download { info, owner })
    }
}
