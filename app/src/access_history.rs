//! A patient's access history on the page: who did what to their items and
//! when, a page at a time, and the server function behind it (its server half
//! in `access_history_ssr.rs`).

#[cfg(feature = "ssr")]
pub mod access_history_ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One entry, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryLine {
    /// "2026-12-01 09:30 UTC"
    pub when: String,
    /// "You", "Dr. Ana Ruiz (clinician), Riverside Clinic", …
    pub who: String,
    /// "opened a message", …
    pub what: String,
    /// "Refused" or "Failed"; none when it was done.
    pub outcome: Option<String>,
    /// The item, when it is the patient's own: its address and a link text.
    pub item: Option<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub lines: Vec<HistoryLine>,
    /// Where the next (older) page starts.
    pub older: Option<i64>,
}

/// The signed-in patient's access history, older than `before` (newest first
/// when none). Recorded before it is returned.
#[server(endpoint = "access_history")]
pub async fn access_history(before: Option<i64>) -> Result<HistoryPage, ServerFnError> {
    access_history_ssr::page(before).await
}
