//! `/staff/admin/branding`: the name patients see, an accent colour and a
//! logo, shown on the organization's pages. The form posts `multipart/form-data`
//! to the server, without JavaScript too; hydrated, it is sent with `fetch`
//! and a refusal is shown beside it, nothing typed lost.

use leptos::prelude::*;
use leptos_meta::Title;

use super::sign_in::error_text;
use crate::{admin::branding_settings, messaging::forms::post_form};

#[component]
pub fn AdminBrandingPage() -> impl IntoView {
    let saved = RwSignal::new(0u32);
    let page = Resource::new(move || saved.get(), |_| branding_settings());
    let problem = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        leptos::task::spawn_local(async move {
            match post_form("branding-form").await {
                Ok(_) => saved.update(|n| *n += 1),
                Err(e) => problem.set(Some(e)),
            }
        });
    };
    view! {
        <Title text="Branding"/>
        <section class="admin">
            <h1>"Branding"</h1>
            <p><a href="/staff/admin">"Back to administration"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(b) => view! {
                        {b.has_logo.then(|| view! {
                            <p><img class="org-logo" src=format!("/brand/{}/logo?v={}", b.organization_id, saved.get_untracked())
                                alt=format!("{} logo", b.display_name)/></p>
                        })}
                        <form id="branding-form" class="stack" method="post" enctype="multipart/form-data"
                            action="/staff/admin/branding" on:submit=on_submit>
                            <label for="brand-name">"Name, as patients see it in the portal and in emails"</label>
                            <input id="brand-name" name="display_name" required maxlength="100" value=b.display_name/>
                            <label for="brand-colour">"Accent colour (such as #0b5cad; empty for Portico's own). White text must be readable on it."</label>
                            <input id="brand-colour" name="colour" value=b.colour/>
                            <label for="brand-logo">"Logo (PNG or JPEG, up to 200 KB)"</label>
                            <input id="brand-logo" type="file" name="logo" accept="image/png,image/jpeg"/>
                            {b.has_logo.then(|| view! {
                                <label><input type="checkbox" name="remove_logo" value="yes"/>" Remove the logo"</label>
                            })}
                            <p class="problem" role="alert">{move || problem.get()}</p>
                            <button type="submit">"Save branding"</button>
                        </form>
                        {move || (saved.get() > 0).then(|| view! { <p class="notice" role="status">"Branding saved."</p> })}
                    }.into_any(),
                    Err(e) => view! {
                        <h2>"You cannot open this"</h2>
                        <p role="alert">{error_text(&e)}</p>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
