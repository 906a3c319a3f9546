//! `portico demo`: a clinic with a Cardiology and a Billing mailbox, a
//! clinician, a billing clerk and an admin (with enrollment links; the admin's
//! pages show the staff, the audit log, alert rules that are already set, and
//! the mailboxes and API keys), and a patient with a few threads, one with a
//! PDF attached; a health plan that publishes two
//! Explanation of Benefits statements to the same patient (the HL7 R4
//! examples), with an `eob:publish` key; then how to sign in as each.

use portico_core::{
    alerts,
    api_keys::ApiKeys,
    audit::Actor,
    auth::{
        links,
        staff::{StaffAccounts, StaffName, StaffRole, Throttle},
        Client,
    },
    config::Settings,
    eob::{plans, Document, DocumentResult, Publisher},
    messages::{create_mailbox, MailboxKind, StaffMember},
    store::OrganizationKind,
    vault::NormalizedEmail,
};

use crate::{serve::Services, ServerError};

/// A one-page PDF that says it is a demo.
const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n\
4 0 obj<</Length 60>>stream\nBT /F1 18 Tf 72 700 Td (Demo report - not a real result) Tj ET\nendstream endobj\n\
5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

/// Adds the demo data and returns what to print.
pub async fn add(settings: &Settings, s: &Services, patient: &str) -> Result<String, ServerError> {
    let clinic = s
        .store
        .organizations()
        .create(OrganizationKind::Provider, "Riverside Clinic (demo)")
        .await?;
    let cardiology =
        create_mailbox(&s.store, &clinic.id, "Cardiology", MailboxKind::Clinical).await?;
    let billing = create_mailbox(&s.store, &clinic.id, "Billing", MailboxKind::Billing).await?;
    let accounts = StaffAccounts {
        store: &s.store,
        vault: &s.vault,
        audit: &s.audit,
        passwords: &s.passwords,
        throttle: Throttle::default(),
    };
    // Staff addresses are made unique per demo clinic: one address, one account.
    let tag = &clinic.id[clinic.id.len() - 6..];
    let mut staff = Vec::new();
    for (address, name, role) in [
        ("dr.rivera", "Dr. Sam Rivera", StaffRole::Clinician),
        ("billing", "Billing office", StaffRole::Billing),
        ("admin", "Alex Admin", StaffRole::Admin),
    ] {
        let email = NormalizedEmail::parse(&format!("{address}+{tag}@riverside.example"))?;
        let (id, token) = accounts
            .add(
                &clinic.id,
                &email,
                &StaffName::parse(name)?,
                role,
                Actor::system("demo"),
            )
            .await?;
        let mut link = settings.public_url.clone();
        link.set_path(&format!("/enroll/{}", token.as_str()));
        let member = StaffMember {
            staff_id: id,
            organization_id: clinic.id.clone(),
            role,
        };
        staff.push((email, member, link));
    }
    let email = NormalizedEmail::parse(patient)?;
    let m = s.messaging(settings);
    let client = Client::default();
    let (clinician, clerk, admin) = (&staff[0].1, &staff[1].1, &staff[2].1);
    let rules = alerts::AlertRules {
        max_patients_per_hour: Some(20),
        business_hours: Some((7, 19)),
        time_zone: Some("America/New_York".into()),
    };
    alerts::set_rules(&s.store, &s.audit, admin, rules, &Client::default()).await?;
    let mut draft = m.draft_thread(clinician, &cardiology.id, &email).await?;
    m.attach(&mut draft, "echo-report.pdf", DEMO_PDF).await?;
    m.send(
        draft,
        Some("Your echocardiogram report"),
        "Hello, your report is attached. It looks normal; we will talk it through at your next visit.\n\nDr. Rivera (demo)",
        None,
        &client,
    )
    .await?;
    m.start_thread(
        clinician,
        &cardiology.id,
        &email,
        "Before your visit on Monday",
        "Please bring your medication list. Directions: https://example.org/riverside/directions",
        None,
        &client,
    )
    .await?;
    m.start_thread(
        clerk,
        &billing.id,
        &email,
        "Your statement",
        "Your balance is $0.00. Nothing to pay.",
        None,
        &client,
    )
    .await?;
    let patient_id = s.vault.identity_for_email(&email).await?.id;
    let token = links::create(
        &s.store,
        &patient_id,
        "demo-welcome",
        &clinic.id,
        settings.link_lifetime,
    )
    .await?;
    let mut link = settings.public_url.clone();
    link.set_path(&format!("/open/{}", token.as_str()));
    let outbox = settings.data_dir.join("outbox");
    let mut out = format!(
        "Demo: {org} sent {patient} three secure messages (one with a PDF).\n\
         As the patient: open this link, choose \"Email me a code\", and find the code in {outbox}:\n{link}\n",
        org = clinic.display_name,
        patient = email.as_str(),
        outbox = outbox.display(),
    );
    for (email, member, link) in &staff {
        out.push_str(&format!(
            "As {} ({}): open this enrollment link, choose a password, add a passkey (valid 72 hours):\n{link}\n",
            email.as_str(),
            member.role.as_str(),
        ));
    }
    out.push_str(&format!(
        "Organization id (for `portico staff add --org`): {}\n",
        clinic.id
    ));
    out.push_str(&add_plan(settings, s, &email).await?);
    Ok(out)
}

/// The HL7 R4 ExplanationOfBenefit examples, published to the demo patient.
const DEMO_EOBS: [&[u8]; 2] = [
    include_bytes!(
        "../../core/tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
    ),
    include_bytes!(
        "../../core/tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3501.json"
    ),
];

/// A health plan with a publishing key, and two statements for `email`.
async fn add_plan(
    settings: &Settings,
    s: &Services,
    email: &NormalizedEmail,
) -> Result<String, ServerError> {
    let org = s
        .store
        .organizations()
        .create(OrganizationKind::HealthPlan, "Acme Health Plan (demo)")
        .await?;
    let keys = ApiKeys {
        store: &s.store,
        audit: &s.audit,
    };
    let (key, secret) =
        plans::create_publisher_key(&keys, &org.id, "Demo claims feed", Actor::system("demo"))
            .await?;
    let plan = plans::plan(&s.store, &org.id).await?;
    let mut publisher = Publisher::new(
        &s.store,
        &s.vault,
        &s.audit,
        &plan,
        &key.id,
        settings.link_lifetime,
        None,
    );
    let mut documents = Vec::new();
    for (i, eob) in DEMO_EOBS.iter().enumerate() {
        let eob: serde_json::Value =
            serde_json::from_slice(eob).map_err(|e| ServerError::Demo(e.to_string()))?;
        let bundle = serde_json::json!({
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": "Patient/pat1", "resource": {"resourceType": "Patient", "id": "pat1",
                    "telecom": [{"system": "email", "value": email.as_str()}]}},
                {"resource": eob}
            ]
        });
        documents.push(Document {
            line: i as u64 + 1,
            bytes: serde_json::to_vec(&bundle).map_err(|e| ServerError::Demo(e.to_string()))?,
            too_long: None,
        });
    }
    for result in publisher.publish(documents).await? {
        if let DocumentResult::Rejected { rejection, .. } = result {
            return Err(ServerError::Demo(format!(
                "an EOB was refused: {rejection}"
            )));
        }
    }
    Ok(format!(
        "Demo: {plan} published two statements for {patient} (see /statements once signed in).\n\
         Its eob:publish API key, to try POST /api/v1/eob: {secret}",
        plan = org.display_name,
        patient = email.as_str(),
        secret = secret.as_str(),
    ))
}
