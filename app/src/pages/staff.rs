//! Staff: enrolling from the link an admin sent (a password, then a passkey),
//! signing in (a password then a passkey, or a passkey alone), and the home
//! that tells them of failed attempts since their last sign-in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::{
    brand::OrgBrand,
    inbox::{SignOutButtons, SignedInArea},
    passkeys::{PasskeyList, PasskeyManager, PasskeySignIn},
    sign_in::error_text,
};
use crate::auth::{
    staff_enrollment_open, staff_home, StaffEnroll, StaffPassword, StaffPasswordAnswer,
};

/// `/enroll/{token}`: choose a password, then add the passkey staff need.
#[component]
pub fn EnrollPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let open = Resource::new(token, staff_enrollment_open);
    let enroll = ServerAction::<StaffEnroll>::new();
    let enrolled = move || matches!(enroll.value().get(), Some(Ok(())));
    let problem = move || match enroll.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <Title text="Set up your account"/>
        <section class="sign-in">
            <h1>"Set up your Portico account"</h1>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || open.get().map(|answer| match answer {
                    Ok(true) => view! {
                        <Show when=enrolled fallback=move || view! {
                            <ActionForm action=enroll attr:class="stack">
                                <input type="hidden" name="token" value=token()/>
                                <label for="password">"Choose a password (at least 12 characters; a few words work well)"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password"
                                    minlength="12" required aria-describedby="password-problem"/>
                                <p id="password-problem" class="problem" role="alert">{problem}</p>
                                <button type="submit">"Set password"</button>
                            </ActionForm>
                        }>
                            <p class="notice" role="status">"Password set. Now add a passkey: staff sign in with one."</p>
                            <EnrollPasskey/>
                        </Show>
                    }.into_any(),
                    Ok(false) => view! {
                        <p>"This link is used, expired or unknown. Ask your organization's admin for a new one."</p>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Adds the first passkey; once added, the person is signed in.
#[component]
fn EnrollPasskey() -> impl IntoView {
    let navigate = use_navigate();
    // Once the passkey is added the server has signed the person in.
    let done = Callback::new(move |()| navigate("/staff", Default::default()));
    view! { <PasskeyManager on_added=done/> }
}

/// `/staff/sign-in`.
#[component]
pub fn StaffSignInPage() -> impl IntoView {
    let password = ServerAction::<StaffPassword>::new();
    let answer = move || match password.value().get() {
        Some(Ok(StaffPasswordAnswer::Refused)) => {
            Some("That address and password do not match an account.".to_owned())
        }
        Some(Ok(StaffPasswordAnswer::Throttled)) => Some(
            "Too many failed attempts. Wait 15 minutes, or sign in with your passkey.".to_owned(),
        ),
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    let confirm = move || {
        matches!(
            password.value().get(),
            Some(Ok(StaffPasswordAnswer::ConfirmWithPasskey))
        )
    };
    view! {
        <Title text="Staff sign in"/>
        <section class="sign-in">
            <h1>"Staff sign in"</h1>
            <Show when=confirm fallback=move || view! {
                <PasskeySignIn/>
                <p>"Or your email address and password, then your passkey:"</p>
                <ActionForm action=password attr:class="stack">
                    <label for="staff-email">"Work email address"</label>
                    <input id="staff-email" name="email" type="email" autocomplete="username" required/>
                    <label for="staff-password">"Password"</label>
                    <input id="staff-password" name="password" type="password" autocomplete="current-password" required
                        aria-describedby="staff-problem"/>
                    <p id="staff-problem" class="problem" role="alert">{answer}</p>
                    <button type="submit">"Continue"</button>
                </ActionForm>
            }>
                <p class="notice" role="status">"Password accepted. Confirm with your passkey."</p>
                <PasskeySignIn/>
            </Show>
        </section>
    }
}

/// `/staff`: the signed-in staff member's home.
#[component]
pub fn StaffHomePage() -> impl IntoView {
    let home = Resource::new(|| (), |_| staff_home());
    let passkeys = PasskeyList::new();
    view! {
        <Title text="Staff"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || home.get().map(|answer| match answer {
                Ok(Some(home)) => {
                    let failures = home.failures_since_last;
                    let admin = home.role == "admin";
                    view! {
                        <SignedInArea idle_secs=home.idle_timeout_secs staff=true>
                            <section class="inbox">
                                <OrgBrand brand=home.brand.clone()/>
                                <h1>{format!("{} · {}", home.organization_name, home.role)}</h1>
                                <Show when=move || { failures > 0 }>
                                    <p class="notice" role="alert">
                                        {format!("There were {failures} failed sign-in attempts on your account since you last signed in. If that was not you, tell your admin.")}
                                    </p>
                                </Show>
                                {admin.then(|| view! { <p><a href="/staff/admin">"Administration: staff and roles"</a></p> })}
                                <MyMailboxes/>
                                <Compose/>
                                <SignOutButtons/>
                            </section>
                            <PasskeyManager list=passkeys/>
                        </SignedInArea>
                    }.into_any()
                }
                Ok(None) => view! {
                    <section class="sign-in">
                        <h1>"Please sign in"</h1>
                        <p><a class="button" href="/staff/sign-in">"Staff sign in"</a></p>
                    </section>
                }.into_any(),
                Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// The mailboxes the role allows, each with its unread threads.
#[component]
fn MyMailboxes() -> impl IntoView {
    let boxes = Resource::new(|| (), |_| crate::messaging::my_mailboxes());
    view! {
        <section class="mailboxes" aria-labelledby="mailboxes-title">
            <h2 id="mailboxes-title">"Your mailboxes"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || boxes.get().map(|answer| match answer {
                    Ok(boxes) => view! {
                        <ul>
                            {boxes.into_iter().map(|b| view! {
                                <li>
                                    <a href=format!("/staff/mailbox/{}", b.id)>{b.name}</a>
                                    {format!(" · {} unread", b.unread_threads)}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// `/staff/mailbox/{id}`: a mailbox's threads, newest first, with unread counts.
#[component]
pub fn MailboxPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let page = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        crate::messaging::mailbox,
    );
    view! {
        <Title text="Mailbox"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(m) => view! {
                    <section class="inbox">
                        <h1>{m.name}</h1>
                        <ul class="threads">
                            {m.threads.into_iter().map(|t| view! {
                                <li class:unread={t.unread > 0}>
                                    <a href=format!("/thread/{}", t.thread_id)>
                                        {t.subject.unwrap_or_else(|| "(erased)".to_owned())}
                                    </a>
                                    {format!(" · {} · {} unread", t.last_message, t.unread)}
                                </li>
                            }).collect_view()}
                        </ul>
                        <p><a href="/staff">"Back to your mailboxes"</a></p>
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

/// Writing to a patient by email address, from a mailbox the role allows, with
/// files and an optional expiry.
#[component]
fn Compose() -> impl IntoView {
    let boxes = Resource::new(|| (), |_| crate::messaging::my_mailboxes());
    let problem = RwSignal::new(None::<String>);
    let sending = RwSignal::new(false);
    let navigate = use_navigate();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sending.set(true);
        problem.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match crate::messaging::forms::post_form("compose-form").await {
                Ok(thread_id) => navigate(&format!("/thread/{thread_id}"), Default::default()),
                Err(e) => problem.set(Some(e)),
            }
            sending.set(false);
        });
    };
    view! {
        <section class="compose" aria-labelledby="compose-title">
            <h2 id="compose-title">"Write to a patient"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || boxes.get().map(|answer| match answer {
                    Ok(boxes) => view! {
                        <form id="compose-form" class="stack" method="post" action="/messages"
                            enctype="multipart/form-data" on:submit=on_submit.clone()>
                            <label for="compose-mailbox">"From"</label>
                            <select id="compose-mailbox" name="mailbox_id">
                                {boxes.into_iter().map(|b| view! { <option value=b.id>{b.name}</option> }).collect_view()}
                            </select>
                            <label for="compose-email">"Patient's email address"</label>
                            <input id="compose-email" name="email" type="email" required/>
                            <label for="compose-subject">"Subject"</label>
                            <input id="compose-subject" name="subject" maxlength="200" required/>
                            <label for="compose-body">"Message"</label>
                            <textarea id="compose-body" name="body" rows="6" required></textarea>
                            <label for="compose-expiry">"Withdraw it automatically"</label>
                            <select id="compose-expiry" name="expires_in_days">
                                <option value="">"Never"</option>
                                <option value="1">"After 1 day"</option>
                                <option value="7">"After 7 days"</option>
                                <option value="30">"After 30 days"</option>
                            </select>
                            <label for="compose-files">"Attach files (PDF, PNG, JPEG or text)"</label>
                            <input id="compose-files" type="file" name="file" multiple accept=super::thread::ACCEPTED_FILES/>
                            <p class="problem" role="alert">{move || problem.get()}</p>
                            <button type="submit" disabled=move || sending.get()>"Send securely"</button>
                        </form>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
