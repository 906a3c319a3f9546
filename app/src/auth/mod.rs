//! Signing in, from the page's side: the data the pages show, and the server
//! functions they call. Each server function checks the session, calls one
//! `portico_core` function and maps the result; the rules live in core.

pub mod browser;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a notification link leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkAnswer {
    /// Names who wrote; the person still has to prove who they are.
    Valid {
        organization_name: String,
        /// The recipient has a passkey: offer "Sign in with a passkey".
        has_passkey: bool,
        /// The link is to new statements from a health plan, not a message.
        statements: bool,
        /// Who sent it, for their logo and colour.
        brand: Brand,
    },
    Expired,
    Unknown,
    Malformed,
}

/// An organization's branding, as a page needs it: where its logo and its
/// colours are, when it has them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub organization_id: String,
    pub logo: bool,
    pub colour: bool,
}

/// The answer to typing a code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeAnswer {
    SignedIn,
    /// Wrong, expired or used up: the same words for every case, so the page
    /// never tells whether an address is known.
    DidNotWork,
    /// Not six digits (or however many are asked for).
    NotACode {
        digits: u8,
    },
}

impl CodeAnswer {
    /// The answer as a page address carries it after a form posted without
    /// JavaScript (`/sign-in?code=…`).
    pub fn as_query(&self) -> String {
        match self {
            CodeAnswer::SignedIn => "signed-in".to_owned(),
            CodeAnswer::DidNotWork => "did-not-work".to_owned(),
            CodeAnswer::NotACode { digits } => format!("digits-{digits}"),
        }
    }

    /// The answer in `?code=`; `None` for anything else, "sent" included.
    pub fn from_query(query: &str) -> Option<Self> {
        match query {
            "signed-in" => Some(CodeAnswer::SignedIn),
            "did-not-work" => Some(CodeAnswer::DidNotWork),
            _ => query
                .strip_prefix("digits-")
                .and_then(|d| d.parse().ok())
                .map(|digits| CodeAnswer::NotACode { digits }),
        }
    }

    /// What the code form says about this answer; nothing once signed in.
    pub fn problem(&self) -> Option<String> {
        let t = crate::i18n::sign_in::texts();
        match self {
            CodeAnswer::SignedIn => None,
            CodeAnswer::DidNotWork => Some(t.code_did_not_work.to_owned()),
            CodeAnswer::NotACode { digits } => Some(crate::i18n::fill(
                t.enter_the_digits,
                &[("digits", &digits.to_string())],
            )),
        }
    }
}

/// Who is signed in, and the session's clock, for the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub person_kind: String,
    /// Seconds of inactivity after which the session ends.
    pub idle_timeout_secs: u64,
}

/// Looks a notification link up: nothing is spent or created, the view is audited.
#[server(endpoint = "link_landing")]
pub async fn link_landing(token: String) -> Result<LinkAnswer, ServerFnError> {
    session::link_landing(&token).await
}

/// "Email me a code" on a link's landing page. Posted without JavaScript, the
/// browser comes back to the page with `?code=sent`, which shows the code form.
#[server(endpoint = "request_code_for_link")]
pub async fn request_code_for_link(token: String) -> Result<(), ServerFnError> {
    session::request_code_for_link(&token).await?;
    session::after_plain_form_go_to(&format!("/open/{token}?code=sent"));
    Ok(())
}

/// "Email me a code" on the sign-in page: the same answer whether or not the
/// address is known.
#[server(endpoint = "request_code_by_email")]
pub async fn request_code_by_email(email: String) -> Result<(), ServerFnError> {
    session::request_code_by_email(&email).await?;
    session::after_plain_form_go_to("/sign-in?code=sent");
    Ok(())
}

/// Checks the typed code; on success the session id changes and the person is
/// signed in. Posted without JavaScript, the browser goes to the inbox, or back
/// to the code form with the problem in the address (no code in it).
#[server(endpoint = "submit_code")]
pub async fn submit_code(code: String) -> Result<CodeAnswer, ServerFnError> {
    let answer = session::submit_code(&code).await?;
    session::after_plain_form_go_to(&match &answer {
        CodeAnswer::SignedIn => "/inbox".to_owned(),
        problem => format!("/sign-in?code={}", problem.as_query()),
    });
    Ok(answer)
}

