//! Where signing out lands.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignedOutPage() -> impl IntoView {
    let t = crate::i18n::common::texts();
    view! {
        <Title text=t.signed_out_title/>
        <section class="sign-in">
            <h1>{t.signed_out_heading}</h1>
            <p>{t.signed_out_shared}</p>
            <p><a class="button" href="/sign-in">{t.sign_in_again}</a></p>
        </section>
    }
}
