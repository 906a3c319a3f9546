//! Publishing EOBs and reading them as a member: recipients by Patient email
//! or member directory, versions, one notice a day, refusals that store
//! nothing, audited reads, byte-equal originals, corrections; on SQLite and
//! PostgreSQL.

mod common;

use common::{client, contains};
use portico_core::{
    api_keys::ApiKeys,
    audit::{self, Action, Actor, ExportFormat},
    eob::{members, plans, Document, DocumentResult, HealthPlan, Publisher, Statement, Statements},
    on_both_backends,
    store::OrganizationKind,
    testing::{self, TestPortal},
    Error,
};
use serde_json::{json, Value};

const EB3500: &[u8] =
    include_bytes!("fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json");
const EB3501: &[u8] =
    include_bytes!("fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3501.json");
const SYNTHEA: &[u8] = include_bytes!("fixtures/fhir/synthea/synthea-patient-bundle-a.json");
/// The Synthea patient's first identifier: their member id in the directory.
const SYNTHEA_MEMBER: &str = "2fa15bc7-8866-461a-9000-f739e425860a";

struct Plan {
    portal: TestPortal,
    plan: HealthPlan,
    key_id: String,
}

impl Plan {
    async fn new(portal: TestPortal) -> Self {
        let org = portal
            .store
            .organizations()
            .create(OrganizationKind::HealthPlan, "Acme Health Plan")
            .await
            .unwrap();
        let keys = ApiKeys {
            store: &portal.store,
            audit: &portal.audit,
        };
        let (key, _) =
            plans::create_publisher_key(&keys, &org.id, "claims feed", Actor::system("test"))
                .await
                .unwrap();
        let plan = plans::plan(&portal.store, &org.id).await.unwrap();
        Self {
            portal,
            plan,
            key_id: key.id,
        }
    }

    async fn publish(&self, documents: &[&[u8]]) -> Vec<DocumentResult> {
        let mut publisher = Publisher::new(
            &self.portal.store,
            &self.portal.vault,
            &self.portal.audit,
            &self.plan,
            &self.key_id,
            std::time::Duration::from_secs(3600),
            None,
        );
        let docs = documents
            .iter()
            .enumerate()
            .map(|(i, b)| Document {
                line: i as u64 + 1,
                bytes: b.to_vec(),
                too_long: None,
            })
            .collect();
        publisher.publish(docs).await.unwrap()
    }

    fn statements(&self) -> Statements<'_> {
        Statements {
            store: &self.portal.store,
            vault: &self.portal.vault,
            audit: &self.portal.audit,
        }
    }

    async fn member(&self, email: &str) -> String {
        let email = portico_core::vault::NormalizedEmail::parse(email).unwrap();
        self.portal
            .vault
            .identity_for_email(&email)
            .await
            .unwrap()
            .id
    }

    async fn count(&self, sql: &str) -> i64 {
        testing::count(&self.portal.store, sql, &[]).await
    }
}

/// An HL7 example in a Bundle with its Patient (`Patient/pat1`), who has `email`.
fn with_patient(eob: &[u8], email: &str) -> Vec<u8> {
    let eob: Value = serde_json::from_slice(eob).unwrap();
    serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Patient/pat1", "resource": {
                "resourceType": "Patient", "id": "pat1",
                "telecom": [{"system": "email", "value": email}]}},
            {"fullUrl": "http://example.org/fhir/ExplanationOfBenefit/x", "resource": eob},
            {"resource": {"resourceType": "Coverage", "id": "c"}}
        ]
    }))
    .unwrap()
}

fn accepted(result: &DocumentResult) -> &Vec<(String, i64)> {
    match result {
        DocumentResult::Accepted { eobs, .. } => eobs,
        DocumentResult::Rejected { rejection, .. } => panic!("refused: {:?}", rejection.outcome),
    }
}

fn refused(result: &DocumentResult) -> String {
    match result {
        DocumentResult::Rejected { rejection, .. } => {
            serde_json::to_string(&rejection.outcome).unwrap()
        }
        DocumentResult::Accepted { .. } => panic!("accepted"),
    }
}

on_both_backends!(
    examples_and_synthea_are_published_and_read_back_byte_for_byte,
    a_claim_published_again_is_a_new_version_marked_updated,
    refused_documents_store_nothing_and_say_why,
    statements_are_the_members_own_and_every_read_is_audited,
    a_correction_request_opens_a_thread_with_member_services,
);

