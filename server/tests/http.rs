//! The server over real HTTP on an ephemeral port: health, security headers and
//! the CSP nonce, on SQLite and on PostgreSQL.

mod support;

use std::net::SocketAddr;

use portico_core::{
    config::Settings,
    store::Store,
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
    vault::{RootKeyring, Vault},
};
use portico_server::serve::Server;
use tokio::sync::oneshot;

/// A response as a browser would see it: status, headers, body.
struct Page {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

/// GET with a plain blocking client on a thread of its own (no hyper client in
/// the tests, so the test build shares the server's dependency features).
async fn fetch(url: String) -> Page {
    tokio::task::spawn_blocking(move || {
        let agent = support::agent();
        let mut res = agent.get(&url).call().expect("the server answers");
        Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.body_mut().read_to_string().expect("a text body"),
        }
    })
    .await
    .unwrap()
}

struct TestServer {
    base: String,
    /// Where `/metrics` is served, when `PORTICO_METRICS_LISTEN` was given.
    metrics: Option<String>,
    audit: portico_core::audit::AuditLog,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
    /// Holds the root key file.
    keys: tempfile::TempDir,
}

impl TestServer {
    async fn start(store: Store, extra_env: &[(&str, &str)]) -> Self {
        let mut env = vec![("PORTICO_LISTEN".to_owned(), "127.0.0.1:0".to_owned())];
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let settings = Settings::load(None, env).unwrap();
        let (services, keys) = support::services_on(store, &settings).await;
        let audit = services.audit.clone();
        let server = Server::bind(settings, services).await.unwrap();
        let addr: SocketAddr = server.local_addr().unwrap();
        let metrics = server.metrics_addr().map(|a| format!("http://{a}"));
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
            metrics,
            audit,
            stop: Some(stop),
            done,
            keys,
        }
    }

    async fn get(&self, path: &str) -> Page {
        fetch(format!("{}{path}", self.base)).await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.done).await.unwrap();
    }
}

async fn sqlite_server(dir: &tempfile::TempDir, extra_env: &[(&str, &str)]) -> (TestServer, Store) {
    let store = migrated_store(&sqlite_url(dir.path())).await;
    (TestServer::start(store.clone(), extra_env).await, store)
}

async fn health_status(server: &TestServer) -> (u16, serde_json::Value) {
    let res = server.get("/healthz").await;
    (res.status, serde_json::from_str(&res.body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_200_on_sqlite_and_503_once_the_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (server, store) = sqlite_server(&dir, &[]).await;
    let (status, body) = health_status(&server).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");

    store.close().await;
    let (status, body) = health_status(&server).await;
    assert_eq!(status, 503);
    assert_eq!(body["database"], "unreachable");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_200_on_postgres_and_503_once_the_database_is_dropped() {
    let db = ThrowawayPostgres::create().await;
    let store = migrated_store(&db.url()).await;
    let server = TestServer::start(store, &[]).await;
    assert_eq!(health_status(&server).await.0, 200);

    db.drop_now().await;
    let (status, body) = health_status(&server).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    // The body says nothing about why: no driver message, no address.
    assert!(!body.to_string().contains("postgres"));
    server.stop().await;
}

fn header<'a>(res: &'a Page, name: &str) -> &'a str {
    res.headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
}

/// The nonce named in a Content-Security-Policy's script-src.
fn csp_nonce(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("script-src carries a nonce") + "'nonce-".len();
    let end = csp[start..].find('\'').unwrap() + start;
    csp[start..end].to_owned()
}

fn assert_security_headers(res: &Page) {
    let csp = header(res, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        !csp.contains("unsafe-eval'") || csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(header(res, "x-content-type-options"), "nosniff");
    assert_eq!(header(res, "referrer-policy"), "no-referrer");
    assert_eq!(header(res, "cache-control"), "no-store");
    assert!(!header(res, "x-request-id").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_carries_security_headers_and_every_script_carries_the_csp_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _store) = sqlite_server(&dir, &[]).await;
    let res = server.get("/").await;
    assert_eq!(res.status, 200);
    assert_security_headers(&res);
    assert!(
        res.headers.get("strict-transport-security").is_none(),
        "no HSTS over http"
    );
    let nonce = csp_nonce(header(&res, "content-security-policy"));
    assert!(nonce.len() >= 22, "at least 128 bits of nonce");

    let html = &res.body;
    assert!(
        html.contains("Your secure health messages"),
        "rendered on the server"
    );
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(i, _)| &html[i..])
        .collect();
    assert!(!scripts.is_empty(), "the page loads the hydration scripts");
    for script in scripts {
        let tag = &script[..script.find('>').unwrap()];
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "script without the response's nonce: {tag}"
        );
    }

    // A new response, a new nonce.
    let again = server.get("/").await;
    assert_ne!(csp_nonce(header(&again, "content-security-policy")), nonce);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_address_is_a_404_page_with_the_same_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _store) = sqlite_server(&dir, &[]).await;
    let res = server.get("/no/such/page?x=1").await;
    assert_eq!(res.status, 404);
    assert_security_headers(&res);
    assert!(res.body.contains("Page not found"));

    let res = server.get("/healthz").await;
    assert_security_headers(&res);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_is_sent_when_the_public_address_is_https() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _store) =
        sqlite_server(&dir, &[("PORTICO_PUBLIC_URL", "https://portal.example")]).await;
    let res = server.get("/").await;
    assert!(header(&res, "strict-transport-security").starts_with("max-age="));
    server.stop().await;
}

