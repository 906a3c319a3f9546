//! Notification links and one-time codes, on SQLite and PostgreSQL: what a
//! patient, a mail scanner and someone guessing would each see.

use std::time::Duration;

use portico_core::{
    audit::{self, Action, Outcome, Page},
    auth::{
        codes::{CodeCheck, CodePolicy, CodeSent, SignInCodes},
        links::{self, LinkState},
        sessions::{SessionRecord, SessionRecords},
        Client,
    },
    language::{self, Language},
    notify::{deliver_due, FileTransport},
    on_both_backends,
    store::{OrganizationKind, Store},
    testing::TestPortal,
    vault::{KeyOwner, NormalizedEmail},
    Error,
};

/// A test portal, and a directory the file transport writes email to.
struct Env {
    portal: TestPortal,
    outbox: tempfile::TempDir,
}

impl From<TestPortal> for Env {
    fn from(portal: TestPortal) -> Self {
        Self {
            portal,
            outbox: tempfile::tempdir().unwrap(),
        }
    }
}

impl std::ops::Deref for Env {
    type Target = TestPortal;
    fn deref(&self) -> &TestPortal {
        &self.portal
    }
}

impl Env {
    fn codes(&self, policy: CodePolicy) -> SignInCodes<'_> {
        SignInCodes {
            store: &self.store,
            vault: &self.vault,
            audit: &self.audit,
            policy,
        }
    }

    async fn patient(&self, email: &str) -> String {
        let email = NormalizedEmail::parse(email).unwrap();
        self.vault.identity_for_email(&email).await.unwrap().id
    }

    /// Sends what the outbox holds and returns the code in the newest email.
    async fn code_from_mail(&self) -> String {
        code_in(&self.newest_mail().await)
    }

    /// Sends what the outbox holds and returns the newest email, as written.
    async fn newest_mail(&self) -> String {
        let transport = FileTransport {
            dir: self.outbox.path().to_owned(),
        };
        assert!(
            deliver_due(&self.store, &self.vault, &transport, &portal_url(), 100)
                .await
                .unwrap()
                >= 1
        );
        let newest = std::fs::read_dir(self.outbox.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
            .unwrap();
        std::fs::read_to_string(newest).unwrap()
    }

    async fn actions_about(&self, id: &str) -> Vec<(Action, Outcome)> {
        let mut events: Vec<_> = audit::events_about(&self.store, id, Page::newest(100))
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.event.action, e.event.outcome))
            .collect();
        events.reverse();
        events
    }
}

on_both_backends!(
    a_link_shows_its_landing_page_and_spends_nothing,
    a_code_from_the_email_signs_in_once,
    five_wrong_tries_kill_a_code,
    codes_expire_and_a_new_one_kills_the_old,
    at_most_five_codes_an_hour,
    addresses_known_or_not_get_the_same_answer,
    sessions_expire_and_end_everywhere,
    a_code_email_is_in_the_askers_language_and_signing_in_keeps_it,
);

fn portal_url() -> url::Url {
    "http://localhost:3000".parse().unwrap()
}

/// The code in an email: its line of digits.
fn code_in(mail: &str) -> String {
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() >= 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in:\n{mail}"))
        .to_owned()
}

fn client() -> Client {
    Client {
        address: Some([192, 0, 2, 9].into()),
        user_agent: Some("test-browser/1.0".into()),
        ..Client::default()
    }
}

