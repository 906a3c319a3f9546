//! `/open/{token}`: where a notification email's link lands. It names who wrote
//! and offers to email a code; it spends and grants nothing by itself.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{
    brand::OrgBrand,
    passkeys::PasskeySignIn,
    sign_in::{code_in_address, error_text, CodeForm},
};
use crate::auth::{link_landing, LinkAnswer, RequestCodeForLink};

#[component]
pub fn OpenLinkPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let landing = Resource::new(token, link_landing);
    view! {
        <Title text="Your secure message"/>
        <section class="open-link">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || landing.get().map(|answer| match answer {
                    Ok(LinkAnswer::Valid { organization_name, has_passkey, statements, brand }) => view! {
                        <OrgBrand brand name=organization_name.clone()/>
                        <ValidLink organization_name has_passkey statements token=token()/>
                    }.into_any(),
                    Ok(LinkAnswer::Expired) => view! {
                        <h1>"This link has expired"</h1>
                        <p>"Links in our emails work for 30 days. What we sent is still here: sign in to read it."</p>
                        <p><a class="button" href="/sign-in">"Sign in"</a></p>
                    }.into_any(),
                    Ok(LinkAnswer::Unknown | LinkAnswer::Malformed) => view! {
                        <h1>"This link does not work"</h1>
                        <p>"It may have been cut short or mistyped. Open it again from the email, or sign in with your email address."</p>
                        <p><a class="button" href="/sign-in">"Sign in"</a></p>
                    }.into_any(),
                    Err(e) => view! {
                        <h1>"Something went wrong"</h1>
                        <p role="alert">{error_text(&e)}</p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ValidLink(
    organization_name: String,
    has_passkey: bool,
    statements: bool,
    token: String,
) -> impl IntoView {
    let request = ServerAction::<RequestCodeForLink>::new();
    // Asked for by a form posted without JavaScript, the browser comes back with `?code=sent`.
    let asked_before = code_in_address();
    let sent = move || asked_before || matches!(request.value().get(), Some(Ok(())));
    let problem = move || match request.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <h1>{if statements {
            format!("You have new statements from {organization_name}")
        } else {
            format!("{organization_name} sent you a secure message")
        }}</h1>
        <p>{if statements {
            "To read them, prove it is you: with your passkey, or with a one-time code we email you."
        } else {
            "To read it, prove it is you: with your passkey, or with a one-time code we email you."
        }}</p>
        <Show when=move || has_passkey>
            <PasskeySignIn/>
        </Show>
        <Show
            when=sent
            fallback=move || {
                let token = token.clone();
                view! {
                    <ActionForm action=request attr:class="stack">
                        <input type="hidden" name="token" value=token/>
                        <p class="problem" role="alert">{problem}</p>
                        <button type="submit">"Email me a code"</button>
                    </ActionForm>
                }
            }
        >
            <p class="notice" role="status">"A code is on its way to your email. It works once, for 10 minutes."</p>
            <CodeForm/>
        </Show>
    }
}