async fn examples_and_synthea_are_published_and_read_back_byte_for_byte(portal: TestPortal) {
    let env = Plan::new(portal).await;
    let ana = env.member("ana@example.org").await;
    // The Synthea patient has no email: the directory maps their member id.
    members::set_member(
        &env.portal.vault,
        &env.portal.audit,
        &env.plan,
        SYNTHEA_MEMBER,
        "sam@example.org",
        Actor::api_key(&env.key_id),
    )
    .await
    .unwrap();
    let sam = env.member("sam@example.org").await;

    let (a, b) = (
        with_patient(EB3500, "ana@example.org"),
        with_patient(EB3501, "ana@example.org"),
    );
    let results = env.publish(&[&a, &b, SYNTHEA]).await;
    assert_eq!(accepted(&results[0]).len(), 1);
    assert_eq!(accepted(&results[1]).len(), 1);
    assert_eq!(accepted(&results[2]).len(), 21, "every Synthea EOB");
    if let DocumentResult::Accepted { ignored, .. } = &results[0] {
        assert_eq!(
            ignored.get("Coverage"),
            Some(&1),
            "other resources are counted"
        );
    }

    // Each statement equals the summary of its source EOB, and the original
    // comes back byte for byte.
    let statements = env.statements();
    let sams = statements.list(&sam, &client()).await.unwrap();
    assert_eq!(sams.len(), 21);
    let bundle: Value = serde_json::from_slice(SYNTHEA).unwrap();
    for s in &sams {
        let original = statements.original(&sam, &s.id, &client()).await.unwrap();
        let source: Value = serde_json::from_slice(&original).unwrap();
        assert!(bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"] == source));
        let eob = serde_json::from_slice(&original).unwrap();
        assert_eq!(s.statement, Statement::of(&eob));
        assert!(!s.updated);
    }
    let anas = statements.list(&ana, &client()).await.unwrap();
    assert_eq!(anas.len(), 2);
    let eb3500 = anas
        .iter()
        .find(|s| s.statement.claim_number.as_deref() == Some("987654321"))
        .expect("EB3500 listed");
    assert_eq!(eb3500.plan, "Acme Health Plan");
    let original = statements
        .original(&ana, &eb3500.id, &client())
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(
        original.as_slice(),
        serde_json::to_vec(&sent["entry"][1]["resource"])
            .unwrap()
            .as_slice()
    );
    let pdf = statements.pdf(&ana, &eb3500.id, &client()).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        contains(&pdf, "987654321"),
        "the PDF carries the claim number"
    );

    // One notice per member and plan per day, however many statements.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM outbox WHERE kind = 'new_statements'")
            .await,
        2
    );
    env.publish(&[&with_patient(EB3500, "ana@example.org")])
        .await;
    assert_eq!(
        env.count("SELECT COUNT(*) FROM outbox WHERE kind = 'new_statements'")
            .await,
        2,
        "a second publication the same day sends no second notice"
    );
}

async fn a_claim_published_again_is_a_new_version_marked_updated(portal: TestPortal) {
    let env = Plan::new(portal).await;
    let ana = env.member("ana@example.org").await;
    let first = env
        .publish(&[&with_patient(EB3500, "ana@example.org")])
        .await;
    let (first_id, v1) = accepted(&first[0])[0].clone();
    assert_eq!(v1, 1);
    let mut changed: Value = serde_json::from_slice(EB3500).unwrap();
    changed["item"][0]["adjudication"][0]["amount"]["value"] = json!(99.5);
    let second = env
        .publish(&[&with_patient(
            &serde_json::to_vec(&changed).unwrap(),
            "ana@example.org",
        )])
        .await;
    let (second_id, v2) = accepted(&second[0])[0].clone();
    assert_eq!(v2, 2);
    // Twice in one batch: the next two versions, in the order sent.
    let again = with_patient(&serde_json::to_vec(&changed).unwrap(), "ana@example.org");
    let both = env.publish(&[&again, &again]).await;
    assert_eq!(accepted(&both[0])[0].1, 3);
    let (latest_id, v4) = accepted(&both[1])[0].clone();
    assert_eq!(v4, 4);

    let statements = env.statements();
    let list = statements.list(&ana, &client()).await.unwrap();
    assert_eq!(list.len(), 1, "the latest version only");
    assert_eq!(list[0].id, latest_id);
    assert!(list[0].updated);
    let old = statements.view(&ana, &first_id, &client()).await.unwrap();
    assert_eq!(old.latest_id.as_deref(), Some(latest_id.as_str()));
    let second = statements.view(&ana, &second_id, &client()).await.unwrap();
    assert_eq!(second.latest_id.as_deref(), Some(latest_id.as_str()));
}

