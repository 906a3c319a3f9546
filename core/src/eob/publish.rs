//! Publishing: a batch of upload documents (each one EOB or one Bundle: a
//! whole single upload, or one line of a bulk upload) becomes sealed EOB
//! versions, the members' notices and the audit events.
//!
//! A batch goes through four steps, so that the costly ones use every core
//! and the database sees one transaction per batch:
//! 1. parse, check and summarise each document (CPU, in parallel);
//! 2. find each EOB's recipient: the email in its Patient, else the member
//!    directory (database, remembered for the length of the upload);
//! 3. seal each EOB's envelope to its member and the plan (CPU, in parallel);
//! 4. write the EOBs, one `eob_published` audit event each and the day's
//!    notices in one transaction.
//!
//! A document is all or nothing: if one of its EOBs has no recipient, none of
//! them is published and the document is refused with an issue saying so.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use hmac::Mac;
use rayon::prelude::*;

pub use super::commit::Committer;
use super::{
    envelope,
    members::MemberLookup,
    outcome::{Issue, Rejection},
    parse,
    plans::HealthPlan,
    AcceptedEob, ParseOptions, PatientLink, Statement,
};
use crate::{
    audit::AuditLog,
    auth::links,
    notify::{MailKind, NewItemPayload, Payload},
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, NormalizedEmail, Recipients, Vault},
    Error, Result,
};

/// One upload document: its line in a bulk upload (1 for a single upload) and bytes.
pub struct Document {
    pub line: u64,
    pub bytes: Vec<u8>,
    /// The line was longer than this many bytes and was not kept.
    pub too_long: Option<u64>,
}

/// What became of one document.
#[derive(Debug)]
pub enum DocumentResult {
    Accepted {
        line: u64,
        /// The new EOB versions' ids and version numbers.
        eobs: Vec<(String, i64)>,
        /// Resources of other types, by type.
        ignored: BTreeMap<String, usize>,
        /// CARIN expectations not met (the plan is not strict).
        warnings: Vec<Issue>,
    },
    Rejected {
        line: u64,
        rejection: Rejection,
    },
}

/// An EOB that passed checking, with what is kept of it.
struct Checked {
    original: Vec<u8>,
    path: String,
    statement: Statement,
    claim: Vec<u8>,
    patient: PatientLink,
}

/// A document after step 1.
struct CheckedDocument {
    line: u64,
    eobs: Vec<Checked>,
    ignored: BTreeMap<String, usize>,
    warnings: Vec<Issue>,
}

/// An EOB ready to write.
pub(super) struct Sealed {
    pub(super) id: String,
    pub(super) identity_id: String,
    pub(super) claim_digest: [u8; 32],
    pub(super) sealed: Vec<u8>,
}

/// A member's notice: the first EOB's id (the link's item), the link token's
/// hash, and the payload sealed to the member.
pub(super) type Notice = (String, (String, [u8; 32], Vec<u8>));

/// A batch checked, addressed and sealed, ready for [`Committer::commit`].
pub struct Prepared {
    pub(super) results: Vec<DocumentResult>,
    /// Each sealed EOB with the index of its document's result.
    pub(super) sealed: Vec<(usize, Sealed)>,
    pub(super) notices: Vec<Notice>,
    /// The first refused line and the sealed report of the refusals.
    pub(super) rejections: Option<(u64, Vec<u8>)>,
    pub(super) now: i64,
}

/// Where an upload's time went, in microseconds summed over its batches (for
/// the log and the benchmark; no content).
#[derive(Debug, Default)]
pub struct Timings {
    pub check: AtomicU64,
    pub resolve: AtomicU64,
    pub seal: AtomicU64,
    pub notices: AtomicU64,
    /// Writing a batch: its EOBs, their audit events, notices and progress.
    pub write: AtomicU64,
}

impl Timings {
    pub(super) fn add(counter: &AtomicU64, since: Instant) {
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        counter.fetch_add(micros, Ordering::Relaxed);
    }
}

impl std::fmt::Display for Timings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |c: &AtomicU64| c.load(Ordering::Relaxed) / 1000;
        write!(
            f,
            "check {} ms, resolve {} ms, seal {} ms, notices {} ms, write (with audit) {} ms",
            ms(&self.check),
            ms(&self.resolve),
            ms(&self.seal),
            ms(&self.notices),
            ms(&self.write)
        )
    }
}

