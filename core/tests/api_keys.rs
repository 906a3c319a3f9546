//! Organization API keys: made for one mailbox, found by their secret until
//! revoked, listed without secrets, and sending only from their own mailbox;
//! on SQLite and PostgreSQL.

use portico_core::{
    api_keys::{ApiKey, ApiKeys},
    audit::{self, Action, Actor, ExportFormat, Outcome, Page},
    auth::Client,
    messages::{self, MailboxKind, MessageContent, Messaging, Reader},
    on_both_backends,
    store::{OrganizationKind, Store},
    testing::{self, TestPortal},
    vault::NormalizedEmail,
    Error,
};

struct Env {
    portal: TestPortal,
    clinic: String,
    cardiology: String,
    billing: String,
    other_clinic: String,
    other_mailbox: String,
}

impl Env {
    async fn new(portal: TestPortal) -> Self {
        let orgs = portal.store.organizations();
        let clinic = orgs
            .create(OrganizationKind::Provider, "Riverside Clinic")
            .await
            .unwrap()
            .id;
        let other_clinic = orgs
            .create(OrganizationKind::Provider, "Hillside Clinic")
            .await
            .unwrap()
            .id;
        let mailbox = |org: String, name: &'static str, kind| {
            let store = portal.store.clone();
            async move {
                messages::create_mailbox(&store, &org, name, kind)
                    .await
                    .unwrap()
                    .id
            }
        };
        Self {
            cardiology: mailbox(clinic.clone(), "Cardiology", MailboxKind::Clinical).await,
            billing: mailbox(clinic.clone(), "Billing", MailboxKind::Billing).await,
            other_mailbox: mailbox(other_clinic.clone(), "Front desk", MailboxKind::General).await,
            portal,
            clinic,
            other_clinic,
        }
    }

    fn keys(&self) -> ApiKeys<'_> {
        ApiKeys {
            store: &self.portal.store,
            audit: &self.portal.audit,
        }
    }

    fn messaging(&self) -> Messaging<'_> {
        Messaging {
            store: &self.portal.store,
            vault: &self.portal.vault,
            audit: &self.portal.audit,
            link_lifetime: std::time::Duration::from_secs(3600),
            attachment_limits: Default::default(),
        }
    }
}

fn cli() -> Actor {
    Actor::system("cli")
}

on_both_backends!(
    a_key_authenticates_until_revoked_and_is_listed_without_its_secret,
    a_key_sends_from_its_own_mailbox_only_and_the_patient_is_notified,
);

async fn a_key_authenticates_until_revoked_and_is_listed_without_its_secret(portal: TestPortal) {
    let env = Env::new(portal).await;
    let keys = env.keys();
    let (key, secret) = keys
        .create(&env.clinic, &env.cardiology, " Lab results feed ", cli())
        .await
        .unwrap();
    let secret = secret.as_str().to_owned();
    assert!(secret.starts_with("ptk_") && secret.len() == 47, "{secret}");
    assert_eq!(
        (key.organization_id.as_str(), key.mailbox_id.as_str()),
        (env.clinic.as_str(), env.cardiology.as_str())
    );
    assert_eq!(key.label, "Lab results feed");

    let found = keys.authenticate(&secret).await.unwrap();
    assert_eq!(found.id, key.id);
    assert_eq!(found.mailbox_id, env.cardiology);
    assert!(found.last_used_at.is_some(), "use is recorded");

    // Near misses are refused: another key, no prefix, one character changed.
    let (other, other_secret) = keys
        .create(&env.other_clinic, &env.other_mailbox, "Other", cli())
        .await
        .unwrap();
    assert_eq!(
        keys.authenticate(other_secret.as_str()).await.unwrap().id,
        other.id
    );
    let mut altered = secret.clone().into_bytes();
    altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
    for wrong in [
        &secret[4..],
        &String::from_utf8(altered).unwrap(),
        "ptk_",
        "",
    ] {
        assert!(matches!(keys.authenticate(wrong).await, Err(Error::Denied)));
    }

    // Listed per organization, never with a secret (the type has no field for one).
    let listed = keys.list(&env.clinic).await.unwrap();
    assert_eq!(listed.iter().map(|k| &k.id).collect::<Vec<_>>(), [&key.id]);
    assert!(!format!("{listed:?}").contains(&secret[4..]));

    // A key only for a mailbox of its own organization, with a label.
    let refused = keys
        .create(&env.clinic, &env.other_mailbox, "Wrong", cli())
        .await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "mailbox",
            ..
        })
    ));
    let refused = keys.create(&env.clinic, &env.billing, "  ", cli()).await;
    assert!(matches!(
        refused,
        Err(Error::Invalid { field: "label", .. })
    ));

    // Revoked: refused from then on; revoking again records nothing more.
    let revoked = keys.revoke(&key.id, cli()).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert!(matches!(
        keys.authenticate(&secret).await,
        Err(Error::Denied)
    ));
    assert_eq!(keys.revoke(&key.id, cli()).await.unwrap(), revoked);
    assert!(matches!(
        keys.revoke("no-such-key", cli()).await,
        Err(Error::NotFound)
    ));
    assert!(keys.authenticate(other_secret.as_str()).await.is_ok());

    // The key's history: made and revoked by the operator, then a refused use.
    let events = audit::events_about(&env.portal.store, &key.id, Page::newest(20))
        .await
        .unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.event.actor.clone(), e.event.action, e.event.outcome))
        .rev()
        .collect();
    assert_eq!(
        seen,
        [
            (cli(), Action::ApiKeyCreated, Outcome::Success),
            (cli(), Action::ApiKeyRevoked, Outcome::Success),
            (
                Actor::api_key(&key.id),
                Action::SignInFailed,
                Outcome::Denied
            ),
        ]
    );

    // The secret is nowhere at rest: not in the keys table, not in the audit log.
    env.portal.audit.shutdown().await;
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
    let stored = stored_key_columns(&env.portal.store).await;
    for secret in [&secret, other_secret.as_str()] {
        let random_part = &secret[4..];
        assert!(!String::from_utf8_lossy(&exported).contains(random_part));
        assert!(!stored.contains(random_part));
    }
}

