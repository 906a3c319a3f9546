//! `/thread/{id}`: a thread as its patient or its mailbox's staff see it, with
//! a reply box. Bodies are shown as text, never as HTML.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::sign_in::error_text;
use crate::messaging::{thread, Reply, Shown};

#[component]
pub fn ThreadPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let reply = ServerAction::<Reply>::new();
    let page = Resource::new(move || (id(), reply.version().get()), |(id, _)| thread(id));
    view! {
        <Title text="Secure message"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(t) => view! {
                    <section class="thread">
                        <p class="from">{format!("{} · {}", t.organization, t.mailbox)}</p>
                        <h1>{t.subject.clone().unwrap_or_else(|| "Withdrawn message".to_owned())}</h1>
                        <ol class="messages">
                            {t.messages.into_iter().map(|m| view! {
                                <li class="message" data-from=if m.from_patient { "patient" } else { "organization" }>
                                    {match m.shown {
                                        Shown::Text(text) => view! { <p class="body">{text}</p> }.into_any(),
                                        Shown::Withdrawn { by } => view! {
                                            <p class="withdrawn">{format!("This message was withdrawn by {by}.")}</p>
                                        }.into_any(),
                                        Shown::Erased => view! {
                                            <p class="withdrawn">"This content was erased at your request."</p>
                                        }.into_any(),
                                    }}
                                </li>
                            }).collect_view()}
                        </ol>
                        <ActionForm action=reply attr:class="stack">
                            <input type="hidden" name="thread_id" value=id()/>
                            <label for="reply">"Your reply"</label>
                            <textarea id="reply" name="body" rows="4" required></textarea>
                            <button type="submit">"Send reply"</button>
                        </ActionForm>
                    </section>
                }.into_any(),
                Err(e) => view! {
                    <section class="sign-in">
                        <h1>"You cannot open this"</h1>
                        <p role="alert">{error_text(&e)}</p>
                    </section>
                }.into_any(),
            })}
        </Suspense>
    }
}