/// Publishes for one plan, by one key, within one upload (caches live as long).
pub struct Publisher<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub audit: &'a AuditLog,
    pub plan: &'a HealthPlan,
    /// The API key that publishes (the audit events' actor).
    pub key_id: &'a str,
    /// How long a notice's link works.
    pub link_lifetime: std::time::Duration,
    pub upload_id: Option<&'a str>,
    members: MemberLookup<'a>,
    identities: HashMap<String, String>,
    recipients: HashMap<String, Recipients>,
    /// Members known to have today's notice (looked up or queued by this upload).
    told: HashSet<String>,
    pub timings: Arc<Timings>,
}

fn check(doc: &Document, options: ParseOptions) -> std::result::Result<CheckedDocument, Rejection> {
    if let Some(limit) = doc.too_long {
        return Err(Rejection::invalid(vec![Issue::error(
            "too-long",
            None,
            format!("the line is longer than {limit} bytes (eob_max_size)"),
        )]));
    }
    let parsed = parse(&doc.bytes, options)?;
    let mut warnings = Vec::new();
    let eobs = parsed
        .eobs
        .into_iter()
        .map(|accepted: AcceptedEob<'_>| {
            warnings.extend(accepted.warnings);
            // The claim: its first identifier; without one (allowed when not
            // strict), the resource id; without that, each publish is new.
            let claim = match (accepted.eob.identifier.first(), &accepted.eob.id) {
                (Some(i), _) => [
                    i.system.as_deref().unwrap_or(""),
                    "|",
                    i.value.as_deref().unwrap_or(""),
                ]
                .concat()
                .into_bytes(),
                (None, Some(id)) => format!("id|{id}").into_bytes(),
                (None, None) => format!("new|{}", new_id()).into_bytes(),
            };
            Checked {
                original: accepted.json.to_vec(),
                path: accepted.path,
                statement: Statement::of(&accepted.eob),
                claim,
                patient: accepted.patient,
            }
        })
        .collect();
    Ok(CheckedDocument {
        line: doc.line,
        eobs,
        ignored: parsed.ignored,
        warnings,
    })
}

fn no_recipient(path: &str, why: &str) -> Rejection {
    Rejection::invalid(vec![Issue::error(
        "not-found",
        Some(format!("{path}.patient")),
        format!("no recipient for this EOB: {why}"),
    )])
}

impl<'a> Publisher<'a> {
    pub fn new(
        store: &'a Store,
        vault: &'a Vault,
        audit: &'a AuditLog,
        plan: &'a HealthPlan,
        key_id: &'a str,
        link_lifetime: std::time::Duration,
        upload_id: Option<&'a str>,
    ) -> Self {
        Self {
            store,
            vault,
            audit,
            plan,
            key_id,
            link_lifetime,
            upload_id,
            members: MemberLookup::new(vault, &plan.organization_id),
            identities: HashMap::new(),
            recipients: HashMap::new(),
            told: HashSet::new(),
            timings: Arc::default(),
        }
    }

