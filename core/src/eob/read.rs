//! What a member sees of their EOBs: the list of statements, one statement,
//! its PDF and its original FHIR JSON, and a request for a correction. Every
//! list, view and download is recorded in the audit log before it is returned;
//! another member's statement is [`Error::NotFound`], as an unknown one is.

use zeroize::Zeroizing;

use super::{envelope, statement_pdf, Statement};
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::Client,
    messages::Messaging,
    store::{now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
    Error, Result,
};

/// One statement in the member's list: the latest version of each claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSummary {
    pub id: String,
    pub plan: String,
    pub published_at: i64,
    /// A later version replaced an earlier one.
    pub updated: bool,
    pub statement: Statement,
}

/// A statement as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementView {
    pub summary: StatementSummary,
    /// When this version was replaced, the id of the latest.
    pub latest_id: Option<String>,
    /// Threads opened to ask for a correction of this claim, newest first.
    pub correction_threads: Vec<String>,
}

/// A member's EOBs.
pub struct Statements<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub audit: &'a AuditLog,
}

type Row = (String, String, i64, i64, Vec<u8>, String);

const ROW: &str = "e.id, o.display_name, e.published_at, e.version, e.sealed, e.organization_id";

impl Statements<'_> {
    async fn record(
        &self,
        patient_id: &str,
        action: Action,
        about: &str,
        client: &Client,
    ) -> Result<()> {
        let event = AuditEvent::new(Actor::patient(patient_id), action, Outcome::Success)
            .about(about.to_owned());
        self.audit.record(client.stamp(event)).await.map(drop)
    }

    /// The latest version of each of the member's claims, newest first.
    pub async fn list(&self, patient_id: &str, client: &Client) -> Result<Vec<StatementSummary>> {
        let sql = format!(
            "SELECT {ROW} FROM eobs e JOIN organizations o ON o.id = e.organization_id \
             WHERE e.identity_id = $1 AND NOT EXISTS (SELECT 1 FROM eobs n \
               WHERE n.organization_id = e.organization_id AND n.claim_digest = e.claim_digest \
               AND n.version > e.version) \
             ORDER BY e.published_at DESC, e.id LIMIT 500"
        );
        let rows: Vec<Row> = on_pool!(self.store, |pool| sqlx::query_as(&sql)
            .bind(patient_id)
            .fetch_all(pool)
            .await)?;
        let key = self
            .vault
            .reader_key(&KeyOwner::Identity(patient_id.to_owned()))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, plan, published_at, version, sealed, _) in rows {
            let plain = key.open(&sealed)?;
            let statement = envelope::summary(&plain)?;
            out.push(StatementSummary {
                id,
                plan,
                published_at,
                updated: version > 1,
                statement,
            });
        }
        self.record(patient_id, Action::EobListViewed, patient_id, client)
            .await?;
        Ok(out)
    }

    /// One of the member's EOB versions, opened: the row and the plaintext.
    async fn open(&self, patient_id: &str, eob_id: &str) -> Result<(Row, Zeroizing<Vec<u8>>)> {
        let sql = format!(
            "SELECT {ROW} FROM eobs e JOIN organizations o ON o.id = e.organization_id \
             WHERE e.id = $1 AND e.identity_id = $2"
        );
        let row: Option<Row> = match self.store.sync_readers() {
            // In place, as the statement's other reads (see store::sync_read).
            Some(readers) => readers.read(|conn| {
                use rusqlite::OptionalExtension;
                conn.prepare_cached(&sql)?
                    .query_row((eob_id, patient_id), |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })
                    .optional()
            })?,
            None => on_pool!(self.store, |pool| sqlx::query_as(&sql)
                .bind(eob_id)
                .bind(patient_id)
                .fetch_optional(pool)
                .await)?,
        };
        let row = row.ok_or(Error::NotFound)?;
        let plain = self
            .vault
            .open(&row.4, &KeyOwner::Identity(patient_id.to_owned()))
            .await?;
        Ok((row, plain))
    }

    /// A statement, for its page.
    pub async fn view(
        &self,
        patient_id: &str,
        eob_id: &str,
        client: &Client,
    ) -> Result<StatementView> {
        let ((id, plan, published_at, version, _, organization_id), plain) =
            self.open(patient_id, eob_id).await?;
        let statement = envelope::summary(&plain)?;
        const LATEST: &str =
            "SELECT n.id FROM eobs n JOIN eobs e ON e.organization_id = n.organization_id \
             AND e.claim_digest = n.claim_digest WHERE e.id = $1 AND n.version > e.version \
             AND n.identity_id = $2 ORDER BY n.version DESC LIMIT 1";
        const CORRECTIONS: &str =
            "SELECT c.thread_id FROM eob_corrections c JOIN eobs v ON v.id = c.eob_id \
             JOIN eobs e ON e.organization_id = v.organization_id AND e.claim_digest = v.claim_digest \
             WHERE e.id = $1 AND v.organization_id = $2 ORDER BY c.created_at DESC";
        let (latest, correction_threads): (Option<String>, Vec<String>) =
            match self.store.sync_readers() {
                Some(readers) => readers.read(|conn| {
                    use rusqlite::OptionalExtension;
                    let latest = conn
                        .prepare_cached(LATEST)?
                        .query_row((&id, patient_id), |r| r.get(0))
                        .optional()?;
                    let threads = conn
                        .prepare_cached(CORRECTIONS)?
                        .query_map((&id, &organization_id), |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    Ok((latest, threads))
                })?,
                None => on_pool!(self.store, |pool| {
                    let latest = sqlx::query_scalar(LATEST)
                        .bind(&id)
                        .bind(patient_id)
                        .fetch_optional(pool)
                        .await?;
                    let threads = sqlx::query_scalar(CORRECTIONS)
                        .bind(&id)
                        .bind(&organization_id)
                        .fetch_all(pool)
                        .await?;
                    Ok::<_, sqlx::Error>((latest, threads))
                })?,
            };
        self.record(patient_id, Action::EobViewed, &id, client)
            .await?;
        Ok(StatementView {
            summary: StatementSummary {
                id,
                plan,
                published_at,
                updated: version > 1,
                statement,
            },
            latest_id: latest,
            correction_threads,
        })
    }

    /// The statement as a PDF.
    pub async fn pdf(&self, patient_id: &str, eob_id: &str, client: &Client) -> Result<Vec<u8>> {
        let ((id, _, _, version, _, _), plain) = self.open(patient_id, eob_id).await?;
        let statement = envelope::summary(&plain)?;
        let language = client.language;
        let pdf =
            tokio::task::spawn_blocking(move || statement_pdf(&statement, version > 1, language))
                .await
                .map_err(|_| Error::Busy("making the PDF stopped"))?;
        self.record(patient_id, Action::EobExportedPdf, &id, client)
            .await?;
        Ok(pdf)
    }

    /// The original FHIR JSON, byte for byte as the plan published it.
    pub async fn original(
        &self,
        patient_id: &str,
        eob_id: &str,
        client: &Client,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let ((id, ..), plain) = self.open(patient_id, eob_id).await?;
        let (_, original) = envelope::decode(&plain)?;
        self.record(patient_id, Action::EobExportedFhirJson, &id, client)
            .await?;
        Ok(original)
    }

    /// Asks the plan to correct a statement: a thread from the member to the
    /// plan's member-services mailbox, linked to the statement. `note` is the
    /// member's own words. Returns the thread id.
    pub async fn request_correction(
        &self,
        messaging: &Messaging<'_>,
        patient_id: &str,
        eob_id: &str,
        note: &str,
        client: &Client,
    ) -> Result<String> {
        let ((id, _, _, _, _, organization_id), plain) = self.open(patient_id, eob_id).await?;
        let statement = envelope::summary(&plain)?;
        let mailbox_id: String = on_pool!(self.store, |pool| sqlx::query_scalar(
            "SELECT member_services_mailbox_id FROM health_plans WHERE organization_id = $1"
        )
        .bind(&organization_id)
        .fetch_optional(pool)
        .await)?
        .ok_or(Error::NotFound)?;
        let claim = statement
            .claim_number
            .as_deref()
            .unwrap_or("(no claim number)");
        let subject = format!("Correction request: claim {claim}");
        let body = format!(
            "Please review and correct the statement for claim {claim} (statement {id}).\n\n{}",
            note.trim()
        );
        let draft = messaging
            .draft_patient_thread(patient_id, &mailbox_id)
            .await?;
        let (thread_id, _) = messaging
            .send(draft, Some(&subject), &body, None, client)
            .await?;
        on_pool!(self.store, |pool| sqlx::query(
            "INSERT INTO eob_corrections (thread_id, eob_id, created_at) VALUES ($1, $2, $3)"
        )
        .bind(&thread_id)
        .bind(&id)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(drop))?;
        Ok(thread_id)
    }
}
