//! Bulk uploads as the plan follows them: counts kept up to date batch by
//! batch (in the batch's own transaction), and the refused lines with their
//! issues, sealed to the plan's mailbox.

use serde::Serialize;
use serde_json::Value;

use super::plans::HealthPlan;
use crate::{
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
    Error, Result,
};

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Upload {
    pub id: String,
    /// `receiving` while lines arrive, then `done`; `failed` if it stopped
    /// (what was acknowledged before stays published).
    pub state: String,
    pub lines: i64,
    pub accepted: i64,
    pub rejected: i64,
    /// EOBs published (a Bundle line may hold several).
    pub eobs: i64,
    /// Resources of other types that were skipped.
    pub ignored: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str =
    "id, state, lines, accepted, rejected, eobs, ignored, started_at, finished_at";

/// Starts an upload for `plan` by key `key_id`; returns its id.
pub async fn begin(store: &Store, plan: &HealthPlan, key_id: &str) -> Result<String> {
    let id = new_id();
    on_pool!(store, |pool| {
        sqlx::query(
        "INSERT INTO eob_uploads (id, organization_id, api_key_id, state, started_at, heartbeat_at) \
         VALUES ($1, $2, $3, 'receiving', $4, $4)"
    )
    .bind(&id)
    .bind(&plan.organization_id)
    .bind(key_id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop)
    })?;
    Ok(id)
}

/// How often a receiving upload says it is alive.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// A receiving upload silent this long was cut off by its process's end.
pub const PRESUMED_DEAD_AFTER: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// Says that an upload is still being received (by a live process).
pub async fn heartbeat(store: &Store, id: &str) -> Result<()> {
    on_pool!(store, |pool| sqlx::query(
        "UPDATE eob_uploads SET heartbeat_at = $2 WHERE id = $1 AND state = 'receiving'"
    )
    .bind(id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop))?;
    Ok(())
}

/// Marks failed the uploads still `receiving` with no heartbeat for `silent`
/// (their process ended mid-upload: what it acknowledged stays published);
/// returns how many. Any instance may run this.
pub async fn fail_abandoned(store: &Store, silent: std::time::Duration) -> Result<u64> {
    let now = now_ms();
    let before = now - i64::try_from(silent.as_millis()).unwrap_or(i64::MAX);
    let done = on_pool!(store, |pool| sqlx::query(
        "UPDATE eob_uploads SET state = 'failed', finished_at = $1 \
         WHERE state = 'receiving' AND COALESCE(heartbeat_at, started_at) < $2"
    )
    .bind(now)
    .bind(before)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Marks an upload done (`completed`) or failed.
pub async fn finish(store: &Store, id: &str, completed: bool) -> Result<()> {
    let state = if completed { "done" } else { "failed" };
    on_pool!(store, |pool| sqlx::query(
        "UPDATE eob_uploads SET state = $2, finished_at = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(state)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop))?;
    Ok(())
}

/// One upload of `plan` ([`Error::NotFound`] for another plan's), with its
/// refused lines (`{line, outcome}`, by line).
pub async fn status(
    store: &Store,
    vault: &Vault,
    plan: &HealthPlan,
    id: &str,
) -> Result<(Upload, Vec<Value>)> {
    let sql = format!("SELECT {COLUMNS} FROM eob_uploads WHERE id = $1 AND organization_id = $2");
    let upload: Option<Upload> = on_pool!(store, |pool| sqlx::query_as(&sql)
        .bind(id)
        .bind(&plan.organization_id)
        .fetch_optional(pool)
        .await)?;
    let upload = upload.ok_or(Error::NotFound)?;
    let reports: Vec<Vec<u8>> = on_pool!(store, |pool| {
        sqlx::query_scalar(
        "SELECT report_sealed FROM eob_upload_rejections WHERE upload_id = $1 ORDER BY first_line"
    )
    .bind(id)
    .fetch_all(pool)
    .await
    })?;
    let owner = KeyOwner::Mailbox(plan.mailbox_id.clone());
    let mut refused = Vec::new();
    for sealed in reports {
        let plain = vault.open(&sealed, &owner).await?;
        let batch: Vec<Value> = serde_json::from_slice(&plain)
            .map_err(|_| Error::Crypto("an upload report is malformed"))?;
        refused.extend(batch);
    }
    Ok((upload, refused))
}

/// The plan's most recent uploads, newest first, to find one still running.
pub async fn recent(store: &Store, plan: &HealthPlan, limit: u32) -> Result<Vec<Upload>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM eob_uploads WHERE organization_id = $1 \
         ORDER BY started_at DESC, id LIMIT $2"
    );
    Ok(on_pool!(store, |pool| sqlx::query_as(&sql)
        .bind(&plan.organization_id)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await)?)
}
