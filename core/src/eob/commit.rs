//! Step 4 of publishing: a prepared batch's EOBs, one `eob_published` audit
//! event per EOB, the notices, the upload's progress and its refusal report,
//! all in one transaction: a crash leaves all of a batch or none of it.
//! See [`super::publish`].

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
    time::Instant,
};

use super::{
    plans::HealthPlan,
    publish::{DocumentResult, Prepared, Sealed, Timings},
};
use crate::{
    audit::{Action, Actor, AppendWithin, AuditEvent, AuditLog, Outcome},
    notify::MailKind,
    store::{
        multi_row::{chunks, statements, values, BeginWrite, Placeholders, CHUNK_SIZES},
        new_id, on_pool, Backend, Store,
    },
    Error, Result,
};

/// Multi-row INSERTs into `eobs`, one per chunk size.
fn eob_inserts(placeholders: Placeholders) -> Vec<String> {
    statements(
        "INSERT INTO eobs (id, organization_id, claim_digest, version, identity_id, mailbox_id, sealed, published_at, upload_id)",
        9,
        placeholders,
    )
}

/// The latest version of each of up to n claims (the plan's id, then the
/// claims' digests), one per chunk size.
fn latest_versions(placeholders: Placeholders) -> Vec<String> {
    CHUNK_SIZES
        .iter()
        .map(|&n| {
            let (plan, claims) = match placeholders {
                Placeholders::Anonymous => ("?".to_owned(), values(1, n, placeholders)),
                // The plan's id is $1; the claims are $2 … $(n + 1).
                Placeholders::Numbered => {
                    let claims: Vec<String> = (2..=n + 1).map(|i| format!("${i}")).collect();
                    ("$1".to_owned(), format!("({})", claims.join(", ")))
                }
            };
            format!(
                "SELECT claim_digest, MAX(version) FROM eobs WHERE organization_id = {plan} \
                 AND claim_digest IN {claims} GROUP BY claim_digest"
            )
        })
        .collect()
}

static SQLITE_INSERTS: LazyLock<Vec<String>> =
    LazyLock::new(|| eob_inserts(Placeholders::Anonymous));
static POSTGRES_INSERTS: LazyLock<Vec<String>> =
    LazyLock::new(|| eob_inserts(Placeholders::Numbered));
static SQLITE_LATEST: LazyLock<Vec<String>> =
    LazyLock::new(|| latest_versions(Placeholders::Anonymous));
static POSTGRES_LATEST: LazyLock<Vec<String>> =
    LazyLock::new(|| latest_versions(Placeholders::Numbered));

/// Writes prepared batches for one plan, key and upload.
#[derive(Clone)]
pub struct Committer<'a> {
    pub(super) store: &'a Store,
    pub(super) audit: &'a AuditLog,
    pub(super) plan: &'a HealthPlan,
    pub(super) key_id: &'a str,
    pub(super) upload_id: Option<&'a str>,
    pub(super) link_lifetime: std::time::Duration,
    pub(super) timings: Arc<Timings>,
}