/// The signed-in person, if any (and the session's clock).
#[server(endpoint = "current_session")]
pub async fn current_session() -> Result<Option<SessionView>, ServerFnError> {
    session::current_session().await
}

/// "Stay signed in": any request made with the session extends it.
#[server(endpoint = "stay_signed_in")]
pub async fn stay_signed_in() -> Result<bool, ServerFnError> {
    Ok(session::current_session().await?.is_some())
}

/// Ends this session.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    session::sign_out(false).await?;
    session::after_plain_form_go_to("/signed-out");
    Ok(())
}

/// Ends every session of the signed-in person, on every device.
#[server(endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), ServerFnError> {
    session::sign_out(true).await?;
    session::after_plain_form_go_to("/signed-out");
    Ok(())
}

/// A passkey in its owner's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Starts adding a passkey for the signed-in person: the options for the browser.
#[server(endpoint = "passkey_add_start")]
pub async fn passkey_add_start() -> Result<String, ServerFnError> {
    session::passkey_add_start().await
}

/// Finishes adding a passkey with the browser's answer and the name the person gave it.
#[server(endpoint = "passkey_add_finish")]
pub async fn passkey_add_finish(
    answer: String,
    name: String,
) -> Result<PasskeyView, ServerFnError> {
    session::passkey_add_finish(&answer, &name).await
}

/// Starts signing in with a passkey: the options for the browser.
#[server(endpoint = "passkey_sign_in_start")]
pub async fn passkey_sign_in_start() -> Result<String, ServerFnError> {
    session::passkey_sign_in_start().await
}

/// Finishes signing in with a passkey; returns where to go next.
#[server(endpoint = "passkey_sign_in_finish")]
pub async fn passkey_sign_in_finish(answer: String) -> Result<String, ServerFnError> {
    session::passkey_sign_in_finish(&answer).await
}

/// The signed-in person's passkeys.
#[server(endpoint = "passkey_list")]
pub async fn passkey_list() -> Result<Vec<PasskeyView>, ServerFnError> {
    session::passkey_list().await
}

#[server(endpoint = "passkey_rename")]
pub async fn passkey_rename(id: String, name: String) -> Result<(), ServerFnError> {
    session::passkey_rename(&id, &name).await
}

#[server(endpoint = "passkey_remove")]
pub async fn passkey_remove(id: String) -> Result<(), ServerFnError> {
    session::passkey_remove(&id).await
}

/// The answer to a staff password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffPasswordAnswer {
    /// Right: now confirm with a passkey.
    ConfirmWithPasskey,
    /// Wrong address or password (the page does not say which).
    Refused,
    /// Too many failures lately: try again in a while.
    Throttled,
}

/// What the staff home shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffHomeView {
    pub organization_name: String,
    pub brand: Brand,
    pub role: String,
    /// Failed password attempts since the last sign-in, to tell the owner once.
    pub failures_since_last: u32,
    pub idle_timeout_secs: u64,
}

/// Whether an enrollment link still works (nothing is spent).
#[server(endpoint = "staff_enrollment_open")]
pub async fn staff_enrollment_open(token: String) -> Result<bool, ServerFnError> {
    session::staff_enrollment_open(&token).await
}

/// Sets the password from an enrollment link; a passkey is added next.
#[server(endpoint = "staff_enroll")]
pub async fn staff_enroll(token: String, password: String) -> Result<(), ServerFnError> {
    session::staff_enroll(&token, password).await
}

/// The password step of staff sign-in.
#[server(endpoint = "staff_password")]
pub async fn staff_password(
    email: String,
    password: String,
) -> Result<StaffPasswordAnswer, ServerFnError> {
    session::staff_password(&email, password).await
}

/// The signed-in staff member's home, or None when no staff member is signed in.
#[server(endpoint = "staff_home")]
pub async fn staff_home() -> Result<Option<StaffHomeView>, ServerFnError> {
    session::staff_home().await
}