/// POSTs a form to a server function as a browser on `origin` would; returns
/// the status, the Set-Cookie headers and the body.
async fn post_form(
    url: String,
    origin: &'static str,
    form: Vec<(&'static str, String)>,
) -> (u16, Vec<String>, String) {
    post_form_with_cookie(url, origin, form, None).await
}

/// As [`post_form`], sending `cookie` (`name=value`) when given.
async fn post_form_with_cookie(
    url: String,
    origin: &'static str,
    form: Vec<(&'static str, String)>,
    cookie: Option<String>,
) -> (u16, Vec<String>, String) {
    tokio::task::spawn_blocking(move || {
        let agent = support::agent();
        let mut req = agent.post(&url).header("origin", origin);
        if let Some(cookie) = &cookie {
            req = req.header("cookie", cookie);
        }
        let mut res = req
            .send_form(form.iter().map(|(k, v)| (*k, v.as_str())))
            .expect("the server answers");
        let cookies = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        (
            res.status().as_u16(),
            cookies,
            res.body_mut().read_to_string().unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_the_session_cookie_is_host_only_secure_httponly_strict_and_addresses_answer_alike(
) {
    let dir = tempfile::tempdir().unwrap();
    let (server, store) =
        sqlite_server(&dir, &[("PORTICO_PUBLIC_URL", "https://portal.example")]).await;
    let vault = Vault::load(
        store.clone(),
        RootKeyring::open(server.keys.path(), None).unwrap(),
    )
    .await
    .unwrap();
    let known = portico_core::vault::NormalizedEmail::parse("known@example.org").unwrap();
    vault.identity_for_email(&known).await.unwrap();

    let url = format!("{}/api/request_code_by_email", server.base);
    let ask = |email: &str| {
        post_form(
            url.clone(),
            "https://portal.example",
            vec![("email", email.to_owned())],
        )
    };
    let (status, cookies, known_body) = ask("known@example.org").await;
    assert_eq!(status, 200, "{known_body}");
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portico="))
        .unwrap_or_else(|| panic!("no __Host- session cookie in {cookies:?}"));
    for flag in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    assert!(
        !cookie.to_ascii_lowercase().contains("domain="),
        "host-only: {cookie}"
    );

    // Known and unknown addresses: the same status, the same bytes, a cookie each.
    let (status, cookies, unknown_body) = ask("nobody@example.org").await;
    assert_eq!(status, 200);
    assert_eq!(known_body, unknown_body, "byte-identical answers");
    assert!(cookies.iter().any(|c| c.starts_with("__Host-portico=")));

    // And similar time: the code is sent after the answer, so neither waits on it.
    let mut known_ms = Vec::new();
    let mut unknown_ms = Vec::new();
    for _ in 0..15 {
        for (email, times) in [
            ("known@example.org", &mut known_ms),
            ("nobody@example.org", &mut unknown_ms),
        ] {
            let started = std::time::Instant::now();
            ask(email).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let (k, u) = (median(&mut known_ms), median(&mut unknown_ms));
    assert!(
        (k - u).abs() < 25.0,
        "median {k:.1} ms for a known address, {u:.1} ms for an unknown one"
    );

    // A cross-origin POST is refused before it reaches the function.
    let (status, _, _) = post_form(
        url.clone(),
        "https://evil.example",
        vec![("email", "known@example.org".into())],
    )
    .await;
    assert_eq!(status, 403);
    server.stop().await;
}

/// The `name=value` of the session cookie among Set-Cookie headers, if any.
fn session_cookie(set_cookies: &[String]) -> Option<String> {
    set_cookies
        .iter()
        .find(|c| c.starts_with("portico_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_at_the_absolute_timeout_however_active_it_is() {
    use portico_core::{
        audit::{self, Action, Page},
        notify::{deliver_due, FileTransport},
    };
    let dir = tempfile::tempdir().unwrap();
    let (server, store) = sqlite_server(
        &dir,
        &[
            ("PORTICO_IDLE_TIMEOUT", "20s"),
            ("PORTICO_ABSOLUTE_TIMEOUT", "20s"),
        ],
    )
    .await;
    let vault = Vault::load(
        store.clone(),
        RootKeyring::open(server.keys.path(), None).unwrap(),
    )
    .await
    .unwrap();
    let email = portico_core::vault::NormalizedEmail::parse("ana@example.org").unwrap();
    let ana = vault.identity_for_email(&email).await.unwrap();
    let api = |name: &str| format!("{}/api/{name}", server.base);
    const ORIGIN: &str = "http://localhost:3000";

    let (_, set, _) = post_form(
        api("request_code_by_email"),
        ORIGIN,
        vec![("email", "ana@example.org".into())],
    )
    .await;
    let mut cookie = session_cookie(&set).expect("a session for the pending sign-in");
    // The code is sent after the answer: deliver it once it is queued.
    let outbox = tempfile::tempdir().unwrap();
    let transport = FileTransport {
        dir: outbox.path().to_owned(),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while deliver_due(
        &store,
        &vault,
        &transport,
        &"http://localhost:3000".parse().unwrap(),
        10,
    )
    .await
    .unwrap()
        == 0
    {
        assert!(std::time::Instant::now() < deadline, "no code was queued");
        tokio::task::yield_now().await;
    }
    let mail = std::fs::read_dir(outbox.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let code = std::fs::read_to_string(mail)
        .unwrap()
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    let (status, set, body) = post_form_with_cookie(
        api("submit_code"),
        ORIGIN,
        vec![("code", code)],
        Some(cookie.clone()),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "\"SignedIn\""));
    cookie = session_cookie(&set).expect("a new session id at sign-in");
    let signed_in_at = std::time::Instant::now();

    // Active every 4 seconds, so the idle timeout never lapses ...
    let whoami = |cookie: String| {
        post_form_with_cookie(api("current_session"), ORIGIN, vec![], Some(cookie))
    };
    while signed_in_at.elapsed() < std::time::Duration::from_secs(16) {
        let (_, _, body) = whoami(cookie.clone()).await;
        assert!(body.contains("patient"), "still signed in: {body}");
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    }
    // ... but 20 seconds after sign-in the absolute timeout ends the session.
    tokio::time::sleep(std::time::Duration::from_secs(21).saturating_sub(signed_in_at.elapsed()))
        .await;
    let (_, _, body) = whoami(cookie.clone()).await;
    assert_eq!(body, "null", "signed out at the absolute timeout");
    let (_, _, body) = whoami(cookie).await;
    assert_eq!(body, "null", "and the session stays ended");
    let expired = audit::events_by(
        &store,
        &portico_core::audit::Actor::patient(&ana.id),
        Page::newest(20),
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|e| e.event.action == Action::SessionExpired)
    .flat_map(|e| e.event.subject_ids)
    .collect::<Vec<_>>();
    assert_eq!(expired, ["reason:absolute_timeout"]);
    server.stop().await;
}

/// The value of the first sample of `name` whose labels include each of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_apart_from_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let (server, store) = sqlite_server(&dir, &[("PORTICO_METRICS_LISTEN", "127.0.0.1:0")]).await;
    for _ in 0..3 {
        assert_eq!(server.get("/healthz").await.status, 200);
    }
    assert_eq!(
        server.get("/metrics").await.status,
        404,
        "not on the public listener"
    );
    use portico_core::audit::{Action, Actor, AuditEvent, Outcome};
    server
        .audit
        .record(AuditEvent::new(
            Actor::system("test"),
            Action::OrganizationChanged,
            Outcome::Success,
        ))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id_hash, person, data, expires_at) VALUES ($1, NULL, '{}', $2)",
    )
    .bind(vec![7u8; 32])
    .bind(portico_core::store::now_ms() + 60_000)
    .execute(match &store {
        Store::Sqlite(pool) => pool,
        Store::Postgres(_) => unreachable!("a SQLite test"),
    })
    .await
    .unwrap();

    let page = fetch(format!("{}/metrics", server.metrics.as_deref().unwrap())).await;
    assert_eq!(page.status, 200);
    assert!(header(&page, "content-type").starts_with("text/plain; version=0.0.4"));
    let text = &page.body;
    let healthz = ["route=\"/healthz\"", "method=\"GET\""];
    let served = sample(
        text,
        "portico_http_requests_total{",
        &[healthz[0], healthz[1], "status=\"200\""],
    );
    assert!(served.is_some_and(|n| n >= 3.0), "{text}");
    let not_found = sample(text, "portico_http_requests_total{", &["status=\"404\""]);
    assert!(not_found.is_some_and(|n| n >= 1.0), "{text}");
    let timed = sample(
        text,
        "portico_http_request_duration_seconds_count{",
        &healthz,
    );
    assert!(timed.is_some_and(|n| n >= 3.0), "{text}");
    let commits = sample(text, "portico_audit_commit_seconds_count", &[]);
    assert!(commits.is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(
        sample(text, "portico_sessions_live", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "portico_outbox_backlog", &[]),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(text, "portico_audit_queue_depth", &[]).is_some(),
        "{text}"
    );
    assert!(
        !text.contains("/metrics\""),
        "scrapes are not counted as portal requests"
    );
    server.stop().await;
}