    /// Steps 1 to 3 for a batch, and its notices and refusal report, sealed:
    /// everything but the writing.
    pub async fn prepare(&mut self, documents: Vec<Document>) -> Result<Prepared> {
        let options = ParseOptions {
            strict: self.plan.strict,
        };
        let started = Instant::now();
        let checked: Vec<_> = tokio::task::spawn_blocking(move || {
            documents
                .par_iter()
                .map(|d| check(d, options).map_err(|r| (d.line, r)))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| Error::Busy("checking EOBs stopped"))?;

        Timings::add(&self.timings.check, started);
        let started = Instant::now();
        self.prefetch_identities(&checked).await?;
        let mut results = Vec::with_capacity(checked.len());
        let mut to_seal = Vec::new();
        for doc in checked {
            let doc = match doc {
                Ok(doc) => doc,
                Err((line, rejection)) => {
                    results.push(DocumentResult::Rejected { line, rejection });
                    continue;
                }
            };
            match self.recipients_of(&doc).await? {
                Ok(identities) => {
                    results.push(DocumentResult::Accepted {
                        line: doc.line,
                        eobs: Vec::new(),
                        ignored: doc.ignored,
                        warnings: doc.warnings,
                    });
                    let slot = results.len() - 1;
                    for (eob, identity_id) in doc.eobs.into_iter().zip(identities) {
                        let recipients = self.recipients[&identity_id].clone();
                        to_seal.push((slot, eob, identity_id, recipients));
                    }
                }
                Err(rejection) => results.push(DocumentResult::Rejected {
                    line: doc.line,
                    rejection,
                }),
            }
        }

        Timings::add(&self.timings.resolve, started);
        let started = Instant::now();
        let mut digests = Vec::with_capacity(to_seal.len());
        for (_, eob, _, _) in &to_seal {
            digests.push(self.claim_digest(&eob.claim));
        }
        let sealed: Vec<(usize, Sealed)> = tokio::task::spawn_blocking(move || {
            to_seal
                .into_par_iter()
                .zip(digests)
                .map(|((slot, eob, identity_id, recipients), claim_digest)| {
                    let plain = envelope::encode(&eob.statement, &eob.original)?;
                    recipients.seal(&plain).map(|sealed| {
                        (
                            slot,
                            Sealed {
                                id: new_id(),
                                identity_id,
                                claim_digest,
                                sealed,
                            },
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .map_err(|_| Error::Busy("sealing EOBs stopped"))??;

        Timings::add(&self.timings.seal, started);
        let started = Instant::now();
        let now = now_ms();
        let notices = self.notices(&sealed, now).await?;
        let rejections = self.rejection_report(&results).await?;
        Timings::add(&self.timings.notices, started);
        Ok(Prepared {
            results,
            sealed,
            notices,
            rejections,
            now,
        })
    }

    /// Publishes a batch; one result per document, in order. An `Err` means
    /// nothing of the batch was published (the database or the audit log failed).
    pub async fn publish(&mut self, documents: Vec<Document>) -> Result<Vec<DocumentResult>> {
        let prepared = self.prepare(documents).await?;
        self.committer().commit(prepared).await
    }

    /// What writes this publisher's prepared batches: it borrows nothing of
    /// the publisher, so one batch can be written while the next is prepared.
    pub fn committer(&self) -> Committer<'a> {
        Committer {
            store: self.store,
            audit: self.audit,
            plan: self.plan,
            key_id: self.key_id,
            upload_id: self.upload_id,
            link_lifetime: self.link_lifetime,
            timings: self.timings.clone(),
        }
    }

    /// The keyed digest a claim's versions are found by, scoped to the plan.
    fn claim_digest(&self, claim: &[u8]) -> [u8; 32] {
        self.vault
            .keyed_mac("eob-claim", &[self.plan.organization_id.as_bytes(), claim])
            .finalize()
            .into_bytes()
            .into()
    }

    /// Each EOB's recipient identity, or why the document is refused.
    async fn recipients_of(
        &mut self,
        doc: &CheckedDocument,
    ) -> Result<std::result::Result<Vec<String>, Rejection>> {
        let mut identities = Vec::with_capacity(doc.eobs.len());
        for eob in &doc.eobs {
            let member_ids: Vec<String> = match &eob.patient {
                PatientLink::Resolved(p) => p
                    .identifiers
                    .iter()
                    .filter_map(|i| i.value.clone())
                    .collect(),
                PatientLink::External { identifier, .. } => {
                    identifier.iter().filter_map(|i| i.value.clone()).collect()
                }
            };
            let identity = match eob.patient.email() {
                Some(email) => match NormalizedEmail::parse(email) {
                    Ok(email) => Some(self.identity_for(&email).await?),
                    Err(_) => {
                        return Ok(Err(Rejection::invalid(vec![Issue::error(
                        "value",
                        Some(format!("{}.patient", eob.path)),
                        "the Patient's email (telecom with system email) is not a valid address",
                    )])))
                    }
                },
                None => self.members.identity_of(&member_ids).await?,
            };
            let Some(identity) = identity else {
                let why = match &eob.patient {
                    PatientLink::External {
                        reference: Some(_),
                        identifier: None,
                    } => "the patient reference points outside this upload; send the EOB in a Bundle with its Patient, or give patient.identifier with a member id from the member directory",
                    _ => "the Patient has no email (telecom with system email) and none of its identifiers is in this plan's member directory (PUT /api/v1/members/{member_id})",
                };
                return Ok(Err(no_recipient(&eob.path, why)));
            };
            if !self.recipients.contains_key(&identity) {
                let recipients = self
                    .vault
                    .recipients(&[
                        KeyOwner::Identity(identity.clone()),
                        KeyOwner::Mailbox(self.plan.mailbox_id.clone()),
                    ])
                    .await?;
                self.recipients.insert(identity.clone(), recipients);
            }
            identities.push(identity);
        }
        Ok(Ok(identities))
    }

    /// Makes the batch's new members' identities and keys together (one
    /// transaction), so that step 2 then only reads.
    async fn prefetch_identities(
        &mut self,
        checked: &[std::result::Result<CheckedDocument, (u64, Rejection)>],
    ) -> Result<()> {
        let mut emails = Vec::new();
        let mut seen = HashSet::new();
        for doc in checked.iter().flatten() {
            for eob in &doc.eobs {
                let Some(email) = eob.patient.email() else {
                    continue;
                };
                if let Ok(email) = NormalizedEmail::parse(email) {
                    if !self.identities.contains_key(email.as_str())
                        && seen.insert(email.as_str().to_owned())
                    {
                        emails.push(email);
                    }
                }
            }
        }
        if !emails.is_empty() {
            let found = self.vault.identities_for_emails(&emails).await?;
            self.identities.extend(found);
        }
        Ok(())
    }

    async fn identity_for(&mut self, email: &NormalizedEmail) -> Result<String> {
        if let Some(id) = self.identities.get(email.as_str()) {
            return Ok(id.clone());
        }
        let id = self.vault.identity_for_email(email).await?.id;
        self.identities
            .insert(email.as_str().to_owned(), id.clone());
        Ok(id)
    }

    /// A sealed notice for each member of the batch not yet told today: the
    /// first EOB's id (the link's item), the link token's hash, the payload.
    async fn notices(&mut self, sealed: &[(usize, Sealed)], now: i64) -> Result<Vec<Notice>> {
        let day_start = now - now.rem_euclid(86_400_000);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (_, eob) in sealed {
            if !seen.insert(eob.identity_id.as_str()) || self.told.contains(&eob.identity_id) {
                continue;
            }
            // Remembered for the rest of the upload (at worst, past midnight
            // UTC, a member waits for the next upload's notice).
            self.told.insert(eob.identity_id.clone());
            let told: i64 = on_pool!(self.store, |pool| sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE identity_id = $1 AND kind = $2 \
                 AND organization_id = $3 AND created_at >= $4"
            )
            .bind(&eob.identity_id)
            .bind(MailKind::NewStatements.as_str())
            .bind(&self.plan.organization_id)
            .bind(day_start)
            .fetch_one(pool)
            .await)?;
            if told > 0 {
                continue;
            }
            let (token, hash) = links::new_token();
            let payload = NewItemPayload {
                token: token.as_str().to_owned(),
            };
            let sealed_payload = self
                .vault
                .seal(
                    &payload.to_bytes(),
                    &[KeyOwner::Identity(eob.identity_id.clone())],
                )
                .await?;
            out.push((
                eob.identity_id.clone(),
                (eob.id.clone(), hash, sealed_payload),
            ));
        }
        Ok(out)
    }

    /// The batch's refused documents as JSON `[{line, outcome}]`, sealed to
    /// the plan's mailbox, with the first refused line; `None` if none was.
    async fn rejection_report(&self, results: &[DocumentResult]) -> Result<Option<(u64, Vec<u8>)>> {
        let refused: Vec<_> = results
            .iter()
            .filter_map(|d| match d {
                DocumentResult::Rejected { line, rejection } => Some(serde_json::json!({
                    "line": line,
                    "outcome": rejection.outcome,
                })),
                DocumentResult::Accepted { .. } => None,
            })
            .collect();
        let Some(first) = refused.first().and_then(|r| r["line"].as_u64()) else {
            return Ok(None);
        };
        if self.upload_id.is_none() {
            return Ok(None);
        }
        let json = serde_json::to_vec(&refused)
            .map_err(|_| Error::Crypto("a report could not be written"))?;
        let sealed = self
            .vault
            .seal(&json, &[KeyOwner::Mailbox(self.plan.mailbox_id.clone())])
            .await?;
        Ok(Some((first, sealed)))
    }
}
