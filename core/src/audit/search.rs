//! Searching one organization's events, for its admins' review: by patient,
//! by staff member, by action and by time, newest first, a page at a time.
//! Only events recorded in that organization are ever found.

use super::{
    chain::{AuditRow, COLUMNS},
    read::RecordedEvent,
    Action, Seq,
};
use crate::{store::on_pool, store::Store, Result};

/// What to look for; every filter given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events naming this patient's identity id (acting, or acted upon).
    pub patient_id: Option<String>,
    /// Events by this staff member.
    pub staff_id: Option<String>,
    pub action: Option<Action>,
    /// From this time on (Unix milliseconds, inclusive)…
    pub since: Option<i64>,
    /// …up to this time (exclusive).
    pub until: Option<i64>,
}

enum Bind {
    Text(String),
    Int(i64),
}

/// The newest `limit` rows of `organization_id` older than `before` that match.
pub(crate) async fn matching_rows(
    store: &Store,
    organization_id: &str,
    filter: &AuditFilter,
    before: Option<Seq>,
    limit: u32,
) -> Result<Vec<AuditRow>> {
    let mut binds = vec![
        Bind::Text(organization_id.to_owned()),
        Bind::Int(before.map_or(i64::MAX, |s| s.0)),
    ];
    let mut sql =
        format!("SELECT {COLUMNS} FROM audit_events WHERE organization_id = $1 AND seq < $2");
    // Each `?` in `part` becomes the next numbered placeholder, bound to the
    // next of `values`.
    let mut and = |part: &str, values: Vec<Bind>| {
        let mut part = part.to_owned();
        for value in values {
            binds.push(value);
            part = part.replacen('?', &format!("${}", binds.len()), 1);
        }
        sql.push_str(&part);
    };
    if let Some(id) = &filter.patient_id {
        // Subject ids are stored joined by spaces; LIKE's wildcards are escaped.
        let escaped = id
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        and(
            " AND (actor_id = ? OR (' ' || subject_ids || ' ') LIKE ? ESCAPE '\\')",
            vec![Bind::Text(id.clone()), Bind::Text(format!("% {escaped} %"))],
        );
    }
    if let Some(staff) = &filter.staff_id {
        and(
            " AND actor_kind = 'staff' AND actor_id = ?",
            vec![Bind::Text(staff.clone())],
        );
    }
    if let Some(action) = filter.action {
        and(
            " AND action = ?",
            vec![Bind::Text(action.as_str().to_owned())],
        );
    }
    if let Some(since) = filter.since {
        and(" AND occurred_at >= ?", vec![Bind::Int(since)]);
    }
    if let Some(until) = filter.until {
        and(" AND occurred_at < ?", vec![Bind::Int(until)]);
    }
    binds.push(Bind::Int(i64::from(limit)));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", binds.len()));
    let rows: Vec<AuditRow> = on_pool!(store, |pool| {
        let mut query = sqlx::query_as(&sql);
        for bind in &binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(*n),
            };
        }
        query.fetch_all(pool).await
    })?;
    Ok(rows)
}

/// As [`matching_rows`], parsed.
pub(crate) async fn matching(
    store: &Store,
    organization_id: &str,
    filter: &AuditFilter,
    before: Option<Seq>,
    limit: u32,
) -> Result<Vec<RecordedEvent>> {
    matching_rows(store, organization_id, filter, before, limit)
        .await?
        .into_iter()
        .map(RecordedEvent::try_from)
        .collect()
}
