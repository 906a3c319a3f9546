//! The EOB API over real HTTP, as a health plan's system (and an attacker)
//! sees it: `/api/v1/eob`, `/api/v1/eob/$bulk`, `/api/v1/members`.

mod support;

use std::net::SocketAddr;

use portico_core::{
    api_keys::ApiKeys,
    audit::Actor,
    config::Settings,
    eob::plans,
    messages::{self, MailboxKind},
    store::{OrganizationKind, Store},
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
};
use portico_server::serve::Server;
use serde_json::{json, Value};
use support::{eb3500, with_patient, EB3500};

const SYNTHEA: &[u8] =
    include_bytes!("../../core/tests/fixtures/fhir/synthea/synthea-patient-bundle-a.json");
const SYNTHEA_MEMBER: &str = "2fa15bc7-8866-461a-9000-f739e425860a";

struct Reply {
    status: u16,
    content_type: String,
    location: String,
    retry_after: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// An OperationOutcome with this status whose issues mention `text`.
    fn assert_outcome(&self, status: u16, text: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "application/fhir+json");
        let outcome = self.json();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(self.body.contains(text), "{text:?} not in {}", self.body);
    }
}

/// The answer on a raw connection: it may come in pieces, so read until it is
/// whole (its JSON closes) or the server closes the connection.
fn answer_of(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let (mut answer, mut buf) = (Vec::new(), [0u8; 4096]);
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        answer.extend_from_slice(&buf[..n]);
        if answer.ends_with(b"}") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

struct Portal {
    base: String,
    plan_key: String,
    clinic_key: String,
    _keys: tempfile::TempDir,
}

impl Portal {
    async fn start(store: Store) -> Self {
        Self::start_with(store, &[]).await
    }

    async fn start_with(store: Store, more: &[(&str, &str)]) -> Self {
        let settings = Settings::load(
            None,
            [
                ("PORTICO_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
                ("PORTICO_EOB_MAX_SIZE".to_owned(), "1MB".to_owned()),
            ]
            .into_iter()
            .chain(more.iter().map(|(k, v)| (k.to_string(), v.to_string()))),
        )
        .unwrap();
        let (services, keys) = support::services_on(store, &settings).await;
        let orgs = services.store.organizations();
        let plan = orgs
            .create(OrganizationKind::HealthPlan, "Acme Health Plan")
            .await
            .unwrap();
        let clinic = orgs
            .create(OrganizationKind::Provider, "Riverside Clinic")
            .await
            .unwrap();
        let desk =
            messages::create_mailbox(&services.store, &clinic.id, "Desk", MailboxKind::General)
                .await
                .unwrap();
        let api_keys = ApiKeys {
            store: &services.store,
            audit: &services.audit,
        };
        let (_, plan_secret) =
            plans::create_publisher_key(&api_keys, &plan.id, "Claims", Actor::system("test"))
                .await
                .unwrap();
        let (_, clinic_secret) = api_keys
            .create(&clinic.id, &desk.id, "EHR", Actor::system("test"))
            .await
            .unwrap();
        let server = Server::bind(settings, services.clone()).await.unwrap();
        let addr: SocketAddr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = server.run(std::future::pending()).await;
        });
        Self {
            base: format!("http://{addr}"),
            plan_key: plan_secret.as_str().to_owned(),
            clinic_key: clinic_secret.as_str().to_owned(),
            _keys: keys,
        }
    }

    async fn call(
        &self,
        method: &'static str,
        path: &str,
        key: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let (key, content_type) = (key.to_owned(), content_type.to_owned());
        tokio::task::spawn_blocking(move || {
            let agent = support::agent();
            let req = ureq::http::Request::builder()
                .method(method)
                .uri(&url)
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", content_type);
            let mut res = if method == "GET" {
                agent.run(req.body(()).unwrap())
            } else {
                agent.run(req.body(body).unwrap())
            }
            .expect("the server answers");
            let header = |name: &str| {
                res.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            Reply {
                status: res.status().as_u16(),
                content_type: header("content-type"),
                location: header("content-location"),
                retry_after: header("retry-after"),
                body: res.body_mut().read_to_string().unwrap(),
            }
        })
        .await
        .unwrap()
    }

    /// Sends only a request's head, announcing `length` bytes of body, and
    /// reads what the server answers before any of the body arrives.
    async fn head_only(&self, path: &str, length: usize) -> String {
        self.raw(
            path,
            &format!("Content-Type: application/fhir+json\r\nContent-Length: {length}\r\n\r\n"),
        )
        .await
    }

    /// Sends a POST to `path` with the plan's key, then `rest` as it is (the
    /// rest of the head, and any body), and reads the answer.
    async fn raw(&self, path: &str, rest: &str) -> String {
        use std::io::Write;
        let addr = self.base.trim_start_matches("http://").to_owned();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n{rest}",
            self.plan_key
        );
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            answer_of(&mut stream)
        })
        .await
        .unwrap()
    }

    /// Starts a bulk upload of `line` whose body does not end until the
    /// returned function is called; that sends the end and reads the answer.
    fn held_bulk(&self, line: &[u8]) -> impl FnOnce() -> String {
        use std::io::Write;
        let addr = self.base.trim_start_matches("http://").to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let mut request = format!(
            "POST /api/v1/eob/$bulk HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/fhir+ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            self.plan_key,
            line.len() + 1
        )
        .into_bytes();
        request.extend_from_slice(line);
        request.extend_from_slice(b"\n\r\n");
        stream.write_all(&request).unwrap();
        move || {
            stream.write_all(b"0\r\n\r\n").unwrap();
            answer_of(&mut stream)
        }
    }

    async fn uploads(&self) -> Reply {
        self.call("GET", "/api/v1/eob/$bulk", &self.plan_key, "", vec![])
            .await
    }

    async fn publish(&self, body: &[u8]) -> Reply {
        self.call(
            "POST",
            "/api/v1/eob",
            &self.plan_key,
            "application/fhir+json",
            body.to_vec(),
        )
        .await
    }

    async fn bulk(&self, lines: &[Vec<u8>]) -> Reply {
        let body = lines.join(&b"\n"[..]);
        self.call(
            "POST",
            "/api/v1/eob/$bulk",
            &self.plan_key,
            "application/fhir+ndjson",
            body,
        )
        .await
    }
}

