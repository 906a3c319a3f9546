//! `/statements` and `/statements/{id}`: a member's Explanation of Benefits
//! statements, as a list and one at a time, with downloads (PDF made on the
//! server, and the original FHIR JSON) and a request for a correction.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::sign_in::error_text;
use crate::{
    i18n::{
        fill,
        records::{texts, Texts},
    },
    statements::{columns, statement, statements, RequestCorrection, StatementPage},
};

#[component]
pub fn StatementsPage() -> impl IntoView {
    let lines = Resource::new(|| (), |_| statements());
    let t = texts();
    view! {
        <Title text=t.your_statements/>
        <section class="statements">
            <h1>{t.your_statements}</h1>
            <p class="not-a-bill">{t.not_bills}</p>
            <Suspense fallback=move || view! { <p>{t.loading}</p> }>
                {move || lines.get().map(|answer| match answer {
                    Ok(lines) if lines.is_empty() => view! { <p>{t.no_statements_yet}</p> }.into_any(),
                    Ok(lines) => view! {
                        <table class="statement-list">
                            <thead><tr>
                                <th scope="col">{t.plan}</th><th scope="col">{t.provider}</th>
                                <th scope="col">{t.service_dates}</th><th scope="col">{t.you_may_owe}</th>
                            </tr></thead>
                            <tbody>
                                {lines.into_iter().map(|l| view! {
                                    <tr>
                                        <td><a href=format!("/statements/{}", l.id)>{l.plan}</a>
                                            {l.updated.then(|| view! { <span class="badge">{t.updated_badge}</span> })}</td>
                                        <td>{l.provider}</td>
                                        <td>{l.service_dates}</td>
                                        <td class="amount">{l.you_may_owe}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">{error_text(&e)}</p> }.into_any(),
                })}
            </Suspense>
            <p><a href="/inbox">{t.back_to_messages}</a></p>
        </section>
    }
}

#[component]
pub fn StatementView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, statement);
    let t = texts();
    view! {
        <Title text=t.statement_title/>
        <Suspense fallback=move || view! { <p>{t.loading}</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(s) => whole(t, s).into_any(),
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

fn whole(t: &'static Texts, s: StatementPage) -> impl IntoView {
    let id = s.id.clone();
    view! {
        <article class="statement">
            <p class="not-a-bill" role="note"><strong>{s.not_a_bill.clone()}</strong></p>
            <h1>{t.explanation_of_benefits}
                {s.updated.then(|| view! { <span class="badge">{t.updated_badge}</span> })}</h1>
            {s.latest_id.clone().map(|latest| view! {
                <p class="notice">{t.newer_version}
                    <a href=format!("/statements/{latest}")>{t.see_the_latest}</a></p>
            })}
            <dl class="statement-facts">
                <dt>{t.plan}</dt><dd>{s.plan.clone()}</dd>
                <dt>{t.member}</dt><dd>{s.member.clone()}</dd>
                <dt>{t.claim_number}</dt><dd class="claim-number">{s.claim_number.clone()}</dd>
                <dt>{t.provider}</dt><dd>{s.provider.clone()}</dd>
                <dt>{t.service_dates}</dt><dd>{s.service_dates.clone()}</dd>
                <dt>{t.processed}</dt><dd>{s.created.clone()}</dd>
            </dl>
            // Focusable, so keyboard users can scroll it sideways on a narrow screen.
            <div class="table-scroll" tabindex="0" role="region" aria-label=t.services_scroll>
                <table class="service-lines">
                    <caption>{t.services}</caption>
                    <thead><tr>
                        <th scope="col">{t.service}</th><th scope="col">{t.date}</th>
                        {columns(t).into_iter().map(|c| view! { <th scope="col" class="amount">{c}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {s.lines.into_iter().map(|l| view! {
                            <tr>
                                <th scope="row">{l.description}
                                    {(!l.code.is_empty()).then(|| view! { <span class="code">{format!(" ({})", l.code)}</span> })}
                                    {l.estimate.then(|| view! { <span class="estimate">{t.is_estimate}</span> })}</th>
                                <td>{l.date}</td>
                                {l.amounts.into_iter().map(|a| view! { <td class="amount">{a}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                    <tfoot><tr>
                        <th scope="row">{t.totals}</th><td></td>
                        {s.totals.into_iter().map(|a| view! { <td class="amount">{a}</td> }).collect_view()}
                    </tr></tfoot>
                </table>
            </div>
            {(!s.stated_totals.is_empty()).then(|| view! {
                <h2>{t.totals_stated_by_plan}</h2>
                <ul>{s.stated_totals.into_iter().map(|(c, a)| view! { <li>{format!("{c}: {a}")}</li> }).collect_view()}</ul>
            })}
            {(!s.denial_reasons.is_empty()).then(|| view! {
                <h2>{t.why_not_paid}</h2>
                <ul>{s.denial_reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
            })}
            {s.disposition.map(|d| view! { <p>{fill(t.plans_note, &[("note", &d)])}</p> })}
            <p class="downloads">
                <a class="button" href=format!("/statements/{id}/pdf") download="">{t.download_pdf}</a>
                " "
                <a class="button secondary" href=format!("/statements/{id}/fhir.json") download="">{t.download_fhir_json}</a>
            </p>
            {(!s.correction_threads.is_empty()).then(|| view! {
                <p>{t.asked_for_correction}
                    {s.correction_threads.into_iter().map(|thread| view! { <a href=format!("/thread/{thread}")>{t.see_the_conversation}</a> }).collect_view()}</p>
            })}
            <CorrectionForm t=t id=id/>
        </article>
    }
}

#[component]
fn CorrectionForm(t: &'static Texts, id: String) -> impl IntoView {
    let ask = ServerAction::<RequestCorrection>::new();
    Effect::new(move |_| {
        if let Some(Ok(thread)) = ask.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/thread/{thread}"), Default::default());
        }
    });
    view! {
        <details class="correction">
            <summary>{t.ask_for_correction}</summary>
            <ActionForm action=ask>
                <input type="hidden" name="id" value=id/>
                <label for="correction-note">{t.what_to_correct}</label>
                <textarea id="correction-note" name="note" rows="4" required=true></textarea>
                <button type="submit">{t.send_to_member_services}</button>
            </ActionForm>
            {move || ask.value().get().and_then(|r| r.err()).map(|e| view! { <p role="alert">{error_text(&e)}</p> })}
        </details>
    }
}