async fn a_link_shows_its_landing_page_and_spends_nothing(env: Env) {
    let org = env
        .store
        .organizations()
        .create(OrganizationKind::Provider, "Riverside Clinic")
        .await
        .unwrap();
    let patient = env.patient("ana@example.org").await;
    let token = links::create(
        &env.store,
        &patient,
        "msg-1",
        &org.id,
        links::DEFAULT_LINK_LIFETIME,
    )
    .await
    .unwrap();
    // Opened twice (a mail scanner first, then the patient): the same page both times.
    for _ in 0..2 {
        let LinkState::Valid(landing) =
            links::open(&env.store, &env.audit, &client(), token.as_str())
                .await
                .unwrap()
        else {
            panic!("the link is valid")
        };
        assert_eq!(landing.organization_name, "Riverside Clinic");
        assert_eq!(
            (landing.identity_id.as_str(), landing.item_id.as_str()),
            (patient.as_str(), "msg-1")
        );
        assert!(!landing.statements, "a message, not statements");
    }
    assert_eq!(
        env.actions_about(&patient).await,
        [(Action::LinkOpened, Outcome::Success); 2]
    );

    // Only the hash is stored.
    let stored: Vec<u8> = match &env.store {
        Store::Sqlite(p) => {
            sqlx::query_scalar("SELECT token_hash FROM open_links")
                .fetch_one(p)
                .await
        }
        Store::Postgres(p) => {
            sqlx::query_scalar("SELECT token_hash FROM open_links")
                .fetch_one(p)
                .await
        }
    }
    .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(token.as_str()));

    // One character off, cut short, or expired: each its own answer.
    let mut other = token.as_str().to_owned();
    // A middle character: the last one also carries padding bits, and changing
    // those makes the token malformed rather than unknown.
    let swap = if other.as_bytes()[20] == b'A' {
        "B"
    } else {
        "A"
    };
    other.replace_range(20..21, swap);
    let open = |t: String| {
        let env = &env;
        async move {
            links::open(&env.store, &env.audit, &client(), &t)
                .await
                .unwrap()
        }
    };
    assert_eq!(open(other.clone()).await, LinkState::Unknown);
    assert_eq!(
        links::organization_of(&env.store, &other).await.unwrap(),
        None
    );
    // The header's lookup knows the link's organization, and nothing else's.
    assert_eq!(
        links::organization_of(&env.store, token.as_str())
            .await
            .unwrap(),
        Some(org.id.clone())
    );
    assert_eq!(
        links::organization_of(&env.store, "../../etc/passwd")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        open(token.as_str()[..20].to_owned()).await,
        LinkState::Malformed
    );
    assert_eq!(open("../../etc/passwd".into()).await, LinkState::Malformed);
    let old = links::create(&env.store, &patient, "msg-2", &org.id, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(open(old.as_str().to_owned()).await, LinkState::Expired);
}

async fn a_code_from_the_email_signs_in_once(env: Env) {
    let patient = env.patient("ben@example.org").await;
    let codes = env.codes(CodePolicy::default());
    assert_eq!(
        codes.send(&patient, None, &client()).await.unwrap(),
        CodeSent::Sent
    );
    let code = env.code_from_mail().await;
    assert_eq!(code.len(), 6);

    // Not a code at all: refused without using a try.
    let err = codes
        .check(&patient, "12345x", &client())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "code", .. }), "{err}");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    assert_eq!(
        codes.check(&patient, wrong, &client()).await.unwrap(),
        CodeCheck::Wrong { tries_left: 4 }
    );
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(
        codes.check(&patient, &spaced, &client()).await.unwrap(),
        CodeCheck::Accepted
    );
    assert_eq!(
        codes.check(&patient, &code, &client()).await.unwrap(),
        CodeCheck::NoLiveCode,
        "single use"
    );
    // Another identity cannot use it either.
    let other = env.patient("cy@example.org").await;
    assert_eq!(
        codes.check(&other, &code, &client()).await.unwrap(),
        CodeCheck::NoLiveCode
    );

    assert_eq!(
        env.actions_about(&patient).await,
        [
            (Action::CodeSent, Outcome::Success),
            (Action::CodeRejected, Outcome::Failure),
            (Action::CodeAccepted, Outcome::Success),
            (Action::CodeRejected, Outcome::Failure),
        ]
    );
    // The database keeps a keyed hash of the code, and the outbox a sealed copy
    // it forgets once sent.
    let (hash, payload): (Vec<u8>, Vec<u8>) = match &env.store {
        Store::Sqlite(p) => {
            sqlx::query_as("SELECT c.code_hash, o.payload_sealed FROM sign_in_codes c, outbox o")
                .fetch_one(p)
                .await
        }
        Store::Postgres(p) => {
            sqlx::query_as("SELECT c.code_hash, o.payload_sealed FROM sign_in_codes c, outbox o")
                .fetch_one(p)
                .await
        }
    }
    .unwrap();
    assert_eq!(hash.len(), 32);
    assert!(payload.is_empty(), "the sealed code is dropped once sent");
}

