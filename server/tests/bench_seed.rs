//! `portico bench-seed`, which `make bench` measures against: it fills an empty
//! database only, and the sessions it prints open their patients' own pages
//! (and, being real sessions, no one else's).

mod support;

use serde_json::Value;
use support::{free_port, http_get, run_portico, Portico};

fn get(port: u16, path: &str, cookie: &str) -> (u16, String) {
    http_get(port, path, ("cookie", &format!("portico_session={cookie}")))
}

#[test]
fn the_seed_fills_an_empty_database_and_its_sessions_open_their_own_pages() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = [
        "bench-seed",
        "--patients",
        "5",
        "--messages",
        "10",
        "--eobs",
        "10",
        "--sessions",
        "2",
    ];
    let out = run_portico(&data, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (seed["messages"].as_u64(), seed["eobs"].as_u64()),
        (Some(10), Some(10))
    );
    let sessions = seed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let again = run_portico(&data, &args);
    assert!(!again.status.success(), "a second seed is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("empty database"));

    let port = free_port();
    let _server = Portico::serve(&[
        ("PORTICO_LISTEN", format!("127.0.0.1:{port}")),
        ("PORTICO_DATA_DIR", data.display().to_string()),
    ]);
    let first = &sessions[0];
    let cookie = first["cookie"].as_str().unwrap();
    let thread = first["threads"][0].as_str().unwrap();
    let (status, page) = get(port, thread, cookie);
    assert_eq!(status, 200);
    assert!(page.contains("Your visit, message"), "the thread opens");
    let statement = first["statements"][0].as_str().unwrap();
    let (status, page) = get(port, statement, cookie);
    assert_eq!(status, 200);
    assert!(page.contains("This is not a bill"), "the statement opens");
    let (_, inbox) = get(port, "/inbox", cookie);
    assert!(inbox.contains(thread), "the inbox lists the thread");
    // The other patient's session does not open the first one's thread.
    let (_, other) = get(port, thread, sessions[1]["cookie"].as_str().unwrap());
    assert!(
        !other.contains("Your visit, message"),
        "another patient's thread stays shut"
    );
}