async fn scenario(store: Store) {
    let portal = Portal::start(store).await;

    // Published; the same claim again is version 2; other resources are counted.
    let first = portal
        .publish(&with_patient(&eb3500(), "ana@example.org"))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["eobs"][0]["version"], 1);
    assert_eq!(first.json()["ignored"]["Organization"], 1);
    let again = portal
        .publish(&with_patient(&eb3500(), "ana@example.org"))
        .await;
    assert_eq!(again.json()["eobs"][0]["version"], 2);
    assert_eq!(again.json()["eobs"][0]["updated"], true);

    // Refusals, each with an issue that says what is wrong and where.
    let mut no_status = eb3500();
    no_status.as_object_mut().unwrap().remove("status");
    portal
        .publish(&with_patient(&no_status, "ana@example.org"))
        .await
        .assert_outcome(422, "status");
    let mut two_focal = eb3500();
    let insurance = two_focal["insurance"][0].clone();
    two_focal["insurance"] = json!([insurance.clone(), insurance]);
    portal
        .publish(&with_patient(&two_focal, "ana@example.org"))
        .await
        .assert_outcome(422, "focal");
    let mut unknown = eb3500();
    unknown["patient"]["reference"] = json!("urn:uuid:99999999-0000-4000-8000-000000000000");
    portal
        .publish(&with_patient(&unknown, "ana@example.org"))
        .await
        .assert_outcome(422, "patient.reference");
    portal
        .publish(SYNTHEA)
        .await
        .assert_outcome(422, "no recipient");
    let mut stu3 = eb3500();
    stu3["insurance"] = json!({"focal": true, "coverage": {"reference": "Coverage/1"}});
    portal
        .publish(&with_patient(&stu3, "ana@example.org"))
        .await
        .assert_outcome(422, "STU3");
    let truncated = portal.publish(&EB3500[..200]).await;
    truncated.assert_outcome(400, "line");
    assert!(truncated.body.contains("column"), "{}", truncated.body);
    // Refused from the announced length, before a byte of the body is sent
    // (so nothing over the limit is ever buffered).
    let head = portal.head_only("/api/v1/eob", 1_200_000).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.contains("application/fhir+json") && head.contains("larger than"),
        "{head}"
    );
    portal
        .call(
            "POST",
            "/api/v1/eob",
            &portal.plan_key,
            "text/plain",
            EB3500.to_vec(),
        )
        .await
        .assert_outcome(415, "application/fhir+json");

    // Keys do only what their scope allows.
    let wrong = portal
        .call(
            "POST",
            "/api/v1/eob",
            &portal.clinic_key,
            "application/fhir+json",
            EB3500.to_vec(),
        )
        .await;
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    let message = portal
        .call(
            "POST",
            "/api/v1/messages",
            &portal.plan_key,
            "application/json",
            br#"{"to":"ana@example.org","subject":"s","body":"b"}"#.to_vec(),
        )
        .await;
    assert_eq!(message.status, 403, "{}", message.body);
    let nobody = portal
        .call(
            "POST",
            "/api/v1/eob",
            "ptk_nope",
            "application/fhir+json",
            EB3500.to_vec(),
        )
        .await;
    assert_eq!(nobody.status, 401);

    // The member directory maps the Synthea patient, who has no email.
    let put = portal
        .call(
            "PUT",
            &format!("/api/v1/members/{SYNTHEA_MEMBER}"),
            &portal.plan_key,
            "application/json",
            br#"{"email": "sam@example.org"}"#.to_vec(),
        )
        .await;
    assert_eq!(put.status, 204, "{}", put.body);
    let synthea = portal.publish(SYNTHEA).await;
    assert_eq!(synthea.status, 201, "{}", synthea.body);
    assert_eq!(synthea.json()["eobs"].as_array().unwrap().len(), 21);
    let members = portal
        .call(
            "POST",
            "/api/v1/members/$bulk",
            &portal.plan_key,
            "application/x-ndjson",
            b"{\"member_id\": \"M1\", \"email\": \"m1@example.org\"}\n{\"member_id\": \"M2\", \"email\": \"not an address\"}\n".to_vec(),
        )
        .await;
    assert_eq!(members.json()["accepted"], 1, "{}", members.body);
    assert_eq!(members.json()["rejections"][0]["line"], 2);
    assert_eq!(members.json()["rejections"][0]["problem"]["field"], "email");

    // Bulk: good lines kept, bad ones reported by number, followable by id.
    let mut second_claim = eb3500();
    second_claim["identifier"][0]["value"] = json!("bulk-2");
    let long_line = vec![b'x'; 1_100_000];
    let bulk = portal
        .bulk(&[
            with_patient(&second_claim, "ana@example.org"),
            b"{\"resourceType\": \"ExplanationOfBenefit\",".to_vec(),
            Vec::new(),
            // NDJSON: the pretty-printed bundle on one line.
            serde_json::to_vec(&serde_json::from_slice::<Value>(SYNTHEA).unwrap()).unwrap(),
            long_line,
        ])
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.body);
    let report = bulk.json();
    assert_eq!(report["state"], "done");
    assert_eq!(
        (report["accepted"].as_i64(), report["rejected"].as_i64()),
        (Some(2), Some(2))
    );
    let lines: Vec<i64> = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 5]);
    assert!(report["rejections"][1]["outcome"]
        .to_string()
        .contains("longer than"));
    let id = report["id"].as_str().unwrap();
    assert_eq!(bulk.location, format!("/api/v1/eob/$bulk/{id}"));
    let followed = portal
        .call("GET", &bulk.location, &portal.plan_key, "", vec![])
        .await;
    assert_eq!(followed.json()["accepted"], 2);
    let listed = portal
        .call("GET", "/api/v1/eob/$bulk", &portal.plan_key, "", vec![])
        .await;
    assert_eq!(listed.json()["uploads"][0]["id"], id);
    let others = portal
        .call("GET", &bulk.location, &portal.clinic_key, "", vec![])
        .await;
    assert_eq!(
        others.status, 403,
        "another organization's key cannot follow it"
    );

    // A body that breaks off (a malformed chunk) after more than a batch:
    // every whole line before the break is kept, and the upload says it failed.
    let lines = "{}\n".repeat(1100);
    let cut = portal
        .raw(
            "/api/v1/eob/$bulk",
            &format!(
                "Content-Type: application/fhir+ndjson\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {:x}\r\n{lines}\r\nzz\r\n",
                lines.len()
            ),
        )
        .await;
    assert!(cut.starts_with("HTTP/1.1 400"), "{cut}");
    assert!(cut.contains("could not be read to its end"), "{cut}");
    let listed = portal
        .call("GET", "/api/v1/eob/$bulk", &portal.plan_key, "", vec![])
        .await;
    let newest = &listed.json()["uploads"][0];
    assert_eq!(newest["state"], "failed", "{newest}");
    assert_eq!(newest["lines"], 1100, "{newest}");
    assert_eq!(newest["rejected"], 1100, "{newest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eob_api_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(migrated_store(&sqlite_url(dir.path())).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eob_api_on_postgres() {
    let pg = ThrowawayPostgres::create().await;
    scenario(migrated_store(&pg.url()).await).await;
    pg.drop_now().await;
}

