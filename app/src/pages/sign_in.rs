//! Signing in with a one-time code: type an email address, then the code.

use leptos::prelude::*;
use leptos_meta::Title;

use super::passkeys::PasskeySignIn;
use leptos_router::hooks::use_query_map;

use crate::auth::{CodeAnswer, RequestCodeByEmail, SubmitCode};

/// `/sign-in`: the address, then the code. The answer to the address is the
/// same whether or not it is known.
#[component]
pub fn SignInPage() -> impl IntoView {
    let request = ServerAction::<RequestCodeByEmail>::new();
    let asked = move || matches!(request.value().get(), Some(Ok(()))) || code_in_address();
    let problem = move || match request.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    let t = crate::i18n::sign_in::texts();
    view! {
        <Title text=t.sign_in/>
        <section class="sign-in">
            <h1>{t.sign_in}</h1>
            <Show
                when=asked
                fallback=move || view! {
                    <PasskeySignIn/>
                    <p>{t.or_email_a_code}</p>
                    <ActionForm action=request attr:class="stack">
                        <label for="email">{t.your_email_address}</label>
                        <input id="email" name="email" type="email" autocomplete="email" required
                            aria-describedby="email-problem"/>
                        <p id="email-problem" class="problem" role="alert">{problem}</p>
                        <button type="submit">{t.email_me_a_code}</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">
                    {t.code_on_its_way_if_known}
                </p>
                <CodeForm/>
            </Show>
        </section>
    }
}

/// True when the address says a code was sent (`?code=…`): a form posted
/// without JavaScript comes back so, after asking for a code or typing one.
pub fn code_in_address() -> bool {
    use_query_map().read().get("code").is_some()
}

/// Typing the emailed code. On success the browser goes to the inbox.
#[component]
pub fn CodeForm() -> impl IntoView {
    let submit = ServerAction::<SubmitCode>::new();
    Effect::new(move |_| {
        if let Some(Ok(CodeAnswer::SignedIn)) = submit.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/inbox", Default::default());
        }
    });
    // Without JavaScript the answer comes back in the address (`?code=`).
    let query = use_query_map();
    let answer = move || match submit.value().get() {
        Some(Ok(answer)) => answer.problem(),
        Some(Err(e)) => Some(error_text(&e)),
        None => query
            .read()
            .get("code")
            .and_then(|q| CodeAnswer::from_query(&q))
            .and_then(|a| a.problem()),
    };
    let t = crate::i18n::sign_in::texts();
    view! {
        <ActionForm action=submit attr:class="stack">
            <label for="code">{t.code_from_the_email}</label>
            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required
                aria-describedby="code-problem"/>
            <p id="code-problem" class="problem" role="alert">{answer}</p>
            <button type="submit">{t.sign_in}</button>
        </ActionForm>
    }
}

/// The text of a server function's error, without the framework's prefix.
pub fn error_text(error: &ServerFnError) -> String {
    error_text_in(crate::i18n::sign_in::texts(), error)
}

/// As [`error_text`], in the language of `t`: for code that runs outside the
/// component tree (in `spawn_local`), where the page's language cannot be read.
pub fn error_text_in(t: &crate::i18n::sign_in::Texts, error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        _ => t.portal_unreachable.to_owned(),
    }
}