async fn five_wrong_tries_kill_a_code(env: Env) {
    let patient = env.patient("dee@example.org").await;
    let codes = env.codes(CodePolicy {
        digits: 8,
        ..CodePolicy::default()
    });
    codes.send(&patient, None, &client()).await.unwrap();
    let code = env.code_from_mail().await;
    assert_eq!(code.len(), 8);
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for left in (0..5).rev() {
        assert_eq!(
            codes.check(&patient, wrong, &client()).await.unwrap(),
            CodeCheck::Wrong { tries_left: left }
        );
    }
    assert_eq!(
        codes.check(&patient, &code, &client()).await.unwrap(),
        CodeCheck::NoLiveCode,
        "the right code no longer works after five wrong tries"
    );
}

async fn codes_expire_and_a_new_one_kills_the_old(env: Env) {
    let patient = env.patient("eve@example.org").await;
    let expired = env.codes(CodePolicy {
        valid_for: Duration::ZERO,
        ..CodePolicy::default()
    });
    expired.send(&patient, None, &client()).await.unwrap();
    let code = env.code_from_mail().await;
    assert_eq!(
        expired.check(&patient, &code, &client()).await.unwrap(),
        CodeCheck::NoLiveCode
    );

    let codes = env.codes(CodePolicy::default());
    codes.send(&patient, None, &client()).await.unwrap();
    let first = env.code_from_mail().await;
    codes.send(&patient, None, &client()).await.unwrap();
    let second = env.code_from_mail().await;
    if first != second {
        assert!(matches!(
            codes.check(&patient, &first, &client()).await.unwrap(),
            CodeCheck::Wrong { .. }
        ));
    }
    assert_eq!(
        codes.check(&patient, &second, &client()).await.unwrap(),
        CodeCheck::Accepted
    );
}

async fn at_most_five_codes_an_hour(env: Env) {
    let patient = env.patient("fay@example.org").await;
    let codes = env.codes(CodePolicy::default());
    let sent = futures_join(&codes, &patient).await;
    assert_eq!(sent.iter().filter(|s| **s == CodeSent::Sent).count(), 5);
    assert_eq!(sent.iter().filter(|s| **s == CodeSent::TooMany).count(), 3);
    let transport = FileTransport {
        dir: env.outbox.path().to_owned(),
    };
    assert_eq!(
        deliver_due(&env.store, &env.vault, &transport, &portal_url(), 100)
            .await
            .unwrap(),
        5
    );
    let denied = env
        .actions_about(&patient)
        .await
        .into_iter()
        .filter(|a| *a == (Action::CodeSent, Outcome::Denied))
        .count();
    assert_eq!(denied, 3);
    // Erased: a queued email is dropped, not sent.
    assert_eq!(
        codes.send(&patient, None, &client()).await.unwrap(),
        CodeSent::TooMany
    );
    let other = env.patient("gus@example.org").await;
    codes.send(&other, None, &client()).await.unwrap();
    env.vault.erase(&KeyOwner::Identity(other)).await.unwrap();
    assert_eq!(
        deliver_due(&env.store, &env.vault, &transport, &portal_url(), 100)
            .await
            .unwrap(),
        0
    );
}

/// Eight sends racing each other.
async fn futures_join(codes: &SignInCodes<'_>, patient: &str) -> Vec<CodeSent> {
    let anyone = Client::default();
    let sends = (0..8).map(|_| codes.send(patient, None, &anyone));
    let mut out = Vec::new();
    for result in futures_util::future::join_all(sends).await {
        out.push(result.unwrap());
    }
    out
}

async fn addresses_known_or_not_get_the_same_answer(env: Env) {
    let known = NormalizedEmail::parse("hal@example.org").unwrap();
    env.vault.identity_for_email(&known).await.unwrap();
    let unknown = NormalizedEmail::parse("nobody@example.org").unwrap();
    let codes = env.codes(CodePolicy::default());
    assert_eq!(codes.send_to_email(&known, &client()).await.unwrap(), ());
    assert_eq!(codes.send_to_email(&unknown, &client()).await.unwrap(), ());
    // Only the known address got mail, and no identity was made for the unknown one.
    assert_eq!(env.code_from_mail().await.len(), 6);
    assert!(env.vault.find_identity(&unknown).await.unwrap().is_none());
    assert_eq!(std::fs::read_dir(env.outbox.path()).unwrap().count(), 1);
}

