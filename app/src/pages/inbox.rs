//! `/inbox`: the signed-in home. Messages and EOBs arrive with their issues;
//! for now it proves the session: who is signed in, the idle-timeout warning,
//! and signing out.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    passkeys::{PasskeyList, PasskeyManager},
    sign_in::{error_text, SignInPage},
    staff::StaffSignInPage,
};
use crate::{
    auth::{current_session, SignOut, SignOutEverywhere, StaySignedIn},
    i18n::{
        fill,
        messages::{texts, Texts, ENGLISH},
    },
};

#[component]
pub fn InboxPage() -> impl IntoView {
    let session = Resource::new(|| (), |_| current_session());
    // Made here, once: made inside the session's Suspense, it was made (and
    // the inbox read and audited) twice in each server render.
    let lines = Resource::new(|| (), |_| crate::messaging::inbox());
    let passkeys = PasskeyList::new();
    let t = texts();
    view! {
        <Title text=t.your_messages/>
        <Suspense fallback=move || view! { <p>{t.loading}</p> }>
            {move || session.get().map(|answer| match answer {
                Ok(Some(view)) => view! {
                    <SignedInArea idle_secs=view.idle_timeout_secs>
                        <section class="inbox">
                            <h1>{t.your_messages}</h1>
                            <ul class="inbox-links">
                                <li><a href="/statements">{t.statements_link}</a></li>
                                <li><a href="/access-history">{t.access_history_link}</a></li>
                            </ul>
                            <InboxList lines/>
                            <SignOutButtons/>
                        </section>
                        <PasskeyManager list=passkeys/>
                    </SignedInArea>
                }.into_any(),
                Ok(None) => view! { <PleaseSignIn/> }.into_any(),
                Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Every thread, across organizations, newest first.
#[component]
fn InboxList(
    lines: Resource<Result<Vec<crate::messaging::InboxLine>, ServerFnError>>,
) -> impl IntoView {
    let t = texts();
    view! {
        <Suspense fallback=move || view! { <p>{t.loading}</p> }>
            {move || lines.get().map(|answer| match answer {
                Ok(lines) if lines.is_empty() => view! {
                    <p>{t.no_messages_yet}</p>
                }.into_any(),
                Ok(lines) => view! {
                    <ul class="inbox-list">
                        {lines.into_iter().map(|l| view! {
                            <li class:unread=l.unread>
                                <a href=format!("/thread/{}", l.thread_id)>
                                    {l.subject.unwrap_or_else(|| t.withdrawn_message.to_owned())}
                                </a>
                                <span class="from">{format!(" · {} · {}", l.organization, l.mailbox)}</span>
                                {l.unread.then(|| view! { <span class="badge">{t.new_badge}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn PleaseSignIn() -> impl IntoView {
    let t = texts();
    view! {
        <section class="sign-in">
            <h1>{t.please_sign_in}</h1>
            <p>{t.open_after_sign_in}</p>
            <p><a class="button" href="/sign-in">{t.sign_in}</a></p>
        </section>
    }
}

#[component]
pub(crate) fn SignOutButtons() -> impl IntoView {
    // Staff pages are in English whatever the request asks for: `texts()` is
    // English there.
    let t = texts();
    let out = ServerAction::<SignOut>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    Effect::new(move |_| {
        if matches!(out.value().get(), Some(Ok(())))
            || matches!(everywhere.value().get(), Some(Ok(())))
        {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/signed-out", Default::default());
        }
    });
    view! {
        <div class="sign-out">
            <ActionForm action=out><button type="submit">{t.sign_out}</button></ActionForm>
            <ActionForm action=everywhere>
                <button type="submit" class="secondary">{t.sign_out_everywhere}</button>
            </ActionForm>
        </div>
    }
}

/// How long before the idle timeout the warning shows: two minutes, or half
/// the timeout when that is shorter.
fn warning_lead(idle_secs: u64) -> i64 {
    i64::try_from(idle_secs.min(240) / 2).unwrap_or(120)
}

/// Shows `children` while the session lives. Warns before the idle timeout
/// with a countdown and "Stay signed in"; at the timeout, removes the content
/// from the page and says why.
#[component]
pub(crate) fn SignedInArea(
    idle_secs: u64,
    /// Staff get the staff sign-in page when the time is up.
    #[prop(optional)]
    staff: bool,
    children: ChildrenFn,
) -> impl IntoView {
    // Staff read English; patients their page's language.
    let t: &'static Texts = if staff { &ENGLISH } else { texts() };
    let full = i64::try_from(idle_secs).unwrap_or(900);
    let (remaining, set_remaining) = signal(full);
    let (expired, set_expired) = signal(false);
    Effect::new(move |_| {
        // Browser only: effects do not run on the server.
        if let Ok(handle) = set_interval_with_handle(
            move || set_remaining.update(|r| *r -= 1),
            Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    // At the timeout the content goes at once, and the server is told to end
    // the session rather than left to notice on its own clock, which may run
    // a moment behind the page's. The notice shows once the server answered.
    let end = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if remaining.get() <= 0 && !expired.get_untracked() {
            set_expired.set(true);
            end.dispatch(SignOut {});
        }
    });
    let stay = ServerAction::<StaySignedIn>::new();
    Effect::new(move |_| match stay.value().get() {
        Some(Ok(true)) => set_remaining.set(full),
        Some(Ok(false)) => set_expired.set(true),
        _ => {}
    });
    // Ended on the server: it answered the sign-out, or said the session was gone.
    let ended =
        move || end.value().get().is_some() || matches!(stay.value().get(), Some(Ok(false)));
    let warn = move || !expired.get() && remaining.get() <= warning_lead(idle_secs);
    // A modal <dialog>: while it shows, focus starts on "Stay signed in", Tab
    // stays inside it and the page behind is inert; closed, focus goes back to
    // where it was.
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let show = warn();
        if let Some(d) = dialog.get() {
            if show && !d.open() {
                let _ = d.show_modal();
            } else if !show && d.open() {
                d.close();
            }
        }
    });
    let notice = fill(
        t.signed_out_for_inactivity,
        &[("duration", &inactivity_text(t, idle_secs))],
    );
    view! {
        <Show
            when=move || !expired.get()
            fallback=move || {
                let notice = notice.clone();
                view! {
                    <Show when=ended>
                        <p class="notice" role="status">{notice.clone()}</p>
                    </Show>
                    {if staff { view! { <StaffSignInPage/> }.into_any() } else { view! { <SignInPage/> }.into_any() }}
                }
            }
        >
            {children()}
        </Show>
        <dialog node_ref=dialog class="timeout-dialog" role="alertdialog"
            aria-labelledby="timeout-title" aria-describedby="timeout-text"
            on:cancel=move |ev: leptos::ev::Event| {
                // Escape: whoever pressed it is there, so it means "stay".
                ev.prevent_default();
                stay.dispatch(StaySignedIn {});
            }>
            <h2 id="timeout-title">{t.still_there}</h2>
            <p id="timeout-text" aria-live="polite">
                {move || fill(t.signing_out_in, &[("duration", &seconds_text(t, remaining.get().max(0) as u64))])}
            </p>
            <ActionForm action=stay>
                <button type="submit" autofocus=true>{t.stay_signed_in}</button>
            </ActionForm>
        </dialog>
    }
}

/// "15 minutes", "1 minute", or "20 seconds" for timeouts that are not whole
/// minutes, in `t`'s language.
fn inactivity_text(t: &Texts, idle_secs: u64) -> String {
    match (idle_secs / 60, idle_secs % 60) {
        (1, 0) => t.one_minute.to_owned(),
        (m, 0) if m > 0 => fill(t.minutes, &[("count", &m.to_string())]),
        _ => seconds_text(t, idle_secs),
    }
}

/// "1 second" or "20 seconds", in `t`'s language.
fn seconds_text(t: &Texts, seconds: u64) -> String {
    match seconds {
        1 => t.one_second.to_owned(),
        n => fill(t.seconds, &[("count", &n.to_string())]),
    }
}

#[cfg(test)]
mod tests {
    use crate::i18n::messages::{ENGLISH, SPANISH};

    #[test]
    fn the_warning_comes_two_minutes_early_or_halfway_for_short_timeouts() {
        assert_eq!(super::warning_lead(900), 120);
        assert_eq!(super::warning_lead(240), 120);
        assert_eq!(super::warning_lead(60), 30);
        assert_eq!(super::warning_lead(20), 10);
        assert_eq!(super::inactivity_text(&ENGLISH, 900), "15 minutes");
        assert_eq!(super::inactivity_text(&ENGLISH, 60), "1 minute");
        assert_eq!(super::inactivity_text(&ENGLISH, 20), "20 seconds");
    }

    #[test]
    fn the_countdown_says_one_second_not_one_seconds() {
        assert_eq!(super::seconds_text(&ENGLISH, 1), "1 second");
        assert_eq!(super::seconds_text(&ENGLISH, 0), "0 seconds");
        assert_eq!(super::seconds_text(&ENGLISH, 2), "2 seconds");
        assert_eq!(super::seconds_text(&SPANISH, 1), "1 segundo");
        assert_eq!(super::seconds_text(&SPANISH, 30), "30 segundos");
    }

    #[test]
    fn the_inactivity_is_told_in_spanish_too() {
        assert_eq!(super::inactivity_text(&SPANISH, 900), "15 minutos");
        assert_eq!(super::inactivity_text(&SPANISH, 60), "1 minuto");
        assert_eq!(super::inactivity_text(&SPANISH, 20), "20 segundos");
    }
}
