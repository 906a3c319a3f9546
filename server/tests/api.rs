//! `POST /api/v1/messages` and `GET /api/v1/openapi.json` over real HTTP, as a
//! provider's system (and an attacker) sees them: status, headers, body.

mod support;

use std::net::SocketAddr;

use portico_core::{
    api_keys::ApiKeys,
    audit::Actor,
    auth::Client,
    config::Settings,
    messages::{self, MailboxKind, MessageContent, Messaging, Reader},
    store::{OrganizationKind, Store},
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
    vault::NormalizedEmail,
};
use portico_server::serve::{Server, Services};
use serde_json::{json, Value};
use tokio::sync::oneshot;

const SUBJECT_MARKER: &str = "MARKER-SUBJECT-a7d3";
const BODY_MARKER: &str = "MARKER-BODY-a7d3";

struct Reply {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// A problem document with this status, naming `field` (or no field).
    fn assert_problem(&self, status: u16, field: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type"), "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(problem["title"].is_string() && problem["detail"].is_string());
        assert_eq!(problem["field"].as_str(), field, "{}", self.body);
    }
}

/// One request from a blocking client on a thread of its own.
async fn request(
    method: &'static str,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
) -> Reply {
    tokio::task::spawn_blocking(move || {
        let agent = support::agent();
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in &headers {
            req = req.header(*name, value);
        }
        let mut res = if method == "GET" {
            agent.run(req.body(()).unwrap())
        } else {
            agent.run(req.body(body).unwrap())
        }
        .expect("the server answers");
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.body_mut().read_to_string().unwrap(),
        }
    })
    .await
    .unwrap()
}

/// A running portal with a clinic (Cardiology, Billing), another clinic, and
/// a key for Cardiology.
struct Portal {
    base: String,
    services: Services,
    clinic_key: String,
    clinic_key_id: String,
    cardiology: String,
    other_key: String,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    _keys: tempfile::TempDir,
}

impl Portal {
    async fn start(store: Store) -> Self {
        let settings = Settings::load(
            None,
            [("PORTICO_LISTEN".to_owned(), "127.0.0.1:0".to_owned())],
        )
        .unwrap();
        let (services, keys) = support::services_on(store, &settings).await;
        let orgs = services.store.organizations();
        let clinic = orgs
            .create(OrganizationKind::Provider, "Riverside Clinic")
            .await
            .unwrap();
        let other = orgs
            .create(OrganizationKind::Provider, "Hillside Clinic")
            .await
            .unwrap();
        let store = &services.store;
        let cardiology =
            messages::create_mailbox(store, &clinic.id, "Cardiology", MailboxKind::Clinical)
                .await
                .unwrap();
        messages::create_mailbox(store, &clinic.id, "Billing", MailboxKind::Billing)
            .await
            .unwrap();
        let front_desk =
            messages::create_mailbox(store, &other.id, "Front desk", MailboxKind::General)
                .await
                .unwrap();
        let api_keys = ApiKeys {
            store: &services.store,
            audit: &services.audit,
        };
        let cli = || Actor::system("cli");
        let (key, secret) = api_keys
            .create(&clinic.id, &cardiology.id, "EHR", cli())
            .await
            .unwrap();
        let (_, other_secret) = api_keys
            .create(&other.id, &front_desk.id, "Scheduler", cli())
            .await
            .unwrap();

        let server = Server::bind(settings, services.clone()).await.unwrap();
        let addr: SocketAddr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            server
                .run(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            services,
            clinic_key: secret.as_str().to_owned(),
            clinic_key_id: key.id,
            cardiology: cardiology.id,
            other_key: other_secret.as_str().to_owned(),
            stop: Some(stop),
            done,
            _keys: keys,
        }
    }

    /// POSTs `body` to /api/v1/messages as JSON with `key` as the bearer.
    async fn send(&self, key: Option<&str>, body: &[u8]) -> Reply {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(key) = key {
            headers.push(("authorization", format!("Bearer {key}")));
        }
        self.post(headers, body.to_vec()).await
    }

    async fn post(&self, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Reply {
        request(
            "POST",
            format!("{}/api/v1/messages", self.base),
            headers,
            body,
        )
        .await
    }

    fn messaging(&self) -> Messaging<'_> {
        Messaging {
            store: &self.services.store,
            vault: &self.services.vault,
            audit: &self.services.audit,
            link_lifetime: std::time::Duration::from_secs(3600),
            attachment_limits: Default::default(),
        }
    }

    async fn patient(&self, email: &str) -> String {
        let email = NormalizedEmail::parse(email).unwrap();
        self.services
            .vault
            .identity_for_email(&email)
            .await
            .unwrap()
            .id
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.done).await.unwrap();
    }
}

fn message(to: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "to": to,
        "subject": format!("{SUBJECT_MARKER} your results"),
        "body": format!("{BODY_MARKER} All normal."),
        "expires_at": "2999-01-01T00:00:00+01:00",
    }))
    .unwrap()
}

async fn sqlite_portal(dir: &tempfile::TempDir) -> Portal {
    Portal::start(migrated_store(&sqlite_url(dir.path())).await).await
}

