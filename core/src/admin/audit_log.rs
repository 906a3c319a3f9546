//! The organization's audit log as its admins review it: searched a page at
//! a time, or exported as CSV (the same columns as `portico audit export`).
//! Each search and each export is itself recorded, with the ids searched for.

use std::io::Write;

use super::require_admin;
use crate::{
    audit::{
        export::write_csv,
        search::{matching, matching_rows},
        Action, Actor, AuditEvent, AuditFilter, AuditLog, Outcome, RecordedEvent, Seq,
    },
    auth::Client,
    messages::StaffMember,
    store::Store,
    Result,
};

/// Events on one page of a search.
pub const SEARCH_PAGE: u32 = 50;
/// The most events one export holds; narrow the search for more.
pub const EXPORT_MAX: u32 = 10_000;

/// One page of events matching `filter` in the admin's organization, older
/// than `before`, and where the next page starts.
pub async fn search(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    filter: &AuditFilter,
    before: Option<Seq>,
    client: &Client,
) -> Result<(Vec<RecordedEvent>, Option<Seq>)> {
    require_admin(admin)?;
    record(audit, admin, Action::AuditSearched, filter, client).await?;
    let events = matching(store, &admin.organization_id, filter, before, SEARCH_PAGE).await?;
    let older = (events.len() == SEARCH_PAGE as usize)
        .then(|| events.last().map(|e| e.seq))
        .flatten();
    Ok((events, older))
}

/// Writes the newest [`EXPORT_MAX`] events matching `filter` as CSV; returns
/// how many were written.
pub async fn export_csv<W: Write>(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    filter: &AuditFilter,
    client: &Client,
    out: W,
) -> Result<u64> {
    require_admin(admin)?;
    record(audit, admin, Action::AuditExported, filter, client).await?;
    let rows = matching_rows(store, &admin.organization_id, filter, None, EXPORT_MAX).await?;
    write_csv(&rows, out)
}

async fn record(
    audit: &AuditLog,
    admin: &StaffMember,
    action: Action,
    filter: &AuditFilter,
    client: &Client,
) -> Result<()> {
    let mut event = AuditEvent::new(Actor::staff(&admin.staff_id), action, Outcome::Success)
        .in_organization(admin.organization_id.clone());
    for id in [&filter.patient_id, &filter.staff_id].into_iter().flatten() {
        event = event.about(id.clone());
    }
    audit.record(client.stamp(event)).await.map(drop)
}
