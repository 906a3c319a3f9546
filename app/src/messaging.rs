//! Messages on the page: what the inbox, thread and compose pages show, and
//! the server functions behind them (their server half in `messaging_ssr.rs`).

#[cfg(feature = "ssr")]
mod messaging_ssr;

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
    Withdrawn { by: String },
    Erased,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLine {
    pub id: String,
    pub from_patient: bool,
    pub shown: Shown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPage {
    pub organization: String,
    pub mailbox: String,
    pub subject: Option<String>,
    pub messages: Vec<MessageLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxLine {
    pub id: String,
    pub name: String,
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

#[server(endpoint = "reply")]
pub async fn reply(thread_id: String, body: String) -> Result<(), ServerFnError> {
    messaging_ssr::reply(&thread_id, &body).await
}

/// The mailboxes the signed-in staff member may write from.
#[server(endpoint = "my_mailboxes")]
pub async fn my_mailboxes() -> Result<Vec<MailboxLine>, ServerFnError> {
    messaging_ssr::my_mailboxes().await
}

/// Staff write to a patient's email address; returns the new thread's id.
#[server(endpoint = "compose")]
pub async fn compose(
    mailbox_id: String,
    email: String,
    subject: String,
    body: String,
) -> Result<String, ServerFnError> {
    messaging_ssr::compose(&mailbox_id, &email, &subject, &body).await
}
