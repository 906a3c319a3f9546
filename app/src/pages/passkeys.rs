//! Passkeys on the page: "Sign in with a passkey", and the signed-in person's
//! list where they add, name and remove them.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_navigate;

use super::sign_in::{error_text, error_text_in};
use crate::auth::{
    browser, passkey_add_finish, passkey_add_start, passkey_list, passkey_remove, passkey_rename,
    passkey_sign_in_finish, passkey_sign_in_start, PasskeyView,
};
use crate::i18n::fill;

/// Signs in with any passkey of this portal, typing nothing.
#[component]
pub fn PasskeySignIn() -> impl IntoView {
    let (problem, set_problem) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let navigate = use_navigate();
    // Read here: the sign-in runs in `spawn_local`, outside the component tree.
    let t = crate::i18n::sign_in::texts();
    let sign_in = move |_| {
        set_busy.set(true);
        set_problem.set(None);
        let navigate = navigate.clone();
        spawn_local(async move {
            let result = async {
                let options = passkey_sign_in_start()
                    .await
                    .map_err(|e| error_text_in(t, &e))?;
                let answer = browser::get_passkey(options, t).await?;
                passkey_sign_in_finish(answer)
                    .await
                    .map_err(|e| error_text_in(t, &e))
            }
            .await;
            set_busy.set(false);
            match result {
                Ok(next) => navigate(&next, Default::default()),
                Err(message) => set_problem.set(Some(message)),
            }
        });
    };
    view! {
        <div class="passkey-sign-in">
            <button type="button" on:click=sign_in disabled=busy>{t.sign_in_with_a_passkey}</button>
            <p class="problem" role="alert">{problem}</p>
        </div>
    }
}

/// The signed-in person's passkey list, read again after each change. Make it
/// outside a `Suspense` and hand it to [`PasskeyManager`]: made inside, it is
/// made (and read) once for each time the server renders the children.
#[derive(Clone, Copy)]
pub struct PasskeyList {
    changed: RwSignal<u32>,
    keys: Resource<Result<Vec<PasskeyView>, ServerFnError>>,
}

impl PasskeyList {
    pub fn new() -> Self {
        let changed = RwSignal::new(0u32);
        let keys = Resource::new(move || changed.get(), |_| passkey_list());
        Self { changed, keys }
    }
}

impl Default for PasskeyList {
    fn default() -> Self {
        Self::new()
    }
}

/// The signed-in person's passkeys, with adding (offered when there are none),
/// renaming and removing.
#[component]
pub fn PasskeyManager(
    /// Called after a passkey is added (enrollment goes on to the staff home).
    #[prop(optional, into)]
    on_added: Option<Callback<()>>,
    /// The list, made outside any `Suspense` (see [`PasskeyList`]).
    #[prop(optional)]
    list: Option<PasskeyList>,
) -> impl IntoView {
    let PasskeyList { changed, keys } = list.unwrap_or_default();
    let set_changed = changed;
    // Read here: adding runs in `spawn_local`, outside the component tree.
    let t = crate::i18n::sign_in::texts();
    let (problem, set_problem) = signal(None::<String>);
    let (name, set_name) = signal(t.my_device.to_owned());
    let (busy, set_busy) = signal(false);
    let add = move |_| {
        set_busy.set(true);
        set_problem.set(None);
        spawn_local(async move {
            let result = async {
                let options = passkey_add_start()
                    .await
                    .map_err(|e| error_text_in(t, &e))?;
                let answer = browser::create_passkey(options, t).await?;
                passkey_add_finish(answer, name.get_untracked())
                    .await
                    .map_err(|e| error_text_in(t, &e))
            }
            .await;
            set_busy.set(false);
            match result {
                Ok(_) => {
                    set_changed.update(|n| *n += 1);
                    if let Some(on_added) = on_added {
                        on_added.run(());
                    }
                }
                Err(message) => set_problem.set(Some(message)),
            }
        });
    };
    view! {
        <section class="passkeys" aria-labelledby="passkeys-title">
            <h2 id="passkeys-title">{t.passkeys}</h2>
            <Suspense fallback=move || view! { <p>{t.loading}</p> }>
                {move || keys.get().map(|list| match list {
                    Ok(list) if list.is_empty() => view! {
                        <p>{t.add_a_passkey_offer}</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="passkey-list">
                            {list.into_iter().map(|key| view! {
                                <PasskeyRow key on_change=move || set_changed.update(|n| *n += 1)/>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
            <div class="stack">
                <label for="passkey-name">{t.passkey_name_label}</label>
                <input id="passkey-name" maxlength="60"
                    prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev))/>
                <button type="button" on:click=add disabled=busy>{t.add_a_passkey}</button>
                <p class="problem" role="alert">{problem}</p>
            </div>
        </section>
    }
}

#[component]
fn PasskeyRow(
    key: PasskeyView,
    on_change: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = StoredValue::new(key.id.clone());
    let (name, set_name) = signal(key.name.clone());
    let (problem, set_problem) = signal(None::<String>);
    let label = key.name.clone();
    // Read here: renaming and removing run in `spawn_local`, outside the component tree.
    let t = crate::i18n::sign_in::texts();
    let rename = move |_| {
        spawn_local(async move {
            match passkey_rename(id.get_value(), name.get_untracked()).await {
                Ok(()) => on_change(),
                Err(e) => set_problem.set(Some(error_text_in(t, &e))),
            }
        });
    };
    let remove = move |_| {
        spawn_local(async move {
            match passkey_remove(id.get_value()).await {
                Ok(()) => on_change(),
                Err(e) => set_problem.set(Some(error_text_in(t, &e))),
            }
        });
    };
    view! {
        <li class="passkey">
            <span class="passkey-name">{label.clone()}</span>
            <input aria-label=fill(t.new_name_for, &[("name", &label)]) maxlength="60"
                prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev))/>
            <button type="button" on:click=rename>{t.rename}</button>
            <button type="button" class="secondary" on:click=remove
                aria-label=fill(t.remove_named, &[("name", &key.name)])>{t.remove}</button>
            <p class="problem" role="alert">{problem}</p>
        </li>
    }
}
