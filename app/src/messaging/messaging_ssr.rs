//! The server half of the message functions.

use leptos::prelude::*;
use portico_core::{
    auth::staff,
    messages::{self, MessageContent, Messaging, Reader, StaffMember},
    vault::NormalizedEmail,
};

use super::{InboxLine, MailboxLine, MessageLine, Shown, ThreadPage};
use crate::auth::session::{client, failed, portal, signed_in, Portal};

fn messaging(p: &Portal) -> Messaging<'_> {
    Messaging {
        store: &p.store,
        vault: &p.vault,
        audit: &p.audit,
    }
}

/// The signed-in person as a reader of messages.
async fn reader(p: &Portal) -> Result<Reader, ServerFnError> {
    let person = signed_in()
        .await?
        .ok_or_else(|| ServerFnError::new("please sign in again"))?;
    if person.kind != "staff" {
        return Ok(Reader::Patient(person.id));
    }
    let profile = staff::profile(&p.store, &person.id).await.map_err(failed)?;
    Ok(Reader::Staff(StaffMember {
        staff_id: profile.staff_id,
        organization_id: profile.organization_id,
        role: profile.role,
    }))
}

async fn staff_member(p: &Portal) -> Result<StaffMember, ServerFnError> {
    match reader(p).await? {
        Reader::Staff(member) => Ok(member),
        Reader::Patient(_) => Err(ServerFnError::new("for staff only")),
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
    let view = messaging(&p)
        .thread(&reader, id, &client().await)
        .await
        .map_err(failed)?;
    Ok(ThreadPage {
        organization: view.organization_name,
        mailbox: view.mailbox_name,
        subject: view.subject,
        messages: view
            .messages
            .into_iter()
            .map(|m| MessageLine {
                id: m.id,
                from_patient: m.author_kind == "patient",
                shown: match m.content {
                    MessageContent::Text(text) => Shown::Text(text),
                    MessageContent::Withdrawn { by, .. } => Shown::Withdrawn { by },
                    MessageContent::Erased => Shown::Erased,
                },
            })
            .collect(),
    })
}

pub async fn reply(thread_id: &str, body: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let reader = reader(&p).await?;
    messaging(&p)
        .reply(&reader, thread_id, body, &client().await)
        .await
        .map(drop)
        .map_err(failed)
}

pub async fn my_mailboxes() -> Result<Vec<MailboxLine>, ServerFnError> {
    let p = portal()?;
    let member = staff_member(&p).await?;
    let all = messages::mailboxes(&p.store, &member.organization_id)
        .await
        .map_err(failed)?;
    Ok(all
        .into_iter()
        .filter(|m| messages::role_may_use(member.role, m.kind))
        .map(|m| MailboxLine {
            id: m.id,
            name: m.display_name,
        })
        .collect())
}

pub async fn compose(
    mailbox_id: &str,
    email: &str,
    subject: &str,
    body: &str,
) -> Result<String, ServerFnError> {
    let p = portal()?;
    let member = staff_member(&p).await?;
    let to = NormalizedEmail::parse(email).map_err(failed)?;
    let (thread_id, _) = messaging(&p)
        .start_thread(
            &member,
            mailbox_id,
            &to,
            subject,
            body,
            None,
            &client().await,
        )
        .await
        .map_err(failed)?;
    Ok(thread_id)
}
