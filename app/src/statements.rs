//! Explanation of Benefits statements on the page: what the list and the
//! statement page show, and the server functions behind them (their server
//! half in `statements_ssr.rs`). Amounts arrive formatted as dollars.

#[cfg(feature = "ssr")]
pub mod statements_ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::records::Texts;

/// One line of the statement list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub id: String,
    pub plan: String,
    pub provider: String,
    pub service_dates: String,
    pub you_may_owe: String,
    pub updated: bool,
}

/// One service line, its amounts formatted ("$12.30", or "—" when not given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLine {
    pub description: String,
    pub code: String,
    pub date: String,
    /// Billed, allowed, plan paid, deductible, copay, coinsurance, not covered,
    /// you may owe.
    pub amounts: Vec<String>,
    pub estimate: bool,
}

/// A whole statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementPage {
    pub id: String,
    pub plan: String,
    pub member: String,
    pub claim_number: String,
    pub provider: String,
    pub created: String,
    pub service_dates: String,
    pub updated: bool,
    /// When this version was replaced: the latest one's id.
    pub latest_id: Option<String>,
    pub lines: Vec<ServiceLine>,
    pub totals: Vec<String>,
    /// The plan's own totals: category and amount.
    pub stated_totals: Vec<(String, String)>,
    pub denial_reasons: Vec<String>,
    pub disposition: Option<String>,
    pub not_a_bill: String,
    pub correction_threads: Vec<String>,
}

/// The statement columns, in order, as the page heads them in `t`'s language.
pub fn columns(t: &'static Texts) -> [&'static str; 8] {
    [
        t.billed,
        t.allowed,
        t.plan_paid,
        t.deductible,
        t.copay,
        t.coinsurance,
        t.not_covered,
        t.you_may_owe,
    ]
}

/// The signed-in member's statements, latest version of each claim first.
#[server(endpoint = "statements")]
pub async fn statements() -> Result<Vec<StatementLine>, ServerFnError> {
    statements_ssr::list().await
}

/// One of the signed-in member's statements.
#[server(endpoint = "statement")]
pub async fn statement(id: String) -> Result<StatementPage, ServerFnError> {
    statements_ssr::view(&id).await
}

/// Asks the plan to correct a statement; returns the new thread's id.
#[server(endpoint = "request_correction")]
pub async fn request_correction(id: String, note: String) -> Result<String, ServerFnError> {
    statements_ssr::request_correction(&id, &note).await
}
