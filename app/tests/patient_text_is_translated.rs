//! Every word a patient reads comes from a catalogue in `src/i18n/`, which
//! holds it in English and Spanish. This test reads the source of the patient's
//! pages and fails on prose written there directly, which would show in English
//! to a Spanish reader: a string literal of words, in page text, in a
//! patient-visible attribute (aria-label, title, placeholder, alt, a page
//! title), or in a message returned to the page.
//!
//! Staff pages are in English only and are not read here.

use std::path::Path;

/// The sources of what a patient sees.
const PATIENT_SOURCES: &[&str] = &[
    "src/shell.rs",
    "src/pages/home.rs",
    "src/pages/sign_in.rs",
    "src/pages/open_link.rs",
    "src/pages/inbox.rs",
    "src/pages/thread.rs",
    "src/pages/statements.rs",
    "src/pages/access_history.rs",
    "src/pages/signed_out.rs",
    "src/pages/not_found.rs",
    "src/messaging/forms.rs",
    "src/messaging/text.rs",
    "src/statements.rs",
    "src/statements/statements_ssr.rs",
    "src/access_history.rs",
    "src/access_history/access_history_ssr.rs",
    "src/auth/mod.rs",
    "src/auth/browser.rs",
];

/// Attributes whose values a patient reads or hears.
const READ_ATTRIBUTES: &[&str] = &["aria-label", "title", "placeholder", "alt", "text"];

/// Lines whose literals never reach a patient: logs, routes, formats, panics.
const NOT_SHOWN: &[&str] = &[
    "tracing::",
    "error!(",
    "warn!(",
    "info!(",
    "debug!(",
    "path!(",
    "format_description!(",
    "expect(",
    "panic!(",
    "#[",
    "concat!(",
];

/// Literals in the patient's sources that are not prose for a reader, each
/// with why.
const NOT_PROSE: &[&str] = &[
    // What the browser-only functions return when compiled for the server,
    // where nothing calls them.
    "passkeys work only in the browser",
    "forms are sent from the browser",
    // Shown only to staff, who read Portico in English.
    "Withdraw this message",
    "statements are for members only",
    "the access history is for patients; staff see the audit log",
    // A format of names (data), with no words of its own.
    "{name} ({role}), {organization}",
];

/// The string literals of a line of Rust, with the text before each.
fn literals(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'/') {
            break;
        }
        // A char literal such as '"' is not the start of a string.
        if chars[i] == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            continue;
        }
        if chars[i] == '\'' && chars.get(i + 1) == Some(&'\\') && chars.get(i + 3) == Some(&'\'') {
            i += 4;
            continue;
        }
        if chars[i] == '"' {
            let before: String = chars[..i].iter().collect();
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(c) = chars.get(i) {
                    text.push(*c);
                }
                i += 1;
            }
            out.push((before, text));
        }
        i += 1;
    }
    out
}

/// Words a reader would read: two words together, or one capitalized word.
fn is_prose(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic() && c != '\'')
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .collect();
    let spaced = text.contains(' ');
    match words.as_slice() {
        [] => false,
        [one] => {
            !spaced
                && one.chars().next().is_some_and(char::is_uppercase)
                && one.len() >= 3
                && one.chars().skip(1).all(char::is_lowercase)
        }
        _ => spaced,
    }
}

/// The attribute a literal is the value of, if it is one (`class="…"`).
fn attribute_of(before: &str) -> Option<&str> {
    let before = before.trim_end().strip_suffix('=')?;
    let name_start = before
        .rfind(|c: char| !(c.is_alphanumeric() || c == '-' || c == ':' || c == '_'))
        .map_or(0, |at| at + 1);
    Some(&before[name_start..])
}

fn prose_in(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") || NOT_SHOWN.iter().any(|n| line.contains(n)) {
            continue;
        }
        for (before, text) in literals(line) {
            let shown = match attribute_of(&before) {
                Some(attribute) => READ_ATTRIBUTES.contains(&attribute),
                None => true,
            };
            if shown && is_prose(&text) && !NOT_PROSE.contains(&text.as_str()) {
                found.push((number + 1, text));
            }
        }
    }
    found
}

#[test]
fn no_patient_page_writes_prose_outside_the_catalogues() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut untranslated = Vec::new();
    for file in PATIENT_SOURCES {
        let source =
            std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (line, text) in prose_in(&source) {
            untranslated.push(format!("{file}:{line}: {text:?}"));
        }
    }
    assert!(
        untranslated.is_empty(),
        "patient-facing text without a translation (move it into src/i18n/):\n{}",
        untranslated.join("\n")
    );
}

#[test]
fn the_scanner_finds_prose_and_passes_markup() {
    let page = r#"
        view! {
            <p class="notice stack" id="x">{t.ok}</p>
            <h1>"Your messages"</h1>
            <button aria-label="Close this">"×"</button>
            <a href="/inbox" title=t.back>"."</a>
            <Title text="Inbox"/>
        }
        tracing::error!("a log line is fine");
        return Err(ServerFnError::new("please sign in again"));
    "#;
    let found: Vec<String> = prose_in(page).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        found,
        [
            "Your messages",
            "Close this",
            "Inbox",
            "please sign in again"
        ]
    );
}
