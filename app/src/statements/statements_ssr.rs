//! The server half of the statement functions.

use leptos::prelude::*;
use portico_core::eob::{Amounts, Column, Statement, StatementSummary, Statements};

use super::{ServiceLine, StatementLine, StatementPage};
use crate::{
    auth::session::{client, failed, portal, signed_in_patient, Portal},
    i18n::{
        fill,
        records::{texts, Texts},
    },
    messaging::messaging_ssr::messaging,
};

/// The statements of the portal `p`.
pub fn statements(p: &Portal) -> Statements<'_> {
    Statements {
        store: &p.store,
        vault: &p.vault,
        audit: &p.audit,
    }
}

async fn member() -> Result<String, ServerFnError> {
    // Only staff are refused here: in English.
    signed_in_patient("statements are for members only").await
}

/// Cents as dollars: "$1,234.50", "-$3.00"; "—" when the plan gave none.
pub fn dollars(cents: Option<i64>) -> String {
    let Some(cents) = cents else {
        return "—".to_owned();
    };
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

fn amounts(a: &Amounts) -> Vec<String> {
    Column::ALL.iter().map(|c| dollars(a.get(*c))).collect()
}

fn dates(t: &Texts, s: &Statement) -> String {
    match (&s.service_start, &s.service_end) {
        (Some(a), Some(b)) if a != b => fill(t.date_range, &[("start", a), ("end", b)]),
        (Some(a), _) | (None, Some(a)) => a.clone(),
        (None, None) => "—".to_owned(),
    }
}

fn or_dash(s: &Option<String>) -> String {
    s.clone().unwrap_or_else(|| "—".to_owned())
}

fn line(t: &Texts, s: StatementSummary) -> StatementLine {
    StatementLine {
        provider: or_dash(&s.statement.provider),
        service_dates: dates(t, &s.statement),
        you_may_owe: dollars(s.statement.totals.you_may_owe),
        id: s.id,
        plan: s.plan,
        updated: s.updated,
    }
}

pub async fn list() -> Result<Vec<StatementLine>, ServerFnError> {
    let p = portal()?;
    let id = member().await?;
    let list = statements(&p)
        .list(&id, &client().await)
        .await
        .map_err(failed)?;
    let t = texts();
    Ok(list.into_iter().map(|s| line(t, s)).collect())
}

pub async fn view(eob_id: &str) -> Result<StatementPage, ServerFnError> {
    let p = portal()?;
    let id = member().await?;
    let v = statements(&p)
        .view(&id, eob_id, &client().await)
        .await
        .map_err(failed)?;
    let s = v.summary.statement;
    let t = texts();
    Ok(StatementPage {
        id: v.summary.id,
        plan: v.summary.plan,
        member: or_dash(&s.member_id),
        claim_number: or_dash(&s.claim_number),
        provider: or_dash(&s.provider),
        created: s.created.clone(),
        service_dates: dates(t, &s),
        updated: v.summary.updated,
        latest_id: v.latest_id,
        lines: s
            .lines
            .iter()
            .map(|l| ServiceLine {
                description: or_dash(&l.description),
                code: l.code.clone().unwrap_or_default(),
                date: or_dash(&l.service_date),
                amounts: amounts(&l.amounts),
                estimate: l.you_may_owe_is_estimate,
            })
            .collect(),
        totals: amounts(&s.totals),
        stated_totals: s
            .stated_totals
            .iter()
            .map(|t| (t.category.clone(), dollars(t.cents)))
            .collect(),
        denial_reasons: s.denial_reasons.clone(),
        disposition: s.disposition.clone(),
        // In English the statement's own `s.not_a_bill` (a test keeps them equal).
        not_a_bill: t.not_a_bill.to_owned(),
        correction_threads: v.correction_threads,
    })
}

pub async fn request_correction(eob_id: &str, note: &str) -> Result<String, ServerFnError> {
    let p = portal()?;
    let id = member().await?;
    statements(&p)
        .request_correction(&messaging(&p), &id, eob_id, note, &client().await)
        .await
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dollars_are_grouped_and_signed() {
        use super::dollars;
        assert_eq!(dollars(Some(0)), "$0.00");
        assert_eq!(dollars(Some(5)), "$0.05");
        assert_eq!(dollars(Some(123_456_789)), "$1,234,567.89");
        assert_eq!(dollars(Some(-300)), "-$3.00");
        assert_eq!(dollars(None), "—");
    }

    #[test]
    fn the_catalogue_says_not_a_bill_as_the_statement_does() {
        assert_eq!(
            crate::i18n::records::ENGLISH.not_a_bill,
            portico_core::eob::NOT_A_BILL
        );
    }
}