/// Past capacity the portal says so at once (503, Retry-After) and keeps
/// nothing half done; what was refused goes through when sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_capacity_requests_are_refused_with_retry_after() {
    let line = with_patient(&eb3500(), "ana@example.org");

    // One bulk upload at a time.
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    let portal = Portal::start_with(store, &[("PORTICO_MAX_BULK_UPLOADS", "1")]).await;
    let finish = portal.held_bulk(&line);
    let mut receiving = false;
    for _ in 0..500 {
        if portal.uploads().await.json()["uploads"][0]["state"] == "receiving" {
            receiving = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(receiving, "the held upload is under way");
    let second = portal.bulk(std::slice::from_ref(&line)).await;
    assert_eq!(second.status, 503, "{}", second.body);
    assert_eq!(second.retry_after, "5");
    assert!(second.body.contains("bulk uploads"), "{}", second.body);
    let first = tokio::task::spawn_blocking(finish).await.unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.contains("\"accepted\":1"), "{first}");
    let again = portal.bulk(std::slice::from_ref(&line)).await;
    assert_eq!(
        again.status, 200,
        "sent again, it goes through: {}",
        again.body
    );
    let uploads = portal.uploads().await.json();
    let states: Vec<&Value> = uploads["uploads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["state"])
        .collect();
    assert_eq!(
        states,
        vec!["done", "done"],
        "the refused upload left no trace"
    );

    // One request at a time: while the held upload runs, everything else but
    // the health check is refused.
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    let portal =
        Portal::start_with(store.clone(), &[("PORTICO_MAX_REQUESTS_IN_FLIGHT", "1")]).await;
    let finish = portal.held_bulk(&line);
    // Asking the portal would race the held upload for the one slot, so the
    // test reads the database to know the upload holds it.
    let mut holding = false;
    for _ in 0..500 {
        let receiving = support::count(
            &store,
            "SELECT COUNT(*) FROM eob_uploads WHERE state = 'receiving'",
        )
        .await;
        if receiving == 1 {
            holding = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(holding, "the held upload is under way");
    let refused = portal.uploads().await;
    assert_eq!(
        refused.status, 503,
        "a request beside the held upload is refused: {}",
        refused.body
    );
    assert_eq!(refused.retry_after, "5");
    assert_eq!(refused.content_type, "application/problem+json");
    assert!(refused.body.contains("at capacity"), "{}", refused.body);
    let health = portal.call("GET", "/healthz", "", "", vec![]).await;
    assert_eq!(health.status, 200, "the health check is always answered");
    let first = tokio::task::spawn_blocking(finish).await.unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert_eq!(
        portal.uploads().await.status,
        200,
        "room again once it ended"
    );
}
