//! `portico bench-seed`: the data the load benchmark (`make bench`,
//! `bench/views/run.sh`) measures against, written through the same core code
//! as real use: patients, messages from a clinic's mailbox, EOBs from a health
//! plan, and signed-in patient sessions. It refuses a database that already
//! holds an organization, and marks the notices it queued as sent without
//! sending them (they are for no one). It prints, as JSON, the session cookies and the
//! pages each session's patient may open; nothing sealed, no address.

use futures_util::{stream, StreamExt, TryStreamExt};
use portico_core::{
    api_keys::ApiKeys,
    audit::Actor,
    auth::{sessions::SessionRecords, Client},
    config::Settings,
    eob::{plans, Document, DocumentResult, Publisher},
    messages::{create_mailbox, MailboxKind},
    store::OrganizationKind,
    vault::NormalizedEmail,
};
use serde_json::{json, Value};

use crate::{serve::Services, ServerError};

/// How many messages are sent at once while seeding.
const SENDING_AT_ONCE: usize = 16;
/// EOBs published per batch while seeding.
const EOB_BATCH: usize = 1024;

/// What to seed.
pub struct Seed {
    pub patients: usize,
    pub messages: usize,
    pub eobs: usize,
    pub sessions: usize,
}

fn demo(problem: impl std::fmt::Display) -> ServerError {
    ServerError::Demo(problem.to_string())
}

fn email(i: usize) -> Result<NormalizedEmail, ServerError> {
    Ok(NormalizedEmail::parse(&format!(
        "patient{i}@bench.example"
    ))?)
}

/// A generated EOB for patient `i`: the HL7 example with its own claim number.
fn eob_line(template: &Value, n: usize, patient: usize) -> Vec<u8> {
    let mut eob = template.clone();
    eob["identifier"][0]["value"] = json!(format!("BENCH-{n}"));
    eob["patient"]["reference"] = json!("urn:uuid:7d1f3c7e-0000-4000-8000-000000000001");
    serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:7d1f3c7e-0000-4000-8000-000000000001", "resource": {
                "resourceType": "Patient",
                "telecom": [{"system": "email", "value": format!("patient{patient}@bench.example")}]}},
            {"resource": eob}
        ]
    }))
    .unwrap_or_default()
}

pub async fn seed(settings: &Settings, s: &Services, seed: &Seed) -> Result<Value, ServerError> {
    if s.store.organizations().count().await? > 0 {
        return Err(demo(
            "bench-seed wants an empty database (it holds organizations)",
        ));
    }
    let patients = seed.patients.max(seed.sessions).max(1);
    let emails: Vec<NormalizedEmail> = (0..patients).map(email).collect::<Result<_, _>>()?;
    let mut identities = Vec::with_capacity(patients);
    for chunk in emails.chunks(1000) {
        let found = s.vault.identities_for_emails(chunk).await?;
        identities.extend(chunk.iter().map(|e| found[e.as_str()].clone()));
    }

    // Messages: one thread each, from a clinic's mailbox by API key.
    let clinic = s
        .store
        .organizations()
        .create(OrganizationKind::Provider, "Bench Clinic")
        .await?;
    let mailbox = create_mailbox(&s.store, &clinic.id, "Front desk", MailboxKind::General).await?;
    let keys = ApiKeys {
        store: &s.store,
        audit: &s.audit,
    };
    let (key, _) = keys
        .create(
            &clinic.id,
            &mailbox.id,
            "bench",
            Actor::system("bench-seed"),
        )
        .await?;
    let m = s.messaging(settings);
    let client = Client::default();
    let body = "Your results are back and look as expected. ".repeat(40);
    let threads: Vec<(usize, String)> = stream::iter(0..seed.messages)
        .map(|n| {
            let (m, key, mailbox, client, body, emails) =
                (&m, &key, &mailbox, &client, &body, &emails);
            async move {
                let patient = n % patients;
                let (thread, _) = m
                    .start_thread(
                        key,
                        &mailbox.id,
                        &emails[patient],
                        &format!("Your visit, message {n}"),
                        body,
                        None,
                        client,
                    )
                    .await?;
                Ok::<_, ServerError>((patient, thread))
            }
        })
        .buffer_unordered(SENDING_AT_ONCE)
        .try_collect()
        .await?;

    // EOBs from a health plan, in batches as a bulk upload would publish them.
    let plan_org = s
        .store
        .organizations()
        .create(OrganizationKind::HealthPlan, "Bench Health Plan")
        .await?;
    let plan = plans::enroll(&s.store, &plan_org.id).await?;
    let (plan_key, _) = plans::create_publisher_key(
        &keys,
        &plan.organization_id,
        "bench",
        Actor::system("bench-seed"),
    )
    .await?;
    let template: Value = serde_json::from_slice(include_bytes!(
        "../../core/tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
    ))
    .map_err(demo)?;
    let mut publisher = Publisher::new(
        &s.store,
        &s.vault,
        &s.audit,
        &plan,
        &plan_key.id,
        settings.link_lifetime,
        None,
    );
    let mut statements: Vec<(usize, String)> = Vec::new();
    for start in (0..seed.eobs).step_by(EOB_BATCH) {
        let end = (start + EOB_BATCH).min(seed.eobs);
        let documents = (start..end)
            .map(|n| Document {
                line: (n + 1) as u64,
                bytes: eob_line(&template, n, n % patients),
                too_long: None,
            })
            .collect();
        for (n, result) in (start..end).zip(publisher.publish(documents).await?) {
            match result {
                DocumentResult::Accepted { eobs, .. } => {
                    statements.extend(eobs.into_iter().map(|(id, _)| (n % patients, id)));
                }
                DocumentResult::Rejected { rejection, .. } => {
                    return Err(demo(format!(
                        "a generated EOB was refused: {:?}",
                        rejection.outcome
                    )));
                }
            }
        }
    }

    // The seed's notices are for no one: left queued, the sender would spend
    // the benchmark writing them.
    portico_core::notify::mark_all_sent_unsent(&s.store).await?;

    // Signed-in sessions, one per patient from the first.
    let lifetime = settings.idle_timeout;
    let mut sessions = Vec::new();
    for (i, identity) in identities.iter().take(seed.sessions).enumerate() {
        let (cookie, row) = crate::http::sessions::patient_session(identity, lifetime);
        SessionRecords(&s.store).create(&row).await?;
        let own = |items: &[(usize, String)], prefix: &str| -> Vec<String> {
            items
                .iter()
                .filter(|(p, _)| *p == i)
                .map(|(_, id)| format!("{prefix}{id}"))
                .collect()
        };
        sessions.push(json!({
            "cookie": cookie,
            "threads": own(&threads, "/thread/"),
            "statements": own(&statements, "/statements/"),
        }));
    }
    // Measured as a running portal would be, once its statistics caught up
    // with the load (this machine's PostgreSQL has autovacuum turned off).
    s.store.analyze().await?;
    Ok(json!({
        "patients": patients,
        "messages": threads.len(),
        "eobs": statements.len(),
        "sessions": sessions,
    }))
}