async fn sessions_expire_and_end_everywhere(env: Env) {
    let sessions = SessionRecords(&env.store);
    let far = portico_core::store::now_ms() + 3_600_000;
    let record = |n: u8, person: Option<&str>, expires_at: i64| SessionRecord {
        id_hash: [n; 32],
        person: person.map(str::to_owned),
        data: format!("{{\"n\":{n}}}"),
        expires_at,
    };
    assert!(sessions.create(&record(1, None, far)).await.unwrap());
    assert!(
        !sessions.create(&record(1, None, far)).await.unwrap(),
        "ids never collide"
    );
    // Signing in saves the person with the session.
    sessions
        .save(&record(1, Some("patient:p1"), far))
        .await
        .unwrap();
    sessions
        .save(&record(2, Some("patient:p1"), far))
        .await
        .unwrap();
    sessions
        .save(&record(3, Some("patient:p2"), far))
        .await
        .unwrap();
    sessions
        .save(&record(4, Some("patient:p9"), 0))
        .await
        .unwrap();
    sessions.save(&record(5, None, 0)).await.unwrap();
    assert_eq!(
        sessions.load(&[1; 32]).await.unwrap(),
        Some(record(1, Some("patient:p1"), far))
    );
    assert_eq!(sessions.load(&[4; 32]).await.unwrap(), None, "expired");
    assert_eq!(sessions.delete_expired().await.unwrap(), ["patient:p9"]);

    assert_eq!(sessions.delete_person("patient:p1").await.unwrap(), 2);
    assert_eq!(sessions.load(&[1; 32]).await.unwrap(), None);
    assert_eq!(sessions.load(&[2; 32]).await.unwrap(), None);
    assert!(
        sessions.load(&[3; 32]).await.unwrap().is_some(),
        "others keep theirs"
    );
    sessions.delete(&[3; 32]).await.unwrap();
    assert_eq!(sessions.load(&[3; 32]).await.unwrap(), None);
    // A closed store answers no session, not even one it could still read.
    sessions.save(&record(6, None, far)).await.unwrap();
    env.store.close().await;
    assert!(sessions.load(&[6; 32]).await.is_err());
}

async fn a_code_email_is_in_the_askers_language_and_signing_in_keeps_it(env: Env) {
    let patient = env.patient("eva@example.org").await;
    let codes = env.codes(CodePolicy::default());
    let spanish = Client {
        language: Language::Spanish,
        ..client()
    };
    assert_eq!(
        language::of_identity(&env.store, &patient).await.unwrap(),
        Language::English
    );

    // Anyone may ask for a code: the email is in their language, and the
    // patient's own choice is not changed by asking.
    codes.send(&patient, None, &spanish).await.unwrap();
    let mail = env.newest_mail().await;
    assert!(mail.contains("Funciona una sola vez"), "{mail}");
    assert!(!mail.contains("It works once"), "{mail}");
    assert_eq!(
        language::of_identity(&env.store, &patient).await.unwrap(),
        Language::English
    );

    // An English request gets English, whatever was asked before.
    codes.send(&patient, None, &client()).await.unwrap();
    let mail = env.newest_mail().await;
    assert!(mail.contains("It works once"), "{mail}");
    let code = code_in(&mail);

    // Signing in keeps the language signed in with, for emails sent later.
    assert_eq!(
        codes.check(&patient, &code, &spanish).await.unwrap(),
        CodeCheck::Accepted
    );
    assert_eq!(
        language::of_identity(&env.store, &patient).await.unwrap(),
        Language::Spanish
    );
    language::remember(&env.store, &patient, Language::English)
        .await
        .unwrap();
    assert_eq!(
        language::of_identity(&env.store, &patient).await.unwrap(),
        Language::English
    );
    assert!(matches!(
        language::remember(&env.store, "no-such-identity", Language::Spanish).await,
        Err(Error::NotFound)
    ));
}
