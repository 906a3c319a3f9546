//! The `portico` binary as an operator runs it: bad settings, logs, shutdown.

mod support;

use std::{
    io::{BufRead, BufReader, Read},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn portico() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    // Start from a clean slate: no settings leak in from the developer's shell.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTICO_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = portico()
        .env("PORTICO_DATA_DIR", dir.path())
        .env("PORTICO_IDLE_TIMEOUT", "forever")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("idle_timeout") && stderr.contains("PORTICO_IDLE_TIMEOUT"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("portico.db").exists(),
        "nothing was created"
    );
}

#[test]
fn a_bad_setting_in_the_config_file_names_the_setting_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portico.toml");
    std::fs::write(&file, "absolute_timeout = \"1s\"\n").unwrap();
    let out = portico()
        .arg("--config")
        .arg(&file)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("absolute_timeout") && stderr.contains("portico.toml"),
        "{stderr}"
    );
}

#[test]
fn migrate_creates_the_database_under_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = portico()
        .env("PORTICO_DATA_DIR", &data)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("portico.db").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is private");
}

/// Starts `portico serve` on a free port and returns it with its address once it
/// says it is ready.
fn serve(
    data: &std::path::Path,
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStdout>,
) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = portico()
        .env("PORTICO_DATA_DIR", data)
        .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
        .env("PORTICO_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "portico exited before it was ready"
        );
        if line.contains("Portico is ready") {
            break;
        }
    }
    (child, format!("http://127.0.0.1:{port}"), stdout)
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "portico did not stop on SIGTERM");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn logs_carry_request_ids_but_never_query_strings_or_concrete_paths() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base, mut stdout) = serve(&dir.path().join("data"));
    let agent = support::agent();
    let res = agent
        .get(format!(
            "{base}/open/TOKEN-MARKER-8f1c?subject=PHI-MARKER-ecg"
        ))
        .call()
        .unwrap();
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let health = agent
        .get(format!("{base}/healthz?q=PHI-MARKER-2"))
        .call()
        .unwrap();
    assert_eq!(health.status(), 200);

    let status = terminate(&mut child);
    assert!(status.success(), "graceful shutdown exits 0: {status}");
    let mut logs = String::new();
    stdout.read_to_string(&mut logs).unwrap();
    assert!(
        logs.contains(&request_id),
        "the request id is logged:\n{logs}"
    );
    assert!(
        logs.contains("/healthz"),
        "routes are logged by template:\n{logs}"
    );
    assert!(
        !logs.contains("MARKER"),
        "a token or query string reached the logs:\n{logs}"
    );
    assert!(logs.contains("Portico stopped"));
}

#[test]
fn a_root_key_file_others_can_read_or_of_the_wrong_length_stops_start_up() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The first start makes the key, readable by its owner only.
    let (mut child, _, _stdout) = serve(&data);
    assert!(terminate(&mut child).success());
    let key = data.join("master.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);

    let start = || {
        portico()
            .env("PORTICO_DATA_DIR", &data)
            .env("PORTICO_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap()
    };
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = start();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("master.key") && said.contains("chmod 600"),
        "{said}"
    );

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&key, [7u8; 31]).unwrap();
    let refused = start();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("master.key") && said.contains("32"), "{said}");
}
