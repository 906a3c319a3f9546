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

    view! {
        <Title text="Welcome"/>
        <section
            class="home"
            class:large-text=large_text
            data-hydrated=move || if hydrated.get() { "true" } else { "false" }
        >
            <h1>"Your secure health messages"</h1>
            <p class="lead">
                "Portico is where your care team and your health plan send you messages "
                "and Explanation of Benefits statements. Everything is encrypted, and every view is recorded."
            </p>
            <h2>"How to read a message"</h2>
            <ol class="steps">
                <li>"Open the link in the notification email you received. The email itself never contains health information."</li>
                <li>"Prove it is you with a passkey, or with a one-time code we email you."</li>
                <li>"Read and reply. You can see who viewed your records, and when."</li>
            </ol>
            <button
                type="button"
                class="text-size"
                aria-pressed=move || if large_text.get() { "true" } else { "false" }
                on:click=move |_| set_large_text.update(|on| *on = !*on)
            >
                {move || if large_text.get() { "Standard text" } else { "Larger text" }}
            </button>
        </section>
    }
}
