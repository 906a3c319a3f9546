//! Messages on the page: what the inbox, thread and compose pages show, and
//! the server functions behind them (their server half in `messaging_ssr.rs`).

pub mod forms;
#[cfg(feature = "ssr")]
pub mod messaging_ssr;
pub mod text;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxLine {
    pub thread_id: String,
    pub organization: String,
    pub mailbox: String,
    /// None when withdrawn or erased.
    pub subject: Option<String>,
    pub unread: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shown {
    Text(String),
    /// Withdrawn by `by` on the date `on`.
    Withdrawn {
        by: String,
        on: String,
    },
    Erased,
}

/// An attached file, as a link to download it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileLine {
    pub id: String,
    pub name: String,
    /// "PDF", "PNG image", …
    pub kind: String,
    /// "1.2 MB"
    pub size: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLine {
    pub id: String,
    pub from_patient: bool,
    pub sent: String,
    pub shown: Shown,
    pub files: Vec<FileLine>,
    /// For staff: "Read by the patient on …", or that it is not read yet.
    pub receipt: Option<String>,
    /// For staff: the organization's message may still be withdrawn.
    pub may_withdraw: bool,
    /// For staff: when it was withdrawn (they still see its text).
    pub withdrawn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPage {
    /// Read by staff: the page is in English for them.
    pub staff: bool,
    pub organization: String,
    pub mailbox: String,
    pub subject: Option<String>,
    pub messages: Vec<MessageLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxLine {
    pub id: String,
    pub name: String,
    /// Threads with a patient's message nobody of the mailbox has opened.
    pub unread_threads: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxThreadLine {
    pub thread_id: String,
    pub subject: Option<String>,
    pub last_message: String,
    pub unread: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxPage {
    pub name: String,
    pub threads: Vec<MailboxThreadLine>,
}

/// The signed-in patient's inbox.
#[server(endpoint = "inbox")]
pub async fn inbox() -> Result<Vec<InboxLine>, ServerFnError> {
    messaging_ssr::inbox().await
}

/// A thread, for its patient or for staff who may use its mailbox. Others get
/// an error saying they have no access (and the page a 403).
#[server(endpoint = "thread")]
pub async fn thread(id: String) -> Result<ThreadPage, ServerFnError> {
    messaging_ssr::thread(&id).await
}

/// The mailboxes the signed-in staff member may write from.
#[server(endpoint = "my_mailboxes")]
pub async fn my_mailboxes() -> Result<Vec<MailboxLine>, ServerFnError> {
    messaging_ssr::my_mailboxes().await
}

/// Staff withdraw their organization's message: the patient then sees only
/// that it was withdrawn, by whom and on which day.
#[server(endpoint = "withdraw")]
pub async fn withdraw(message_id: String) -> Result<(), ServerFnError> {
    messaging_ssr::withdraw(&message_id).await
}

/// A mailbox's threads with unread counts, for staff whose role allows it.
#[server(endpoint = "mailbox")]
pub async fn mailbox(id: String) -> Result<MailboxPage, ServerFnError> {
    messaging_ssr::mailbox(&id).await
}
