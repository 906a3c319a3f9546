//! The server half of the message functions.

use leptos::prelude::*;
use portico_core::{
    auth::staff,
    messages::{AttachmentInfo, AttachmentType, MessageContent, Messaging, Reader, StaffMember},
    Error,
};

use super::{
    FileLine, InboxLine, MailboxLine, MailboxPage, MailboxThreadLine, MessageLine, Shown,
    ThreadPage,
};
use crate::{
    auth::session::{client, failed, portal, signed_in, Person, Portal},
    i18n::messages::{texts, Texts, ENGLISH},
};

/// The messages of the portal `p`, with its settings.
pub fn messaging(p: &Portal) -> Messaging<'_> {
    Messaging {
        store: &p.store,
        vault: &p.vault,
        audit: &p.audit,
        link_lifetime: p.settings.link_lifetime,
        attachment_limits: p.settings.attachment_limits(),
    }
}

/// A date and time for a page, in UTC.
pub fn when(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

fn day(ms: i64) -> String {
    when(ms).get(..10).unwrap_or_default().to_owned()
}

/// An attached file for a page in `t`'s language.
fn file_line(t: &Texts, a: AttachmentInfo) -> FileLine {
    let kind = match a.content_type {
        AttachmentType::Pdf => t.pdf,
        AttachmentType::Png => t.png_image,
        AttachmentType::Jpeg => t.jpeg_image,
        AttachmentType::Text => t.text_file,
    };
    let size = if a.size >= 1_000_000 {
        format!("{:.1} MB", a.size as f64 / 1e6)
    } else {
        format!("{} KB", a.size.div_ceil(1000))
    };
    FileLine {
        id: a.id,
        name: a.name,
        kind: kind.into(),
        size,
    }
}

/// The signed-in person as a reader of messages.
async fn reader(p: &Portal) -> Result<Reader, ServerFnError> {
    let person = signed_in()
        .await?
        .ok_or_else(|| ServerFnError::new(texts().sign_in_again))?;
    reader_for(p, person).await
}

/// A signed-in person as a reader of messages (staff with their role).
pub async fn reader_for(p: &Portal, person: Person) -> Result<Reader, ServerFnError> {
    reader_of(p, person).await.map_err(|e| match e {
        Error::Denied => ServerFnError::new("this account is disabled; ask your admin"),
        other => failed(other),
    })
}

/// [`reader_for`] with the core's error, for handlers outside the server
/// functions: a disabled staff account is [`Error::Denied`] (403 there).
pub async fn reader_of(p: &Portal, person: Person) -> Result<Reader, Error> {
    if person.kind != "staff" {
        return Ok(Reader::Patient(person.id));
    }
    let profile = staff::profile(&p.store, &person.id).await?;
    // Disabling ends the account's sessions; a request already under way when
    // it happened could still save its session again, so each request checks.
    if profile.disabled {
        return Err(Error::Denied);
    }
    Ok(Reader::Staff(StaffMember {
        staff_id: profile.staff_id,
        organization_id: profile.organization_id,
        role: profile.role,
    }))
}

pub(crate) async fn staff_member(p: &Portal) -> Result<StaffMember, ServerFnError> {
    match reader(p).await? {
        Reader::Staff(member) => Ok(member),
        // A patient who tried a staff function: told in their language.
        Reader::Patient(_) => Err(ServerFnError::new(texts().staff_only)),
    }
}

pub async fn inbox() -> Result<Vec<InboxLine>, ServerFnError> {
    let p = portal()?;
    let Reader::Patient(id) = reader(&p).await? else {
        return Err(ServerFnError::new("for patients only"));
    };
    let lines = messaging(&p)
        .inbox(&id, &client().await)
        .await
        .map_err(failed)?;
    Ok(lines
        .into_iter()
        .map(|t| InboxLine {
            thread_id: t.thread_id,
            organization: t.organization_name,
            mailbox: t.mailbox_name,
            subject: t.subject,
            unread: t.unread,
        })
        .collect())
}

pub async fn thread(id: &str) -> Result<ThreadPage, ServerFnError> {
    let p = portal()?;
    let reader = reader(&p).await?;
    let staff = matches!(reader, Reader::Staff(_));
    // Staff read English; what only they see is written in English below.
    let t: &Texts = if staff { &ENGLISH } else { texts() };
    let view = messaging(&p)
        .thread(&reader, id, &client().await)
        .await
        .map_err(failed)?;
    Ok(ThreadPage {
        staff,
        organization: view.organization_name,
        mailbox: view.mailbox_name,
        subject: view.subject,
        messages: view
            .messages
            .into_iter()
            .map(|m| MessageLine {
                receipt: match (&reader, m.author_kind.as_str()) {
                    (Reader::Staff(_), "staff" | "api_key") => {
                        Some(match m.first_read_by_patient {
                            Some(at) => format!("Read by the patient {}", when(at)),
                            None => "Not read by the patient yet".to_owned(),
                        })
                    }
                    _ => None,
                },
                may_withdraw: matches!(reader, Reader::Staff(_))
                    && m.author_kind != "patient"
                    && m.withdrawn_at.is_none(),
                withdrawn: match reader {
                    Reader::Staff(_) => m.withdrawn_at.map(|at| format!("Withdrawn {}", when(at))),
                    Reader::Patient(_) => None,
                },
                id: m.id,
                from_patient: m.author_kind == "patient",
                sent: when(m.sent_at),
                shown: match m.content {
                    MessageContent::Text(text) => Shown::Text(text),
                    MessageContent::Withdrawn { by, on } => Shown::Withdrawn { by, on: day(on) },
                    MessageContent::Erased => Shown::Erased,
                },
                files: m.attachments.into_iter().map(|a| file_line(t, a)).collect(),
            })
            .collect(),
    })
}

pub async fn my_mailboxes() -> Result<Vec<MailboxLine>, ServerFnError> {
    let p = portal()?;
    let member = staff_member(&p).await?;
    let all = messaging(&p).my_mailboxes(&member).await.map_err(failed)?;
    Ok(all
        .into_iter()
        .map(|m| MailboxLine {
            id: m.mailbox.id,
            name: m.mailbox.display_name,
            unread_threads: m.unread_threads,
        })
        .collect())
}

pub async fn withdraw(message_id: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let member = staff_member(&p).await?;
    messaging(&p)
        .revoke(&member, message_id, &client().await)
        .await
        .map_err(failed)
}

pub async fn mailbox(id: &str) -> Result<MailboxPage, ServerFnError> {
    let p = portal()?;
    let member = staff_member(&p).await?;
    let (mailbox, threads) = messaging(&p)
        .mailbox_threads(&member, id, &client().await)
        .await
        .map_err(failed)?;
    Ok(MailboxPage {
        name: mailbox.display_name,
        threads: threads
            .into_iter()
            .map(|t| MailboxThreadLine {
                thread_id: t.thread_id,
                subject: t.subject,
                last_message: when(t.last_message_at),
                unread: t.unread,
            })
            .collect(),
    })
}
