//! The landing page: what Portico is and how to reach your messages.

use leptos::prelude::*;
use leptos_meta::Title;

/// The first page a person sees. Its "Larger text" control works only once the
/// browser has hydrated the page, and `data-hydrated` says when that has happened.
#[component]
pub fn HomePage() -> impl IntoView {
    let (hydrated, set_hydrated) = signal(false);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| set_hydrated.set(true));
    let (large_text, set_large_text) = signal(false);
    let t = crate::i18n::common::texts();

    view! {
        <Title text=t.home_title/>
        <section
            class="home"
            class:large-text=large_text
            data-hydrated=move || if hydrated.get() { "true" } else { "false" }
        >
            <h1>{t.home_heading}</h1>
            <p class="lead">{t.home_lead}</p>
            <h2>{t.home_how}</h2>
            <ol class="steps">
                <li>{t.home_step_link}</li>
                <li>{t.home_step_prove}</li>
                <li>{t.home_step_read}</li>
            </ol>
            <button
                type="button"
                class="text-size"
                aria-pressed=move || if large_text.get() { "true" } else { "false" }
                on:click=move |_| set_large_text.update(|on| *on = !*on)
            >
                {move || if large_text.get() { t.standard_text } else { t.larger_text }}
            </button>
        </section>
    }
}
