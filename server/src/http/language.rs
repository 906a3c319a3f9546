//! `POST /language` (form: `lang`, `back`): the language switch in the page
//! header. It works without JavaScript: it sets the `portico_lang` cookie for a
//! year, keeps the choice with a signed-in patient's identity so later emails
//! use it, and sends the browser back to the page it was on.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Redirect, Response},
    Form,
};
use portico_core::{language::Language, messages::Reader, Error};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    messages::{Caller, Refusal},
    AppState,
};

#[derive(Deserialize)]
pub struct Choice {
    lang: String,
    #[serde(default)]
    back: String,
}

pub async fn choose(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(choice): Form<Choice>,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let Some(language) = Language::from_code(&choice.lang) else {
        let problem = "must be \"en\" or \"es\"".to_owned();
        return Err(Refusal::of(
            Error::Invalid {
                field: "lang",
                problem,
            },
            c.json,
        ));
    };
    // Anyone may switch; only a signed-in patient's choice is kept for emails.
    if let Ok(Reader::Patient(identity_id)) = c.reader(&session).await {
        portico_core::language::remember(&state.store, &identity_id, language)
            .await
            .map_err(|e| Refusal::of(e, c.json))?;
    }
    let secure = if state.settings.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}",
        Language::COOKIE,
        language.code()
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to(local_path(&choice.back)),
    )
        .into_response())
}

/// `back` if it is a path on this site, else the home page: the switch must not
/// send anyone elsewhere.
fn local_path(back: &str) -> &str {
    let local = back.starts_with('/')
        && !back.starts_with("//")
        && !back.starts_with("/\\")
        && !back.chars().any(char::is_control);
    if local {
        back
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn the_switch_returns_only_to_pages_of_this_site() {
        assert_eq!(local_path("/inbox"), "/inbox");
        assert_eq!(local_path("/sign-in?code=sent"), "/sign-in?code=sent");
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/inbox\r\nSet-Cookie: x=1",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(elsewhere), "/", "{elsewhere:?}");
        }
    }
}
