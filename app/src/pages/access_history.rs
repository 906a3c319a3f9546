//! `/access-history`: who opened the patient's messages and statements, and
//! everything else done to them, newest first; older entries a page at a time
//! (`?before=`), through plain links that work without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::sign_in::error_text;
use crate::{
    access_history::{access_history, HistoryLine},
    i18n::records::texts,
};

#[component]
pub fn AccessHistoryPage() -> impl IntoView {
    let query = use_query_map();
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let page = Resource::new(before, access_history);
    let t = texts();
    view! {
        <Title text=t.access_history/>
        <section class="access-history">
            <h1>{t.access_history}</h1>
            <p>{t.access_history_intro}</p>
            <Suspense fallback=move || view! { <p>{t.loading}</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(page) => view! {
                        <ol class="history-list">
                            {page.lines.into_iter().map(entry).collect_view()}
                        </ol>
                        {page.older.map(|older| view! {
                            <p><a href=format!("/access-history?before={older}")>{t.older_entries}</a></p>
                        })}
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
            <p><a href="/inbox">{t.back_to_messages}</a></p>
        </section>
    }
}

fn entry(line: HistoryLine) -> impl IntoView {
    let refused = line.outcome.is_some();
    view! {
        <li class="history-entry" class:refused=refused>
            <span class="history-when">{line.when}</span>
            <span class="history-what">
                <strong>{line.who}</strong>" "{line.what}
                {line.outcome.map(|o| view! { <span class="badge">{format!(" {o}")}</span> })}
            </span>
            {line.item.map(|(href, text)| view! { <a href=href>{text}</a> })}
        </li>
    }
}
