//! The id index (`audit_ids`): which events name a given id, filled behind the
//! chain in steps.
//!
//! Appending an event must be fast, and an index on people's ids is made of
//! scattered keys: each id touched costs a page write at commit. Writing the
//! index in every small group-commit transaction cut the append rate by four
//! fifths, so the writer fills it after the fact instead, in small steps
//! ([`INDEX_STEP`](super::writer::INDEX_STEP) events) taken between its
//! batches ([`index_pending`]), each in its own transaction. `audit_ids` is
//! derived data: the ids are also in `audit_events`, which the hash chain
//! covers, and readers ([`read`](super::read)) look at the not-yet-indexed
//! tail of `audit_events` directly, so no answer lags behind the log.
//!
//! Several writers (instances on one PostgreSQL) may index at once: the
//! `audit_index_state` row is locked for the whole transaction, so each event is
//! indexed once; an entry that exists anyway is skipped (`ON CONFLICT`).

use sqlx::{Connection, Row};

use super::chain::AuditRow;
use crate::{
    store::multi_row::{chunks, values, Placeholders, CHUNK_SIZES},
    store::Store,
    Result,
};

/// The most events indexed in one transaction by [`index_all`] (start-up, tests).
pub const INDEX_BATCH_MAX: i64 = 8192;

const SELECT_TAIL: &str = "SELECT seq, actor_id, subject_ids FROM audit_events \
     WHERE seq > $1 ORDER BY seq LIMIT $2";
const UPDATE_STATE: &str = "UPDATE audit_index_state SET indexed_through = $1 WHERE singleton = 1";

/// Multi-row `INSERT … ON CONFLICT DO NOTHING` into `audit_ids`, one per chunk size.
fn insert_ids(placeholders: Placeholders) -> Vec<String> {
    CHUNK_SIZES
        .iter()
        .map(|&n| {
            format!(
                "INSERT INTO audit_ids (id, seq) VALUES {} ON CONFLICT DO NOTHING",
                values(n, 2, placeholders)
            )
        })
        .collect()
}

static SQLITE_INSERTS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| insert_ids(Placeholders::Anonymous));
static POSTGRES_INSERTS: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| insert_ids(Placeholders::Numbered));

/// The ids an event names, as its actor or among its subjects, each once.
pub(crate) fn named_ids<'a>(actor_id: &'a str, subject_ids: &'a str) -> Vec<&'a str> {
    let mut ids: Vec<&str> = Vec::with_capacity(4);
    let subjects = subject_ids.split(' ').filter(|s| !s.is_empty());
    for id in std::iter::once(actor_id).chain(subjects) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// True when `row` names `id`, as its actor or among its subjects.
pub(crate) fn row_names(row: &AuditRow, id: &str) -> bool {
    row.actor_id == id || row.subject_id_list().any(|s| s == id)
}

/// How far the index reaches: every event with a seq up to this is in `audit_ids`.
pub async fn indexed_through(store: &Store) -> Result<i64> {
    const SQL: &str = "SELECT indexed_through FROM audit_index_state WHERE singleton = 1";
    let through: i64 =
        crate::store::on_pool!(store, |pool| sqlx::query_scalar(SQL).fetch_one(pool).await)?;
    Ok(through)
}

/// Indexes up to `max` events past the index's reach, in one transaction, and
/// returns how many it indexed (0 when the index is complete).
pub async fn index_pending(store: &Store, max: i64) -> Result<u64> {
    macro_rules! index_on {
        ($tx:ident, $begin:expr, $lock_sql:expr, $inserts:expr) => {{
            let mut $tx = $begin.await?;
            let through: i64 = sqlx::query_scalar($lock_sql).fetch_one(&mut *$tx).await?;
            let tail = sqlx::query(SELECT_TAIL)
                .bind(through)
                .bind(max)
                .fetch_all(&mut *$tx)
                .await?;
            let Some(last) = tail.last() else {
                return Ok(0);
            };
            let last_seq: i64 = last.try_get("seq")?;
            let mut entries: Vec<(String, i64)> = Vec::with_capacity(tail.len() * 3);
            for row in &tail {
                let seq: i64 = row.try_get("seq")?;
                let actor: &str = row.try_get("actor_id")?;
                let subjects: &str = row.try_get("subject_ids")?;
                for id in named_ids(actor, subjects) {
                    entries.push((id.to_owned(), seq));
                }
            }
            // Sorted, so the B-tree is walked once from left to right.
            entries.sort_unstable();
            for (size, chunk) in chunks(&entries) {
                let mut query = sqlx::query($inserts[size].as_str());
                for (id, seq) in chunk {
                    query = query.bind(id.as_str()).bind(*seq);
                }
                query.execute(&mut *$tx).await?;
            }
            sqlx::query(UPDATE_STATE)
                .bind(last_seq)
                .execute(&mut *$tx)
                .await?;
            $tx.commit().await?;
            Ok(tail.len() as u64)
        }};
    }
    match store {
        Store::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            index_on!(
                tx,
                conn.begin_with("BEGIN IMMEDIATE"),
                "SELECT indexed_through FROM audit_index_state WHERE singleton = 1",
                SQLITE_INSERTS
            )
        }
        Store::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            index_on!(
                tx,
                conn.begin(),
                "SELECT indexed_through FROM audit_index_state WHERE singleton = 1 FOR UPDATE",
                POSTGRES_INSERTS
            )
        }
    }
}

/// Indexes everything pending, batch after batch (at start-up, and in tests).
pub async fn index_all(store: &Store) -> Result<u64> {
    let mut total = 0;
    loop {
        match index_pending(store, INDEX_BATCH_MAX).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_id_is_indexed_once() {
        assert_eq!(
            named_ids("identity-1", "msg-1 identity-1 msg-1"),
            ["identity-1", "msg-1"]
        );
        assert_eq!(named_ids("system", ""), ["system"]);
    }

    #[test]
    fn id_inserts_skip_entries_that_exist() {
        assert_eq!(
            POSTGRES_INSERTS[6],
            "INSERT INTO audit_ids (id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        );
        assert_eq!(SQLITE_INSERTS[0].matches('?').count(), 128);
    }
}