/// A key sends: 201 with ids; the patient reads it, authored by the key, from
/// the key's mailbox; a notice is queued. Also from another origin: the API
/// answers to its key, not to the same-origin rule that guards cookies.
async fn a_key_sends_a_message_the_patient_reads(portal: Portal) {
    let res = portal
        .send(Some(&portal.clinic_key), &message("Ana@Example.org"))
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    assert!(res.header("content-type").starts_with("application/json"));
    let sent = res.json();
    let (thread, message_id) = (
        sent["thread_id"].as_str().unwrap(),
        sent["message_id"].as_str().unwrap(),
    );
    let ana = portal.patient("ana@example.org").await;
    let view = portal
        .messaging()
        .thread(&Reader::Patient(ana), thread, &Client::default())
        .await
        .unwrap();
    assert_eq!(view.mailbox_name, "Cardiology");
    assert_eq!(view.messages[0].id, message_id);
    assert_eq!(view.messages[0].author_kind, "api_key");
    assert_eq!(
        view.messages[0].content,
        MessageContent::Text(format!("{BODY_MARKER} All normal."))
    );
    let sql = "SELECT COUNT(*) FROM outbox WHERE thread_id = $1 AND kind = 'new_item'";
    let notices: i64 = match &portal.services.store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql).bind(thread).fetch_one(pool).await,
        Store::Postgres(pool) => sqlx::query_scalar(sql).bind(thread).fetch_one(pool).await,
    }
    .unwrap();
    assert_eq!(notices, 1, "the patient's notice is queued");

    let cross_site = portal
        .post(
            vec![
                ("content-type", "application/json".into()),
                ("authorization", format!("bearer {}", portal.clinic_key)),
                ("origin", "https://ehr.example".into()),
                ("sec-fetch-site", "cross-site".into()),
            ],
            message("ben@example.org"),
        )
        .await;
    assert_eq!(cross_site.status, 201, "{}", cross_site.body);
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sends_a_message_the_patient_reads_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_key_sends_a_message_the_patient_reads(sqlite_portal(&dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_sends_a_message_the_patient_reads_on_postgres() {
    let db = ThrowawayPostgres::create().await;
    a_key_sends_a_message_the_patient_reads(Portal::start(migrated_store(&db.url()).await).await)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_an_unknown_key_a_revoked_key_or_a_session_cookie_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let portal = sqlite_portal(&dir).await;
    let body = message("ana@example.org");
    let forged = format!("ptk_{}", "A".repeat(43));
    for key in [None, Some("ptk_short"), Some(forged.as_str())] {
        let res = portal.send(key, &body).await;
        res.assert_problem(401, None);
        assert!(res.header("www-authenticate").starts_with("Bearer"));
    }
    let basic = portal
        .post(
            vec![
                ("content-type", "application/json".into()),
                ("authorization", format!("Basic {}", portal.clinic_key)),
            ],
            body.clone(),
        )
        .await;
    basic.assert_problem(401, None);

    // A browser session, same origin: its cookie is not a credential here.
    let form = request(
        "POST",
        format!("{}/api/request_code_by_email", portal.base),
        vec![
            ("origin", "http://localhost:3000".into()),
            ("content-type", "application/x-www-form-urlencoded".into()),
        ],
        b"email=ana%40example.org".to_vec(),
    )
    .await;
    let cookie = form
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .find(|c| c.starts_with("portico_session="))
        .expect("the portal gave the browser a session")
        .to_owned();
    let with_cookie = portal
        .post(
            vec![
                ("content-type", "application/json".into()),
                ("origin", "http://localhost:3000".into()),
                ("cookie", cookie),
            ],
            body.clone(),
        )
        .await;
    with_cookie.assert_problem(401, None);
    assert!(with_cookie.headers.get("set-cookie").is_none());

    // Revoked: refused, as if unknown.
    assert_eq!(
        portal.send(Some(&portal.clinic_key), &body).await.status,
        201
    );
    let keys = ApiKeys {
        store: &portal.services.store,
        audit: &portal.services.audit,
    };
    keys.revoke(&portal.clinic_key_id, Actor::system("cli"))
        .await
        .unwrap();
    let res = portal.send(Some(&portal.clinic_key), &body).await;
    res.assert_problem(401, None);
    assert!(!res.body.contains(&portal.clinic_key_id));
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailbox_comes_from_the_key_not_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let portal = sqlite_portal(&dir).await;
    // Hillside's key, naming Riverside's mailbox: refused, the member unknown.
    let mut steer: Value = serde_json::from_slice(&message("ana@example.org")).unwrap();
    steer["mailbox_id"] = json!(portal.cardiology);
    let res = portal
        .send(
            Some(&portal.other_key),
            &serde_json::to_vec(&steer).unwrap(),
        )
        .await;
    res.assert_problem(422, Some("mailbox_id"));
    // Without it, the message goes out from Hillside's front desk.
    let res = portal
        .send(Some(&portal.other_key), &message("ana@example.org"))
        .await;
    assert_eq!(res.status, 201);
    let thread = res.json()["thread_id"].as_str().unwrap().to_owned();
    let ana = portal.patient("ana@example.org").await;
    let view = portal
        .messaging()
        .thread(&Reader::Patient(ana), &thread, &Client::default())
        .await
        .unwrap();
    assert_eq!(
        (view.organization_name.as_str(), view.mailbox_name.as_str()),
        ("Hillside Clinic", "Front desk")
    );
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_problems_naming_the_field_and_never_repeat_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let portal = sqlite_portal(&dir).await;
    let key = Some(portal.clinic_key.as_str());
    let subject = format!("{SUBJECT_MARKER} results");
    let body = format!("{BODY_MARKER} All normal.");
    let good = json!({"to": "ana@example.org", "subject": subject, "body": body});
    // The good request with one member set, or removed (null).
    let with = |member: &str, value: Value| {
        let mut request = good.clone();
        match value {
            Value::Null => drop(request.as_object_mut().unwrap().remove(member)),
            value => request[member] = value,
        }
        request.to_string()
    };
    let malformed =
        format!("{{\"to\": \"ana@example.org\", \"subject\": \"{subject}\", \"body\": \"{body}");
    let cases = [
        (malformed, 400, None),
        (json!([subject, body]).to_string(), 422, None),
        (with("subject", Value::Null), 422, Some("subject")),
        (with("subject", json!(7)), 422, Some("subject")),
        (
            with("to", json!(format!("{SUBJECT_MARKER}@@x"))),
            422,
            Some("to"),
        ),
        (
            with("subject", json!(subject.repeat(20))),
            422,
            Some("subject"),
        ),
        (with("body", json!(" ")), 422, Some("body")),
        (
            with("expires_at", json!("2001-01-01T00:00:00Z")),
            422,
            Some("expires_at"),
        ),
        (
            with("expires_at", json!("next week")),
            422,
            Some("expires_at"),
        ),
        (
            with("expires", json!("2999-01-01T00:00:00Z")),
            422,
            Some("expires"),
        ),
        (
            with(&format!("{BODY_MARKER} as a key"), json!(1)),
            422,
            None,
        ),
    ];
    for (request, status, field) in cases {
        let res = portal.send(key, request.as_bytes()).await;
        res.assert_problem(status, field);
        assert!(!res.body.contains("MARKER"), "{}", res.body);
    }

    // Not JSON: 415. Too large: 413. Neither repeats anything either.
    let plain = portal
        .post(
            vec![
                ("content-type", "text/plain".into()),
                ("authorization", format!("Bearer {}", portal.clinic_key)),
            ],
            message("ana@example.org"),
        )
        .await;
    plain.assert_problem(415, None);
    assert!(!plain.body.contains("MARKER"));
    let huge = announce_a_large_body(&portal).await;
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");
    assert!(huge.contains("application/problem+json"), "{huge}");

    // Nothing was stored for any of them; what is stored for a good one is sealed.
    assert_eq!(
        portal.send(key, &message("ana@example.org")).await.status,
        201
    );
    let Store::Sqlite(pool) = &portal.services.store else {
        unreachable!("a SQLite portal")
    };
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "only the good request stored a message");
    portal.stop().await;
    let mut stored = Vec::new();
    for file in ["portico.db", "portico.db-wal"] {
        stored.extend(std::fs::read(dir.path().join(file)).unwrap_or_default());
    }
    assert!(stored.len() > 4096);
    for marker in [SUBJECT_MARKER, BODY_MARKER] {
        assert!(
            !stored.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} is readable in the database file"
        );
    }
}