async fn refused_documents_store_nothing_and_say_why(portal: TestPortal) {
    let env = Plan::new(portal).await;
    // No email and no directory entry.
    let results = env.publish(&[SYNTHEA]).await;
    let why = refused(&results[0]);
    assert!(why.contains("no recipient"), "{why}");
    assert!(why.contains(".patient"), "{why}");
    // A standalone EOB pointing at a Patient elsewhere.
    let results = env.publish(&[EB3500]).await;
    let why = refused(&results[0]);
    assert!(why.contains("outside this upload"), "{why}");
    // A Bundle whose EOB references a Patient it does not hold.
    let mut bundle: Value =
        serde_json::from_slice(&with_patient(EB3500, "ana@example.org")).unwrap();
    bundle["entry"][1]["resource"]["patient"]["reference"] = json!("urn:uuid:0000");
    let results = env.publish(&[&serde_json::to_vec(&bundle).unwrap()]).await;
    assert!(refused(&results[0]).contains("urn:uuid:0000"));
    // A bad document beside a good one: the good one is kept.
    let results = env
        .publish(&[
            b"{\"resourceType\": ",
            &with_patient(EB3501, "ana@example.org"),
        ])
        .await;
    assert!(refused(&results[0]).contains("line 1"));
    assert_eq!(accepted(&results[1]).len(), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM eobs").await, 1);
}

async fn statements_are_the_members_own_and_every_read_is_audited(portal: TestPortal) {
    let env = Plan::new(portal).await;
    let marker = "MARKER-EOB-7731";
    let mut eob: Value = serde_json::from_slice(EB3500).unwrap();
    eob["item"][0]["productOrService"]["coding"][0]["display"] = json!(marker);
    let doc = with_patient(&serde_json::to_vec(&eob).unwrap(), "ana@example.org");
    let results = env.publish(&[&doc]).await;
    let (id, _) = accepted(&results[0])[0].clone();
    let ana = env.member("ana@example.org").await;
    let eve = env.member("eve@example.org").await;

    let statements = env.statements();
    for denied in [
        statements.view(&eve, &id, &client()).await.map(drop),
        statements.pdf(&eve, &id, &client()).await.map(drop),
        statements.original(&eve, &id, &client()).await.map(drop),
    ] {
        assert!(matches!(denied, Err(Error::NotFound)), "{denied:?}");
    }
    let view = statements.view(&ana, &id, &client()).await.unwrap();
    assert_eq!(
        view.summary.statement.lines[0].description.as_deref(),
        Some(marker)
    );
    statements.list(&ana, &client()).await.unwrap();
    statements.pdf(&ana, &id, &client()).await.unwrap();
    statements.original(&ana, &id, &client()).await.unwrap();

    env.portal.audit.shutdown().await;
    // Written in the publishing transaction, the event is still found by the
    // EOB's id once the writer has indexed it.
    let about = audit::events_about(&env.portal.store, &id, audit::Page::newest(50))
        .await
        .unwrap();
    assert!(
        about.iter().any(|e| e.event.action == Action::EobPublished),
        "the publication is found by the EOB's id"
    );
    let mut exported = Vec::new();
    audit::export(
        &env.portal.store,
        0,
        i64::MAX,
        ExportFormat::Jsonl,
        &mut exported,
    )
    .await
    .unwrap();
    let exported_text = String::from_utf8_lossy(&exported);
    for action in [
        Action::EobPublished,
        Action::EobListViewed,
        Action::EobViewed,
        Action::EobExportedPdf,
        Action::EobExportedFhirJson,
    ] {
        assert!(
            exported_text.contains(&format!("\"{}\"", action.as_str())),
            "{action:?} is in the audit log"
        );
    }
    // The marker is only ever inside ciphertext.
    let rows: Vec<Vec<u8>> = match &env.portal.store {
        portico_core::store::Store::Sqlite(p) => {
            sqlx::query_scalar("SELECT sealed FROM eobs")
                .fetch_all(p)
                .await
        }
        portico_core::store::Store::Postgres(p) => {
            sqlx::query_scalar("SELECT sealed FROM eobs")
                .fetch_all(p)
                .await
        }
    }
    .unwrap();
    assert!(rows.iter().all(|r| !contains(r, marker)));
    assert!(!contains(&exported, marker));
}

async fn a_correction_request_opens_a_thread_with_member_services(portal: TestPortal) {
    let env = Plan::new(portal).await;
    let results = env
        .publish(&[&with_patient(EB3500, "ana@example.org")])
        .await;
    let (id, _) = accepted(&results[0])[0].clone();
    let ana = env.member("ana@example.org").await;
    let messaging = portico_core::messages::Messaging {
        store: &env.portal.store,
        vault: &env.portal.vault,
        audit: &env.portal.audit,
        link_lifetime: std::time::Duration::from_secs(3600),
        attachment_limits: Default::default(),
    };
    let statements = env.statements();
    let thread = statements
        .request_correction(
            &messaging,
            &ana,
            &id,
            "The second visit never happened.",
            &client(),
        )
        .await
        .unwrap();
    let view = statements.view(&ana, &id, &client()).await.unwrap();
    assert_eq!(view.correction_threads, vec![thread.clone()]);
    let inbox = messaging.inbox(&ana, &client()).await.unwrap();
    let listed = inbox
        .iter()
        .find(|t| t.thread_id == thread)
        .expect("in the inbox");
    assert_eq!(listed.mailbox_name, plans::MEMBER_SERVICES);
    assert!(listed
        .subject
        .as_deref()
        .unwrap_or("")
        .contains("987654321"));
}
