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
use crate::{
    auth::{link_landing, LinkAnswer, RequestCodeForLink},
    i18n::fill,
};

#[component]
pub fn OpenLinkPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let landing = Resource::new(token, link_landing);
    let t = crate::i18n::sign_in::texts();
    view! {
        <Title text=t.your_secure_message/>
        <section class="open-link">
            <Suspense fallback=move || view! { <p>{t.loading}</p> }>
                {move || landing.get().map(|answer| match answer {
                    Ok(LinkAnswer::Valid { organization_name, has_passkey, statements, brand }) => view! {
                        <OrgBrand brand/>
                        <ValidLink organization_name has_passkey statements token=token()/>
                    }.into_any(),
                    Ok(LinkAnswer::Expired) => view! {
                        <h1>{t.link_expired_title}</h1>
                        <p>{t.link_expired_body}</p>
                        <p><a class="button" href="/sign-in">{t.sign_in}</a></p>
                    }.into_any(),
                    Ok(LinkAnswer::Unknown | LinkAnswer::Malformed) => view! {
                        <h1>{t.link_broken_title}</h1>
                        <p>{t.link_broken_body}</p>
                        <p><a class="button" href="/sign-in">{t.sign_in}</a></p>
                    }.into_any(),
                    Err(e) => view! {
                        <h1>{t.something_went_wrong}</h1>
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
    let t = crate::i18n::sign_in::texts();
    let (heading, prove) = if statements {
        (t.new_statements_from, t.prove_it_is_you_statements)
    } else {
        (t.sent_you_a_secure_message, t.prove_it_is_you_message)
    };
    view! {
        <h1>{fill(heading, &[("organization", &organization_name)])}</h1>
        <p>{prove}</p>
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
                        <button type="submit">{t.email_me_a_code}</button>
                    </ActionForm>
                }
            }
        >
            <p class="notice" role="status">{t.code_on_its_way}</p>
            <CodeForm/>
        </Show>
    }
}
