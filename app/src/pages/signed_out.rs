//! Where signing out lands.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SignedOutPage() -> impl IntoView {
    view! {
        <Title text="Signed out"/>
        <section class="sign-in">
            <h1>"You are signed out"</h1>
            <p>"Close this window if you are on a shared computer."</p>
            <p><a class="button" href="/sign-in">"Sign in again"</a></p>
        </section>
    }
}