/// Every column of every key, as text (hashes in hex), to search for secrets.
async fn stored_key_columns(store: &Store) -> String {
    let sql = "SELECT id, organization_id, mailbox_id, label, secret_hash FROM api_keys";
    let rows: Vec<(String, String, String, String, Vec<u8>)> = match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    };
    assert!(!rows.is_empty());
    rows.into_iter()
        .map(|(a, b, c, d, hash)| {
            assert_eq!(hash.len(), 32);
            let raw = String::from_utf8_lossy(&hash).into_owned();
            format!("{a} {b} {c} {d} {raw}")
        })
        .collect()
}

async fn a_key_sends_from_its_own_mailbox_only_and_the_patient_is_notified(portal: TestPortal) {
    let env = Env::new(portal).await;
    let (key, _) = env
        .keys()
        .create(&env.clinic, &env.cardiology, "EHR", cli())
        .await
        .unwrap();
    let m = env.messaging();
    let ana = NormalizedEmail::parse("ana@example.org").unwrap();
    let client = Client::default();
    let (thread, message) = m
        .start_thread(
            &key,
            &env.cardiology,
            &ana,
            "Results",
            "All normal.",
            None,
            &client,
        )
        .await
        .unwrap();

    let patient = env.portal.vault.identity_for_email(&ana).await.unwrap().id;
    let view = m
        .thread(&Reader::Patient(patient.clone()), &thread, &client)
        .await
        .unwrap();
    assert_eq!(view.mailbox_name, "Cardiology");
    assert_eq!(view.subject.as_deref(), Some("Results"));
    assert_eq!(view.messages[0].author_kind, "api_key");
    assert_eq!(
        view.messages[0].content,
        MessageContent::Text("All normal.".into())
    );
    assert_eq!(notices_for(&env.portal.store, &thread).await, 1);
    let sent = audit::events_about(&env.portal.store, &message, Page::newest(10))
        .await
        .unwrap();
    assert!(sent.iter().any(|e| e.event.action == Action::MessageSent
        && e.event.actor == Actor::api_key(&key.id)
        && e.event.subject_ids.contains(&patient)));

    // Not from another mailbox of its organization, nor of another one.
    for mailbox in [&env.billing, &env.other_mailbox] {
        let refused = m
            .start_thread(&key, mailbox, &ana, "Hi", "Hello", None, &client)
            .await;
        assert!(matches!(refused, Err(Error::Denied)), "{mailbox}");
    }
    // Nor once revoked, even holding the key's record.
    let revoked: ApiKey = env.keys().revoke(&key.id, cli()).await.unwrap();
    let refused = m
        .start_thread(
            &revoked,
            &env.cardiology,
            &ana,
            "Hi",
            "Hello",
            None,
            &client,
        )
        .await;
    assert!(matches!(refused, Err(Error::Denied)));
}

async fn notices_for(store: &Store, thread: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM outbox WHERE thread_id = $1 AND kind = 'new_item'";
    testing::count(store, sql, &[thread]).await
}