/// Sends the head of a request whose body would be over 512 KiB, and nothing
/// more; returns what came back (the body is refused before it is read).
async fn announce_a_large_body(portal: &Portal) -> String {
    use std::io::{Read, Write};
    let addr = portal.base.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/v1/messages HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        portal.clinic_key,
        600 * 1024
    );
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_path_the_key_and_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let portal = sqlite_portal(&dir).await;
    let res = request(
        "GET",
        format!("{}/api/v1/openapi.json", portal.base),
        vec![],
        vec![],
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").starts_with("application/json"));
    let doc = res.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let post = &doc["paths"]["/api/v1/messages"]["post"];
    assert_eq!(post["security"], json!([{"api_key": []}]));
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SendMessage"
    );
    for status in ["201", "400", "401", "413", "415", "422"] {
        assert!(post["responses"][status].is_object(), "{status} missing");
    }
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    let schemas = &doc["components"]["schemas"];
    let members = |name: &str| {
        let mut names: Vec<String> = schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    // The schema lists exactly the members the handler accepts.
    let mut accepted = portico_server::http::api::messages::SEND_MESSAGE_MEMBERS.map(String::from);
    accepted.sort();
    assert_eq!(members("SendMessage"), accepted);
    assert_eq!(
        schemas["SendMessage"]["required"],
        json!(["to", "subject", "body"])
    );
    assert_eq!(schemas["SendMessage"]["additionalProperties"], false);
    assert_eq!(members("MessageSent"), ["message_id", "thread_id"]);
    assert_eq!(
        members("Problem"),
        ["detail", "field", "status", "title", "type"]
    );
    portal.stop().await;
}
