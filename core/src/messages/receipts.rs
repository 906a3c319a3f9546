//! Read receipts: when the patient first opened a message, read from the audit
//! log (the `thread_viewed` events naming the message, written before each view
//! was served; `message_viewed` before 2026-12), so a receipt cannot claim a
//! view that was not recorded.

use crate::{
    audit::{events_about, Action, ActorKind, Outcome, Page, PAGE_MAX},
    store::Store,
    Result,
};

/// When `patient_id` first opened `message_id`, if ever.
pub(super) async fn first_read_by_patient(
    store: &Store,
    message_id: &str,
    patient_id: &str,
) -> Result<Option<i64>> {
    let mut first = None;
    let mut page = Page::newest(PAGE_MAX);
    loop {
        let events = events_about(store, message_id, page).await?;
        for recorded in &events {
            let e = &recorded.event;
            if matches!(e.action, Action::ThreadViewed | Action::MessageViewed)
                && e.outcome == Outcome::Success
                && e.actor.kind == ActorKind::Patient
                && e.actor.id == patient_id
            {
                first = Some(e.occurred_at);
            }
        }
        match events.last() {
            Some(last) if events.len() as u32 == PAGE_MAX => page.before = Some(last.seq),
            _ => return Ok(first),
        }
    }
}