impl Committer<'_> {
    /// Writes a prepared batch; one result per document, in order. An `Err`
    /// means the batch was not written, or its audit events were not recorded.
    pub async fn commit(self, prepared: Prepared) -> Result<Vec<DocumentResult>> {
        let started = Instant::now();
        let events: Vec<AuditEvent> = prepared
            .sealed
            .iter()
            .map(|(_, eob)| {
                AuditEvent::new(
                    Actor::api_key(self.key_id),
                    Action::EobPublished,
                    Outcome::Success,
                )
                .about(eob.id.clone())
                .about(eob.identity_id.clone())
                .in_organization(self.plan.organization_id.clone())
            })
            .collect();
        let versions = self.write(&prepared, &events).await?;
        if !events.is_empty() {
            self.audit.index_soon().await;
        }
        Timings::add(&self.timings.write, started);
        let Prepared {
            mut results,
            sealed,
            ..
        } = prepared;
        for ((slot, eob), version) in sealed.into_iter().zip(versions) {
            if let DocumentResult::Accepted { eobs, .. } = &mut results[slot] {
                eobs.push((eob.id, version));
            }
        }
        Ok(results)
    }

    /// Writes a batch's EOBs (each the next version of its claim), their
    /// `eob_published` events, the notices, the upload's progress and its
    /// refused lines, in one transaction. Returns the versions, in order.
    async fn write(&self, p: &Prepared, events: &[AuditEvent]) -> Result<Vec<i64>> {
        let (sealed, results, notices, rejections, now) =
            (&p.sealed, &p.results, &p.notices, &p.rejections, p.now);
        let (accepted, rejected) = results.iter().fold((0i64, 0i64), |(a, r), d| match d {
            DocumentResult::Accepted { .. } => (a + 1, r),
            DocumentResult::Rejected { .. } => (a, r + 1),
        });
        let ignored: i64 = results
            .iter()
            .map(|d| match d {
                DocumentResult::Accepted { ignored, .. } => ignored.values().sum::<usize>() as i64,
                DocumentResult::Rejected { .. } => 0,
            })
            .sum();
        let link_expires = now + self.link_lifetime.as_millis() as i64;
        let day_start = now - now.rem_euclid(86_400_000);
        let plan = self.plan;
        let (latest_sql, inserts) = match self.store.backend() {
            Backend::Sqlite => (&*SQLITE_LATEST, &*SQLITE_INSERTS),
            Backend::Postgres => (&*POSTGRES_LATEST, &*POSTGRES_INSERTS),
        };
        let mut claims: Vec<&[u8; 32]> = sealed.iter().map(|(_, e)| &e.claim_digest).collect();
        claims.sort_unstable();
        claims.dedup();
        let versions = on_pool!(self.store, |pool| {
            // The write lock first (SQLite), or this plan's lock (PostgreSQL),
            // so that the latest versions read below stay the latest.
            let mut tx = pool.begin_write().await?;
            if self.store.backend() == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(format!("eobs {}", plan.organization_id))
                    .execute(&mut *tx)
                    .await?;
            }
            let mut latest: HashMap<Vec<u8>, i64> = HashMap::new();
            for (size, chunk) in chunks(&claims) {
                let mut query = sqlx::query_as(&latest_sql[size]).bind(&plan.organization_id);
                for claim in chunk {
                    query = query.bind(claim.as_slice());
                }
                let found: Vec<(Vec<u8>, i64)> = query.fetch_all(&mut *tx).await?;
                latest.extend(found);
            }
            // Each EOB is the next version of its claim (a claim may come twice
            // in one batch).
            let versions: Vec<i64> = sealed
                .iter()
                .map(|(_, eob)| {
                    let version = latest.entry(eob.claim_digest.to_vec()).or_insert(0);
                    *version += 1;
                    *version
                })
                .collect();
            let rows: Vec<(&Sealed, i64)> = sealed
                .iter()
                .map(|(_, e)| e)
                .zip(versions.iter().copied())
                .collect();
            for (size, chunk) in chunks(&rows) {
                let mut query = sqlx::query(&inserts[size]);
                for (eob, version) in chunk {
                    query = query
                        .bind(&eob.id)
                        .bind(&plan.organization_id)
                        .bind(eob.claim_digest.as_slice())
                        .bind(*version)
                        .bind(&eob.identity_id)
                        .bind(&plan.mailbox_id)
                        .bind(eob.sealed.as_slice())
                        .bind(now)
                        .bind(self.upload_id);
                }
                query.execute(&mut *tx).await?;
            }
            for (identity_id, (item_id, hash, payload)) in notices {
                // At most one notice per member, plan and (UTC) day.
                let queued = sqlx::query(
                    "INSERT INTO outbox (id, kind, identity_id, organization_id, payload_sealed, created_at, next_attempt_at) \
                     SELECT $1, $2, $3, $4, $5, $6, $6 WHERE NOT EXISTS (\
                       SELECT 1 FROM outbox WHERE identity_id = $3 AND kind = $2 \
                       AND organization_id = $4 AND created_at >= $7)",
                )
                .bind(new_id())
                .bind(MailKind::NewStatements.as_str())
                .bind(identity_id)
                .bind(&plan.organization_id)
                .bind(payload.as_slice())
                .bind(now)
                .bind(day_start)
                .execute(&mut *tx)
                .await?;
                if queued.rows_affected() == 1 {
                    sqlx::query(
                        "INSERT INTO open_links (token_hash, identity_id, item_id, organization_id, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(hash.as_slice())
                    .bind(identity_id)
                    .bind(item_id)
                    .bind(&plan.organization_id)
                    .bind(now)
                    .bind(link_expires)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if let Some(upload_id) = self.upload_id {
                if let Some((first_line, report)) = rejections {
                    sqlx::query(
                        "INSERT INTO eob_upload_rejections (upload_id, first_line, report_sealed) VALUES ($1, $2, $3)",
                    )
                    .bind(upload_id)
                    .bind(*first_line as i64)
                    .bind(report.as_slice())
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query(
                    "UPDATE eob_uploads SET lines = lines + $2, accepted = accepted + $3, \
                     rejected = rejected + $4, eobs = eobs + $5, ignored = ignored + $6, \
                     heartbeat_at = $7 WHERE id = $1",
                )
                .bind(upload_id)
                .bind(results.len() as i64)
                .bind(accepted)
                .bind(rejected)
                .bind(sealed.len() as i64)
                .bind(ignored)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.append_audit(events).await?;
            tx.commit().await?;
            Ok::<_, Error>(versions)
        })?;
        Ok(versions)
    }
}
