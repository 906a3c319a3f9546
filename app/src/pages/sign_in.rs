//! Signing in with a one-time code: type an email address, then the code.

use leptos::prelude::*;
use leptos_meta::Title;

use super::passkeys::PasskeySignIn;
use crate::auth::{CodeAnswer, RequestCodeByEmail, SubmitCode};

/// `/sign-in`: the address, then the code. The answer to the address is the
/// same whether or not it is known.
#[component]
pub fn SignInPage() -> impl IntoView {
    let request = ServerAction::<RequestCodeByEmail>::new();
    let asked = move || matches!(request.value().get(), Some(Ok(())));
    let problem = move || match request.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <Title text="Sign in"/>
        <section class="sign-in">
            <h1>"Sign in"</h1>
            <Show
                when=asked
                fallback=move || view! {
                    <PasskeySignIn/>
                    <p>"Or we email you a one-time code. The email never contains health information."</p>
                    <ActionForm action=request attr:class="stack">
                        <label for="email">"Your email address"</label>
                        <input id="email" name="email" type="email" autocomplete="email" required
                            aria-describedby="email-problem"/>
                        <p id="email-problem" class="problem" role="alert">{problem}</p>
                        <button type="submit">"Email me a code"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">
                    "If that address has messages with us, a code is on its way. It works once, for 10 minutes."
                </p>
                <CodeForm/>
            </Show>
        </section>
    }
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
    let answer = move || match submit.value().get() {
        Some(Ok(CodeAnswer::DidNotWork)) => Some(
            "That code did not work. Check the newest email, or ask for a new code.".to_owned(),
        ),
        Some(Ok(CodeAnswer::NotACode { digits })) => {
            Some(format!("Enter the {digits} digits from the email."))
        }
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <ActionForm action=submit attr:class="stack">
            <label for="code">"The code from the email"</label>
            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required
                aria-describedby="code-problem"/>
            <p id="code-problem" class="problem" role="alert">{answer}</p>
            <button type="submit">"Sign in"</button>
        </ActionForm>
    }
}

/// The text of a server function's error, without the framework's prefix.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        _ => "The portal could not be reached. Check your connection and try again.".to_owned(),
    }
}
