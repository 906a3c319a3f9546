//! Reading events back: a patient's access history (every event on their items,
//! staff views included), a staff member's or API key's activity, and an
//! organization's log for its admins. Newest first, a page at a time.

use super::{
    chain::{AuditRow, COLUMNS},
    index, Action, Actor, ActorKind, AuditEvent, Outcome, Seq,
};
use crate::{store::on_pool, store::Store, Error, Result};

/// The most events one page returns.
pub const PAGE_MAX: u32 = 500;

/// Which page to read: events older than `before` (all when `None`), at most
/// `limit` of them (capped at [`PAGE_MAX`]). Pass the last seq of one page as
/// `before` to get the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub before: Option<Seq>,
    pub limit: u32,
}

impl Page {
    /// The newest `limit` events.
    pub fn newest(limit: u32) -> Self {
        Self {
            before: None,
            limit,
        }
    }

    fn before(&self) -> i64 {
        self.before.map_or(i64::MAX, |s| s.0)
    }

    fn limit(&self) -> i64 {
        i64::from(self.limit.min(PAGE_MAX))
    }
}

/// An event as read back, with its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub seq: Seq,
    pub event: AuditEvent,
}

impl TryFrom<AuditRow> for RecordedEvent {
    type Error = Error;

    /// Parses the stored texts; a row holding a name this version does not know
    /// (altered, or written by a newer version) is reported, not guessed at.
    fn try_from(row: AuditRow) -> Result<Self> {
        let corrupt = |problem: String| Error::AuditCorrupt {
            seq: row.seq,
            problem,
        };
        let kind = ActorKind::from_name(&row.actor_kind)
            .ok_or_else(|| corrupt(format!("unknown actor kind {:?}", row.actor_kind)))?;
        let action = Action::from_name(&row.action)
            .ok_or_else(|| corrupt(format!("unknown action {:?}", row.action)))?;
        let outcome = Outcome::from_name(&row.outcome)
            .ok_or_else(|| corrupt(format!("unknown outcome {:?}", row.outcome)))?;
        let client_address = match &row.client_address {
            None => None,
            Some(a) => Some(
                a.parse()
                    .map_err(|_| corrupt(format!("bad client address {a:?}")))?,
            ),
        };
        let subject_ids = row.subject_id_list().map(str::to_owned).collect();
        Ok(RecordedEvent {
            seq: Seq(row.seq),
            event: AuditEvent {
                occurred_at: row.occurred_at,
                actor: Actor {
                    kind,
                    id: row.actor_id,
                },
                action,
                subject_ids,
                organization_id: row.organization_id,
                outcome,
                client_address,
                user_agent: row.user_agent,
            },
        })
    }
}

/// Every event that names `id`, as its actor or among its subjects: for a
/// patient's access history pass their identity id (staff views of their items
/// name it too); for a message's read receipts, the message id.
pub async fn events_about(store: &Store, id: &str, page: Page) -> Result<Vec<RecordedEvent>> {
    events_naming(store, id, page, |_| true).await
}

/// Everything one actor did.
pub async fn events_by(store: &Store, actor: &Actor, page: Page) -> Result<Vec<RecordedEvent>> {
    // Found through the ids index, which names every actor, then narrowed to
    // events where the id acted (rather than was acted on) with this kind.
    events_naming(store, &actor.id, page, |row| {
        row.actor_id == actor.id && row.actor_kind == actor.kind.as_str()
    })
    .await
}

/// The newest events (before `page.before`) that name `id` and pass `keep`:
/// first those past the id index's reach, read from `audit_events` itself, then
/// those the index finds. Rows are never removed from either, so reading the
/// reach first and the rest after gives an exact answer without a transaction.
async fn events_naming(
    store: &Store,
    id: &str,
    page: Page,
    keep: impl Fn(&AuditRow) -> bool,
) -> Result<Vec<RecordedEvent>> {
    let limit = page.limit() as usize;
    let through = index::indexed_through(store).await?;
    let tail_sql =
        format!("SELECT {COLUMNS} FROM audit_events WHERE seq > $1 AND seq < $2 ORDER BY seq DESC");
    let tail: Vec<AuditRow> = on_pool!(store, |pool| sqlx::query_as(&tail_sql)
        .bind(through)
        .bind(page.before())
        .fetch_all(pool)
        .await)?;
    let mut rows: Vec<AuditRow> = tail
        .into_iter()
        .filter(|row| index::row_names(row, id) && keep(row))
        .take(limit)
        .collect();
    // The indexed part is read in pages too, as `keep` may drop some rows.
    let mut before = page.before().min(through + 1);
    while rows.len() < limit {
        let indexed_sql = format!(
            "SELECT {} FROM audit_ids i JOIN audit_events e ON e.seq = i.seq \
             WHERE i.id = $1 AND i.seq < $2 ORDER BY i.seq DESC LIMIT $3",
            qualified("e")
        );
        let found: Vec<AuditRow> = on_pool!(store, |pool| sqlx::query_as(&indexed_sql)
            .bind(id)
            .bind(before)
            .bind(page.limit())
            .fetch_all(pool)
            .await)?;
        let Some(last) = found.last() else { break };
        before = last.seq;
        let exhausted = found.len() < limit;
        rows.extend(
            found
                .into_iter()
                .filter(|row| keep(row))
                .take(limit - rows.len()),
        );
        if exhausted {
            break;
        }
    }
    rows.into_iter().map(RecordedEvent::try_from).collect()
}

/// Every event in one organization, for its admins' review.
pub async fn events_in_organization(
    store: &Store,
    organization_id: &str,
    page: Page,
) -> Result<Vec<RecordedEvent>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events WHERE organization_id = $1 \
         AND seq < $2 ORDER BY seq DESC LIMIT $3"
    );
    let rows: Vec<AuditRow> = on_pool!(store, |pool| sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(page.before())
        .bind(page.limit())
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(RecordedEvent::try_from).collect()
}

/// The column list with each column prefixed by `alias.`.
fn qualified(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
