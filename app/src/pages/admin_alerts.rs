//! `/staff/admin/alerts`: an admin sets the behavioural alert rules and sees
//! the alerts raised (the email to admins links here).

use leptos::prelude::*;
use leptos_meta::Title;

use super::sign_in::error_text;
use crate::admin::{alert_settings, AlertsPage, SetAlertRules};

#[component]
pub fn AdminAlertsPage() -> impl IntoView {
    let save = ServerAction::<SetAlertRules>::new();
    let page = Resource::new(move || save.version().get(), |_| alert_settings());
    view! {
        <Title text="Alerts"/>
        <section class="admin">
            <h1>"Alerts"</h1>
            <p><a href="/staff/admin">"Back to administration"</a></p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(p) => view! { <Rules page=p.clone() save/> <Raised page=p/> }.into_any(),
                    Err(e) => view! {
                        <h2>"You cannot open this"</h2>
                        <p role="alert">{error_text(&e)}</p>
                    }.into_any(),
                })}
            </Suspense>
            <p class="problem" role="alert">
                {move || save.value().get().and_then(|r| r.err()).map(|e| error_text(&e))}
            </p>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                <p class="notice" role="status">"Rules saved."</p>
            })}
        </section>
    }
}

#[component]
fn Rules(page: AlertsPage, save: ServerAction<SetAlertRules>) -> impl IntoView {
    view! {
        <h2>"Rules"</h2>
        <p>"Leave a field empty to turn its rule off. Hours are in the time zone below (UTC when it is empty)."</p>
        <ActionForm action=save attr:class="stack">
            <label for="max-patients">"Alert when one staff account opens items of more than this many patients within an hour"</label>
            <input id="max-patients" name="max_patients_per_hour" inputmode="numeric" value=page.max_patients_per_hour/>
            <label for="hours-start">"Business hours start (hour, 0 to 23)"</label>
            <input id="hours-start" name="business_hours_start" inputmode="numeric" value=page.business_hours_start/>
            <label for="hours-end">"Business hours end (hour, 1 to 24): downloads outside these hours raise an alert"</label>
            <input id="hours-end" name="business_hours_end" inputmode="numeric" value=page.business_hours_end/>
            <label for="time-zone">"Time zone of business hours (for example America/New_York)"</label>
            <input id="time-zone" name="time_zone" autocomplete="off" spellcheck="false" value=page.time_zone/>
            <button type="submit">"Save rules"</button>
        </ActionForm>
    }
}

#[component]
fn Raised(page: AlertsPage) -> impl IntoView {
    view! {
        <h2>"Raised"</h2>
        {if page.alerts.is_empty() {
            view! { <p>"No alerts."</p> }.into_any()
        } else {
            view! {
                <ul class="alert-list">
                    {page.alerts.into_iter().map(|a| view! {
                        <li><strong>{a.rule}</strong>{format!(" · {} · {} · {}", a.who, a.raised, a.detail)}</li>
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}
