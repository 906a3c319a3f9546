//! `/statements` and `/statements/{id}`: a member's Explanation of Benefits
//! statements, as a list and one at a time, with downloads (PDF made on the
//! server, and the original FHIR JSON) and a request for a correction.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::sign_in::error_text;
use crate::statements::{statement, statements, RequestCorrection, StatementPage, COLUMNS};

#[component]
pub fn StatementsPage() -> impl IntoView {
    let lines = Resource::new(|| (), |_| statements());
    view! {
        <Title text="Your statements"/>
        <section class="statements">
            <h1>"Your statements"</h1>
            <p class="not-a-bill">"Explanation of Benefits statements from your health plan. These are not bills."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || lines.get().map(|answer| match answer {
                    Ok(lines) if lines.is_empty() => view! { <p>"No statements yet."</p> }.into_any(),
                    Ok(lines) => view! {
                        <table class="statement-list">
                            <thead><tr>
                                <th scope="col">"Plan"</th><th scope="col">"Provider"</th>
                                <th scope="col">"Service dates"</th><th scope="col">"You may owe"</th>
                            </tr></thead>
                            <tbody>
                                {lines.into_iter().map(|l| view! {
                                    <tr>
                                        <td><a href=format!("/statements/{}", l.id)>{l.plan}</a>
                                            {l.updated.then(|| view! { <span class="badge">" Updated"</span> })}</td>
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
            <p><a href="/inbox">"Back to your messages"</a></p>
        </section>
    }
}

#[component]
pub fn StatementView() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, statement);
    view! {
        <Title text="Statement"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(s) => whole(s).into_any(),
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

fn whole(s: StatementPage) -> impl IntoView {
    let id = s.id.clone();
    view! {
        <article class="statement">
            <p class="not-a-bill" role="note"><strong>{s.not_a_bill.clone()}</strong></p>
            <h1>"Explanation of Benefits"
                {s.updated.then(|| view! { <span class="badge">" Updated"</span> })}</h1>
            {s.latest_id.clone().map(|latest| view! {
                <p class="notice">"A newer version of this statement exists: "
                    <a href=format!("/statements/{latest}")>"see the latest"</a></p>
            })}
            <dl class="statement-facts">
                <dt>"Plan"</dt><dd>{s.plan.clone()}</dd>
                <dt>"Member"</dt><dd>{s.member.clone()}</dd>
                <dt>"Claim number"</dt><dd class="claim-number">{s.claim_number.clone()}</dd>
                <dt>"Provider"</dt><dd>{s.provider.clone()}</dd>
                <dt>"Service dates"</dt><dd>{s.service_dates.clone()}</dd>
                <dt>"Processed"</dt><dd>{s.created.clone()}</dd>
            </dl>
            // Focusable, so keyboard users can scroll it sideways on a narrow screen.
            <div class="table-scroll" tabindex="0" role="region" aria-label="Services (scrolls sideways)">
                <table class="service-lines">
                    <caption>"Services"</caption>
                    <thead><tr>
                        <th scope="col">"Service"</th><th scope="col">"Date"</th>
                        {COLUMNS.iter().map(|c| view! { <th scope="col" class="amount">{*c}</th> }).collect_view()}
                    </tr></thead>
                    <tbody>
                        {s.lines.into_iter().map(|l| view! {
                            <tr>
                                <th scope="row">{l.description}
                                    {(!l.code.is_empty()).then(|| view! { <span class="code">{format!(" ({})", l.code)}</span> })}
                                    {l.estimate.then(|| view! { <span class="estimate">" (you may owe is an estimate)"</span> })}</th>
                                <td>{l.date}</td>
                                {l.amounts.into_iter().map(|a| view! { <td class="amount">{a}</td> }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                    <tfoot><tr>
                        <th scope="row">"Totals"</th><td></td>
                        {s.totals.into_iter().map(|a| view! { <td class="amount">{a}</td> }).collect_view()}
                    </tr></tfoot>
                </table>
            </div>
            {(!s.stated_totals.is_empty()).then(|| view! {
                <h2>"Totals stated by your plan"</h2>
                <ul>{s.stated_totals.into_iter().map(|(c, a)| view! { <li>{format!("{c}: {a}")}</li> }).collect_view()}</ul>
            })}
            {(!s.denial_reasons.is_empty()).then(|| view! {
                <h2>"Why some services were not paid"</h2>
                <ul>{s.denial_reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}</ul>
            })}
            {s.disposition.map(|d| view! { <p>{format!("Plan's note: {d}")}</p> })}
            <p class="downloads">
                <a class="button" href=format!("/statements/{id}/pdf") download="">"Download PDF"</a>
                " "
                <a class="button secondary" href=format!("/statements/{id}/fhir.json") download="">"Download FHIR JSON"</a>
            </p>
            {(!s.correction_threads.is_empty()).then(|| view! {
                <p>"You asked for a correction: "
                    {s.correction_threads.into_iter().map(|t| view! { <a href=format!("/thread/{t}")>"see the conversation"</a> }).collect_view()}</p>
            })}
            <CorrectionForm id=id/>
        </article>
    }
}

#[component]
fn CorrectionForm(id: String) -> impl IntoView {
    let ask = ServerAction::<RequestCorrection>::new();
    Effect::new(move |_| {
        if let Some(Ok(thread)) = ask.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/thread/{thread}"), Default::default());
        }
    });
    view! {
        <details class="correction">
            <summary>"Something wrong? Ask your plan to correct this statement"</summary>
            <ActionForm action=ask>
                <input type="hidden" name="id" value=id/>
                <label for="correction-note">"What should be corrected?"</label>
                <textarea id="correction-note" name="note" rows="4" required=true></textarea>
                <button type="submit">"Send to member services"</button>
            </ActionForm>
            {move || ask.value().get().and_then(|r| r.err()).map(|e| view! { <p role="alert">{error_text(&e)}</p> })}
        </details>
    }
}
