//! `/staff/admin`: an organization's admins manage its staff: invite (the
//! enrollment link is shown once, to pass on), change a role, disable an
//! account (its sessions end at once). Others get a 403 page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::sign_in::error_text;
use crate::admin::{admin_staff, ChangeRole, DisableStaff, InviteStaff, StaffRow, ROLES};

#[component]
pub fn AdminPage() -> impl IntoView {
    let invite = ServerAction::<InviteStaff>::new();
    let change = ServerAction::<ChangeRole>::new();
    let disable = ServerAction::<DisableStaff>::new();
    // The list is read again after each change.
    let staff = Resource::new(
        move || {
            (
                invite.version().get(),
                change.version().get(),
                disable.version().get(),
            )
        },
        |_| admin_staff(),
    );
    let problem = move || {
        [
            invite.value().get().and_then(|r| r.err()),
            change.value().get().and_then(|r| r.err()),
            disable.value().get().and_then(|r| r.err()),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| error_text(&e))
    };
    view! {
        <Title text="Administration"/>
        <section class="admin">
            <h1>"Administration"</h1>
            <p><a href="/staff">"Back to your mailboxes"</a>" · "<a href="/staff/admin/audit">"Audit log"</a>" · "<a href="/staff/admin/alerts">"Alerts"</a>" · "<a href="/staff/admin/systems">"Mailboxes and API keys"</a>" · "<a href="/staff/admin/branding">"Branding"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || staff.get().map(|answer| match answer {
                    Ok(rows) => view! { <StaffTable rows change disable/> }.into_any(),
                    Err(e) => view! {
                        <h2>"You cannot open this"</h2>
                        <p role="alert">{error_text(&e)}</p>
                    }.into_any(),
                })}
            </Suspense>
            <p class="problem" role="alert">{problem}</p>
            <h2 id="invite-title">"Invite a member of staff"</h2>
            <ActionForm action=invite attr:class="stack" attr:aria-labelledby="invite-title">
                <label for="invite-name">"Name, as patients will see it (for example Dr. Ana Ruiz)"</label>
                <input id="invite-name" name="name" required maxlength="100"/>
                <label for="invite-email">"Work email address"</label>
                <input id="invite-email" name="email" type="email" required/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role">
                    {ROLES.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
                <button type="submit">"Invite"</button>
            </ActionForm>
            {move || invite.value().get().and_then(|r| r.ok()).map(|link| view! {
                <div class="notice" role="status">
                    <p>"Invited. Send this one-time link to that person; it works for 72 hours and is not shown again:"</p>
                    <p><code class="enrollment-link">{link}</code></p>
                </div>
            })}
        </section>
    }
}

#[component]
fn StaffTable(
    rows: Vec<StaffRow>,
    change: ServerAction<ChangeRole>,
    disable: ServerAction<DisableStaff>,
) -> impl IntoView {
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Staff (scrolls sideways)">
            <table class="staff-list">
                <caption>"Staff"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Role"</th>
                    <th scope="col">"Status"</th><th scope="col">"Change"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|row| view! { <StaffRowView row change disable/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn StaffRowView(
    row: StaffRow,
    change: ServerAction<ChangeRole>,
    disable: ServerAction<DisableStaff>,
) -> impl IntoView {
    let editable = !row.is_you && !row.disabled;
    let (id, role) = (row.id.clone(), row.role.clone());
    let disable_id = row.id.clone();
    let select_id = format!("role-{}", row.id);
    let role_label = format!("New role for {}", row.name);
    let change_label = format!("Change role of {}", row.name);
    let disable_label = format!("Disable {}", row.name);
    view! {
        <tr>
            <th scope="row">{row.name.clone()}{row.is_you.then_some(" (you)")}</th>
            <td>{row.role.clone()}</td>
            <td>{row.status.clone()}</td>
            <td>
                {editable.then(move || view! {
                    <ActionForm action=change attr:class="inline-form">
                        <input type="hidden" name="staff_id" value=id/>
                        <label for=select_id.clone() class="visually-hidden">{role_label}</label>
                        <select id=select_id name="role">
                            {ROLES.iter().map(|(value, label)| view! {
                                <option value=*value selected=*value == role.as_str()>{*label}</option>
                            }).collect_view()}
                        </select>
                        <button type="submit" class="secondary">{change_label}</button>
                    </ActionForm>
                    <ActionForm action=disable attr:class="inline-form">
                        <input type="hidden" name="staff_id" value=disable_id/>
                        <button type="submit" class="secondary">{disable_label}</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
