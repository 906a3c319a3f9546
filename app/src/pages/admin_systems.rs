//! `/staff/admin/systems`: an admin's mailboxes (departments patients write
//! to) and the API keys the organization's own systems send messages with.
//! A new key's secret is shown once, to put in that system's secret store.

use leptos::prelude::*;
use leptos_meta::Title;

use super::sign_in::error_text;
use crate::admin::{
    systems, CreateApiKey, CreateMailbox, CreatePublisherKey, MailboxRow, RevokeApiKey, SystemsPage,
};

#[component]
pub fn AdminSystemsPage() -> impl IntoView {
    let mailbox = ServerAction::<CreateMailbox>::new();
    let key = ServerAction::<CreateApiKey>::new();
    let publisher = ServerAction::<CreatePublisherKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let page = Resource::new(
        move || {
            (
                mailbox.version().get(),
                key.version().get(),
                publisher.version().get(),
                revoke.version().get(),
            )
        },
        |_| systems(),
    );
    let problem = move || {
        [
            mailbox.value().get().and_then(|r| r.err()),
            key.value().get().and_then(|r| r.err()),
            publisher.value().get().and_then(|r| r.err()),
            revoke.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| error_text(&e))
    };
    view! {
        <Title text="Mailboxes and API keys"/>
        <section class="admin">
            <h1>"Mailboxes and API keys"</h1>
            <p><a href="/staff/admin">"Back to administration"</a></p>
            <p class="problem" role="alert">{problem}</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(p) => {
                        let boxes = p.mailboxes.clone();
                        let plan = p.health_plan;
                        view! {
                            <Lists page=p revoke/>
                            <Show when=move || plan><NewPublisherKey action=publisher/></Show>
                            <NewKey boxes action=key/>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <h2>"You cannot open this"</h2>
                        <p role="alert">{error_text(&e)}</p>
                    }.into_any(),
                })}
            </Suspense>
            <h2 id="new-mailbox">"New mailbox"</h2>
            <ActionForm action=mailbox attr:class="stack" attr:aria-labelledby="new-mailbox">
                <label for="mailbox-name">"Name, as patients see it (for example Dermatology)"</label>
                <input id="mailbox-name" name="name" required maxlength="100"/>
                <label for="mailbox-kind">"Kind"</label>
                <select id="mailbox-kind" name="kind">
                    <option value="clinical">"Clinical (clinicians and staff)"</option>
                    <option value="billing">"Billing (billing staff)"</option>
                    <option value="general">"General (all staff)"</option>
                </select>
                <button type="submit">"Create mailbox"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Lists(page: SystemsPage, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    view! {
        <h2>"Mailboxes"</h2>
        <ul class="mailbox-list">
            {page.mailboxes.into_iter().map(|m| view! { <li>{format!("{} ({})", m.name, m.kind)}</li> }).collect_view()}
        </ul>
        <h2>"API keys"</h2>
        {if page.keys.is_empty() {
            view! { <p>"No keys yet."</p> }.into_any()
        } else {
            view! {
                <ul class="key-list">
                    {page.keys.into_iter().map(|k| {
                        let label = format!("Revoke {}", k.label);
                        view! {
                            <li>
                                <strong>{k.label.clone()}</strong>
                                {if k.publishes {
                                    format!(" · publishes statements · created {} · last used {}", k.created, k.last_used)
                                } else {
                                    format!(" · sends from {} · created {} · last used {}", k.mailbox, k.created, k.last_used)
                                }}
                                {if k.revoked {
                                    view! { <span class="badge">" Revoked"</span> }.into_any()
                                } else {
                                    view! {
                                        <ActionForm action=revoke attr:class="inline-form">
                                            <input type="hidden" name="key_id" value=k.id/>
                                            <button type="submit" class="secondary">{label}</button>
                                        </ActionForm>
                                    }.into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

#[component]
fn NewKey(boxes: Vec<MailboxRow>, action: ServerAction<CreateApiKey>) -> impl IntoView {
    view! {
        <h2 id="new-key">"New API key"</h2>
        <ActionForm action=action attr:class="stack" attr:aria-labelledby="new-key">
            <label for="key-label">"What it is for (for example Lab results feed)"</label>
            <input id="key-label" name="label" required maxlength="100"/>
            <label for="key-mailbox">"Mailbox it sends from"</label>
            <select id="key-mailbox" name="mailbox_id">
                {boxes.into_iter().map(|m| view! { <option value=m.id>{m.name}</option> }).collect_view()}
            </select>
            <button type="submit">"Create key"</button>
        </ActionForm>
        {move || action.value().get().and_then(|r| r.ok()).map(|secret| view! { <SecretOnce secret/> })}
    }
}

/// A health plan's key for the EOB API (`eob:publish`): it publishes the
/// plan's statements and keeps its member directory.
#[component]
fn NewPublisherKey(action: ServerAction<CreatePublisherKey>) -> impl IntoView {
    view! {
        <h2 id="new-publisher-key">"New key to publish statements"</h2>
        <ActionForm action=action attr:class="stack" attr:aria-labelledby="new-publisher-key">
            <label for="publisher-label">"What it is for (for example Claims system)"</label>
            <input id="publisher-label" name="label" required maxlength="100"/>
            <button type="submit">"Create publishing key"</button>
        </ActionForm>
        {move || action.value().get().and_then(|r| r.ok()).map(|secret| view! { <SecretOnce secret/> })}
    }
}

/// A new key's secret, which is shown this once.
#[component]
fn SecretOnce(secret: String) -> impl IntoView {
    view! {
        <div class="notice" role="status">
            <p>"Key created. Put this secret in that system's secret store now; it is not shown again:"</p>
            <p><code class="api-key-secret">{secret}</code></p>
        </div>
    }
}
