//! `/staff/admin/audit`: an admin searches the organization's audit log (by
//! patient email, staff member, action, dates), pages back through it, and
//! downloads the matches as CSV. The search is posted, never put in the
//! address, so a patient's email stays out of URLs and logs.

use leptos::prelude::*;
use leptos_meta::Title;

use super::sign_in::error_text;
use crate::admin::{staff_names, AuditLine, SearchAudit};

/// The actions an admin is likely to look for first; any stored name works.
const ACTIONS: [&str; 10] = [
    "thread_viewed",
    "message_viewed",
    "attachment_downloaded",
    "eob_viewed",
    "message_sent",
    "message_revoked",
    "sign_in_succeeded",
    "sign_in_failed",
    "staff_disabled",
    "audit_exported",
];

#[component]
pub fn AdminAuditPage() -> impl IntoView {
    let search = ServerAction::<SearchAudit>::new();
    let staff = Resource::new(|| (), |_| staff_names());
    // The filters as last submitted: for the next page, and copied into the export form.
    let submitted = RwSignal::new(None::<SearchAudit>);
    Effect::new(move |_| {
        if let Some(input) = search.input().get() {
            submitted.set(Some(input));
        }
    });
    let fields = ["patient_email", "staff_id", "action", "since", "until"];
    let last = move |name: &str| {
        submitted.get().map(|input| match name {
            "patient_email" => input.patient_email,
            "staff_id" => input.staff_id,
            "action" => input.action,
            "since" => input.since,
            _ => input.until,
        })
    };
    view! {
        <Title text="Audit log"/>
        <section class="admin">
            <h1>"Audit log"</h1>
            <p><a href="/staff/admin">"Back to administration"</a></p>
            <ActionForm action=search attr:class="stack" attr:id="audit-search">
                <label for="audit-patient">"Patient's email address"</label>
                <input id="audit-patient" name="patient_email" type="email" autocomplete="off"/>
                <label for="audit-staff">"Staff member"</label>
                <select id="audit-staff" name="staff_id">
                    <option value="">"Anyone"</option>
                    <Suspense fallback=|| ()>
                        {move || staff.get().and_then(|r| r.ok()).map(|names| names.into_iter().map(|(id, name)| view! {
                            <option value=id>{name}</option>
                        }).collect_view())}
                    </Suspense>
                </select>
                <label for="audit-action">"Action"</label>
                <select id="audit-action" name="action">
                    <option value="">"Any"</option>
                    {ACTIONS.iter().map(|a| view! { <option value=*a>{*a}</option> }).collect_view()}
                </select>
                <label for="audit-since">"From (date, UTC)"</label>
                <input id="audit-since" name="since" type="date"/>
                <label for="audit-until">"To (date, UTC, included)"</label>
                <input id="audit-until" name="until" type="date"/>
                <button type="submit">"Search"</button>
            </ActionForm>
            {move || search.value().get().map(|answer| match answer {
                Ok(page) => {
                    let older = page.older;
                    view! {
                        <p role="status">{format!("{} events shown, newest first.", page.lines.len())}</p>
                        <AuditTable lines=page.lines/>
                        {older.map(|before| view! {
                            <button type="button" class="secondary" on:click=move |_| {
                                if let Some(mut input) = submitted.get_untracked() {
                                    input.before = Some(before);
                                    search.dispatch(input);
                                }
                            }>"Older events"</button>
                        })}
                    }.into_any()
                }
                Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
            })}
            <form method="post" action="/staff/admin/audit.csv" class="stack">
                {fields.into_iter().map(|name| view! {
                    <input type="hidden" name=name value=move || last(name).unwrap_or_default()/>
                }).collect_view()}
                <button type="submit" class="secondary">"Download these events as CSV (up to 10,000)"</button>
            </form>
        </section>
    }
}

#[component]
fn AuditTable(lines: Vec<AuditLine>) -> impl IntoView {
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Events (scrolls sideways)">
            <table class="audit-list">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Action"</th>
                    <th scope="col">"Outcome"</th><th scope="col">"About"</th><th scope="col">"From"</th>
                </tr></thead>
                <tbody>
                    {lines.into_iter().map(|l| view! {
                        <tr data-seq=l.seq>
                            <td>{l.when}</td><td>{l.who}</td><td>{l.action}</td>
                            <td>{l.outcome}</td><td class="ids">{l.subjects}</td><td>{l.from}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
