//! Test support: a real SMTP server (smtp_server.py, on aiosmtpd) in a child
//! process, and `portico serve` with its log captured. Both are killed when
//! dropped.

#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Polls `check` every 20 ms until it gives a value, failing with `what` at the deadline.
pub fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The Python with aiosmtpd: `TEST_SMTP_PYTHON` (the Makefile sets it), else
/// the Makefile's venv under target/ when it exists.
fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("TEST_SMTP_PYTHON") {
        return path.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/smtp-venv/bin/python");
    assert!(
        venv.exists(),
        "these tests need Python with aiosmtpd: run `make test-tools` (it installs it into \
         target/smtp-venv), or set TEST_SMTP_PYTHON to a python that has it"
    );
    venv
}

/// What the test SMTP server offers and demands.
#[derive(Default, Clone)]
pub struct SmtpOptions {
    /// PEM certificate and key: STARTTLS offered and required.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// AUTH required with this user and password.
    pub auth: Option<(String, String)>,
    /// Stall at RCPT for the first recipient matching this regex.
    pub stall: Option<String>,
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub maildir: PathBuf,
    /// Created when the server stalls.
    pub stall_signal: PathBuf,
}

impl SmtpServer {
    /// Starts the server on `port`, keeping mail in `dir/maildir`, and waits until it is ready.
    pub fn start(dir: &Path, port: u16, options: &SmtpOptions) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let maildir = dir.join("maildir");
        let stall_signal = dir.join("stalled");
        let mut cmd = Command::new(python());
        cmd.arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--maildir")
            .arg(&maildir)
            .arg("--stall-signal")
            .arg(&stall_signal)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((cert, key)) = &options.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        if let Some((user, password)) = &options.auth {
            cmd.args(["--auth-user", user, "--auth-password", password]);
        }
        if let Some(pattern) = &options.stall {
            cmd.args(["--stall", pattern]);
        }
        let mut child = cmd.spawn().expect("start the test SMTP server");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let ready = stdout.read_line(&mut line).is_ok() && line.trim() == "ready";
        let mut server = Self {
            child,
            port,
            maildir,
            stall_signal,
        };
        if !ready {
            server.kill();
            panic!("the test SMTP server did not start (is aiosmtpd installed?)");
        }
        server
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(&self.maildir)
            .map(|dir| {
                dir.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("a received message"))
            .collect()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Counts received messages by `Message-ID`.
pub fn by_message_id(messages: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for mail in messages {
        let id = header(mail, "Message-ID").unwrap_or_else(|| panic!("no Message-ID in {mail}"));
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// A header's value (unfolded), from a raw message.
pub fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The `portico` binary with no `PORTICO_*` setting from the caller's shell.
pub fn portico_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTICO_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Runs a `portico` command on the data directory `data`, quietly.
pub fn run_portico(data: &Path, args: &[&str]) -> std::process::Output {
    portico_command()
        .env("PORTICO_DATA_DIR", data)
        .env("PORTICO_LOG", "warn")
        .args(args)
        .output()
        .expect("run portico")
}

/// Runs a `portico` command on `data` that must succeed; its standard output,
/// trimmed.
pub fn portico_ok(data: &Path, args: &[&str]) -> String {
    let out = run_portico(data, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `portico serve` on the data directory `data` at `port`, with a short mail
/// lease (about 7 s), so that notices a killed process had claimed are taken
/// up again within a test.
pub fn serve_on(data: &Path, port: u16) -> Portico {
    Portico::serve(&[
        ("PORTICO_LISTEN", format!("127.0.0.1:{port}")),
        ("PORTICO_DATA_DIR", data.display().to_string()),
        ("PORTICO_SMTP_TIMEOUT", "1s".to_owned()),
    ])
}

/// [`serve_on`], from async code.
pub async fn serve_on_async(data: &Path, port: u16) -> Portico {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || serve_on(&data, port))
        .await
        .unwrap()
}

/// Waits (up to a minute) until a test's SQLite outbox has nothing left unsent.
pub async fn wait_until_outbox_sent(store: &portico_core::store::Store) {
    let store = store.clone();
    let rt = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        wait_for("every notice to be sent", Duration::from_secs(60), || {
            let left = rt.block_on(count(
                &store,
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
            ));
            (left == 0).then_some(())
        })
    })
    .await
    .unwrap()
}

/// A count from a test's SQLite database.
pub async fn count(store: &portico_core::store::Store, sql: &str) -> i64 {
    let portico_core::store::Store::Sqlite(pool) = store else {
        unreachable!("a SQLite test")
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// An HTTP client that hands back error statuses as answers, for tests to check.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// A GET to the portal on `port` with one request header: status and body.
pub fn http_get(port: u16, path: &str, header: (&str, &str)) -> (u16, String) {
    let agent = agent();
    let mut res = agent
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header(header.0, header.1)
        .call()
        .expect("the portal answers");
    let body = res.body_mut().read_to_string().expect("a text body");
    (res.status().as_u16(), body)
}

/// `portico serve` as a child process, its log (stdout and stderr) captured.
pub struct Portico {
    child: Child,
    pub log: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Portico {
    /// Starts `portico serve` with only these `PORTICO_*` settings, and waits until it is ready.
    pub fn serve(env: &[(&str, String)]) -> Self {
        let mut cmd = portico_command();
        let port = free_port();
        cmd.env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTICO_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start portico");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut readers = Vec::new();
        for stream in [
            Box::new(child.stdout.take().expect("piped")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("piped")),
        ] {
            let (log, ready) = (log.clone(), ready_tx.clone());
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("Portico is ready") {
                        let _ = ready.send(());
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            }));
        }
        let mut portico = Self {
            child,
            log,
            readers,
        };
        if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            portico.kill();
            panic!("portico did not become ready:\n{}", portico.log());
        }
        portico
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends the named signal (`HUP`, `TERM`, …) with `kill`.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not send SIG{name} to portico");
    }

    /// SIGKILL: the process dies at once, in whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (up to 30 s) for it to exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(sent, "could not signal portico");
        let status = wait_for(
            "portico to stop on SIGTERM",
            Duration::from_secs(30),
            || self.child.try_wait().ok().flatten(),
        );
        // The pipes are closed now: the readers end once they have read it all.
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status.success()
    }
}

impl Drop for Portico {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The services of an in-process test portal on `store`, its root key in a
/// temporary directory that lives as long as the returned guard.
pub async fn services_on(
    store: portico_core::store::Store,
    settings: &portico_core::config::Settings,
) -> (portico_server::serve::Services, tempfile::TempDir) {
    use portico_core::vault::{RootKeyring, Vault};
    let keys = tempfile::tempdir().unwrap();
    let keyring = RootKeyring::open(keys.path(), None).unwrap();
    let services = portico_server::serve::Services {
        passwords: Arc::new(portico_core::auth::passwords::Passwords::new()),
        passkeys: Arc::new(
            portico_core::auth::passkeys::Passkeys::new(&settings.public_url).unwrap(),
        ),
        vault: Arc::new(Vault::load(store.clone(), keyring).await.unwrap()),
        audit: portico_core::audit::AuditLog::start(store.clone()),
        store,
    };
    (services, keys)
}

/// The HL7 example EOB EB3500, as published.
pub const EB3500: &[u8] = include_bytes!(
    "../../../core/tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
);

/// The HL7 example EOB EB3500, its patient pointing at the Patient that
/// [`with_patient`] puts beside it.
pub fn eb3500() -> serde_json::Value {
    let mut eob: serde_json::Value = serde_json::from_slice(EB3500).unwrap();
    eob["patient"]["reference"] =
        serde_json::json!("urn:uuid:7d1f3c7e-0000-4000-8000-000000000001");
    eob
}

/// A transaction Bundle of `eob` with its Patient (reached at `email`) and an
/// Organization (ignored by the portal).
pub fn with_patient(eob: &serde_json::Value, email: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:7d1f3c7e-0000-4000-8000-000000000001", "resource": {
                "resourceType": "Patient", "telecom": [{"system": "email", "value": email}]}},
            {"resource": eob},
            {"resource": {"resourceType": "Organization", "id": "o"}}
        ]
    }))
    .unwrap()
}
