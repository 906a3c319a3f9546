//! `/thread/{id}`: a thread as its patient or its mailbox's staff see it, with
//! its files, read receipts (for staff) and a reply box that takes files.
//! Bodies are shown as text with links, never as HTML.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::sign_in::error_text;
use crate::{
    i18n::{
        fill,
        messages::{texts, Texts, ENGLISH},
    },
    messaging::{
        forms::post_form_in, text::BodyText, thread, FileLine, MessageLine, Shown, Withdraw,
    },
};

/// What file inputs accept (the server checks the content itself).
pub const ACCEPTED_FILES: &str =
    ".pdf,.png,.jpg,.jpeg,.txt,application/pdf,image/png,image/jpeg,text/plain";

#[component]
pub fn ThreadPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let sent = RwSignal::new(0u32);
    let page = Resource::new(move || (id(), sent.get()), |(id, _)| thread(id));
    let t = texts();
    view! {
        <Title text=t.secure_message/>
        <Suspense fallback=move || view! { <p>{t.loading}</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(th) => {
                    // Staff read the thread in English.
                    let t: &'static Texts = if th.staff { &ENGLISH } else { t };
                    view! {
                        <section class="thread">
                            <p class="from">{format!("{} · {}", th.organization, th.mailbox)}</p>
                            <h1>{th.subject.clone().unwrap_or_else(|| t.withdrawn_message.to_owned())}</h1>
                            <ol class="messages">
                                {th.messages.into_iter().map(|m| message(t, m, sent)).collect_view()}
                            </ol>
                            <ReplyForm t=t thread_id=id() sent=sent/>
                        </section>
                    }.into_any()
                }
                Err(e) => view! {
                    <section class="sign-in">
                        <h1>{t.cannot_open}</h1>
                        <p role="alert">{error_text(&e)}</p>
                    </section>
                }.into_any(),
            })}
        </Suspense>
    }
}

fn message(t: &'static Texts, m: MessageLine, sent: RwSignal<u32>) -> impl IntoView {
    let withdraw = ServerAction::<Withdraw>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = withdraw.value().get() {
            sent.update(|n| *n += 1);
        }
    });
    let id = m.id.clone();
    let from = if m.from_patient {
        "patient"
    } else {
        "organization"
    };
    view! {
        <li class="message" data-from=from>
            <p class="sent">{m.sent}</p>
            {match m.shown {
                Shown::Text(text) => view! { <BodyText text=text/> }.into_any(),
                Shown::Withdrawn { by, on } => view! {
                    <p class="withdrawn">{fill(t.withdrawn_by_on, &[("by", &by), ("on", &on)])}</p>
                }.into_any(),
                Shown::Erased => view! {
                    <p class="withdrawn">{t.erased_at_your_request}</p>
                }.into_any(),
            }}
            <Show when={let any = !m.files.is_empty(); move || any}>
                <ul class="files" aria-label=t.attached_files>
                    {m.files.clone().into_iter().map(file).collect_view()}
                </ul>
            </Show>
            {m.receipt.map(|r| view! { <p class="receipt">{r}</p> })}
            {m.withdrawn.map(|w| view! { <p class="receipt">{w}</p> })}
            // Only staff may withdraw: in English.
            <Show when=move || m.may_withdraw>
                <button type="button" class="secondary"
                    on:click={let id = id.clone(); move |_| { withdraw.dispatch(Withdraw { message_id: id.clone() }); }}>
                    "Withdraw this message"
                </button>
            </Show>
        </li>
    }
}

fn file(f: FileLine) -> impl IntoView {
    view! {
        <li>
            <a href=format!("/attachments/{}", f.id) download="">{f.name}</a>
            {format!(" ({}, {})", f.kind, f.size)}
        </li>
    }
}

#[component]
fn ReplyForm(t: &'static Texts, thread_id: String, sent: RwSignal<u32>) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sending.set(true);
        problem.set(None);
        leptos::task::spawn_local(async move {
            match post_form_in("reply-form", t).await {
                Ok(_) => sent.update(|n| *n += 1),
                Err(e) => problem.set(Some(e)),
            }
            sending.set(false);
        });
    };
    view! {
        <form id="reply-form" class="stack" method="post" enctype="multipart/form-data"
            action=format!("/thread/{thread_id}/reply") on:submit=on_submit>
            <label for="reply">{t.your_reply}</label>
            <textarea id="reply" name="body" rows="4" required></textarea>
            <label for="reply-files">{t.attach_files}</label>
            <input id="reply-files" type="file" name="file" multiple accept=ACCEPTED_FILES/>
            <p class="problem" role="alert">{move || problem.get()}</p>
            <button type="submit" disabled=move || sending.get()>{t.send_reply}</button>
        </form>
    }
}
