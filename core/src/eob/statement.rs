//! The statement a patient reads, summarised from an accepted EOB.

use serde::{Deserialize, Serialize};

use super::model::{Adjudication, CodeableConcept, ExplanationOfBenefit, Item};

/// Said on every statement.
pub const NOT_A_BILL: &str = "This is not a bill.";

/// The statement columns an adjudication category feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Billed,
    Allowed,
    PlanPaid,
    Deductible,
    Copay,
    Coinsurance,
    NotCovered,
    YouMayOwe,
}

/// The column for an adjudication category code (see the table in the module doc).
pub fn column(code: &str) -> Option<Column> {
    const CMS: &str = "https://bluebutton.cms.gov/resources/variables/";
    let code = code.strip_prefix(CMS).unwrap_or(code);
    Some(match code {
        "submitted" | "line_sbmtd_chrg_amt" => Column::Billed,
        "eligible" | "line_alowd_chrg_amt" => Column::Allowed,
        "benefit" | "paidtoprovider" | "line_prvdr_pmt_amt" => Column::PlanPaid,
        "deductible" | "line_bene_ptb_ddctbl_amt" => Column::Deductible,
        "copay" => Column::Copay,
        "coinsurance" | "line_coinsrnc_amt" => Column::Coinsurance,
        "noncovered" => Column::NotCovered,
        "memberliability" => Column::YouMayOwe,
        _ => return None,
    })
}

/// Amounts in integer cents, one per column; `None` when the EOB gives none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    pub billed: Option<i64>,
    pub allowed: Option<i64>,
    pub plan_paid: Option<i64>,
    pub deductible: Option<i64>,
    pub copay: Option<i64>,
    pub coinsurance: Option<i64>,
    pub not_covered: Option<i64>,
    pub you_may_owe: Option<i64>,
}

fn add(slot: &mut Option<i64>, cents: i64) {
    *slot = Some(slot.unwrap_or(0).saturating_add(cents));
}

impl Amounts {
    pub fn get(&self, c: Column) -> Option<i64> {
        match c {
            Column::Billed => self.billed,
            Column::Allowed => self.allowed,
            Column::PlanPaid => self.plan_paid,
            Column::Deductible => self.deductible,
            Column::Copay => self.copay,
            Column::Coinsurance => self.coinsurance,
            Column::NotCovered => self.not_covered,
            Column::YouMayOwe => self.you_may_owe,
        }
    }

    fn slot(&mut self, c: Column) -> &mut Option<i64> {
        match c {
            Column::Billed => &mut self.billed,
            Column::Allowed => &mut self.allowed,
            Column::PlanPaid => &mut self.plan_paid,
            Column::Deductible => &mut self.deductible,
            Column::Copay => &mut self.copay,
            Column::Coinsurance => &mut self.coinsurance,
            Column::NotCovered => &mut self.not_covered,
            Column::YouMayOwe => &mut self.you_may_owe,
        }
    }

    fn plus(&mut self, other: &Amounts) {
        for c in ALL {
            if let Some(v) = other.get(c) {
                add(self.slot(c), v);
            }
        }
    }
}

impl Column {
    /// Every column, in the order a statement shows them.
    pub const ALL: [Column; 8] = ALL;
}

const ALL: [Column; 8] = [
    Column::Billed,
    Column::Allowed,
    Column::PlanPaid,
    Column::Deductible,
    Column::Copay,
    Column::Coinsurance,
    Column::NotCovered,
    Column::YouMayOwe,
];

/// One service line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub sequence: Option<u32>,
    pub description: Option<String>,
    pub code: Option<String>,
    pub service_date: Option<String>,
    pub amounts: Amounts,
    /// "You may owe" was not given (no `memberliability`) and is the sum of
    /// deductible, copay, coinsurance and not covered.
    pub you_may_owe_is_estimate: bool,
}

/// One entry of the EOB's own `total` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatedTotal {
    pub category: String,
    pub cents: Option<i64>,
}

/// What the patient reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub plan: Option<String>,
    /// The focal coverage (display or reference) and, when contained, its member id.
    pub coverage: Option<String>,
    pub member_id: Option<String>,
    pub claim_number: Option<String>,
    pub provider: Option<String>,
    pub created: String,
    pub service_start: Option<String>,
    pub service_end: Option<String>,
    pub currency: Option<String>,
    pub lines: Vec<Line>,
    /// Sums of the lines' amounts.
    pub totals: Amounts,
    /// The EOB's own `total` list, as stated by the plan.
    pub stated_totals: Vec<StatedTotal>,
    pub denial_reasons: Vec<String>,
    pub disposition: Option<String>,
    /// Always [`NOT_A_BILL`]: not stored, restored when read back.
    #[serde(skip, default = "not_a_bill")]
    pub not_a_bill: &'static str,
}

fn not_a_bill() -> &'static str {
    NOT_A_BILL
}

fn adjudication_amounts(list: &[Adjudication], amounts: &mut Amounts) -> bool {
    let mut any = false;
    for a in list {
        let col = a
            .category
            .coding
            .iter()
            .filter_map(|c| c.code.as_deref())
            .find_map(column);
        if let (Some(col), Some(cents)) = (col, a.amount.as_ref().and_then(|m| m.cents())) {
            add(amounts.slot(col), cents);
            any = true;
        }
    }
    any
}

/// An item's amounts: its own adjudications; if it has none, those of its
/// details (or of their sub-details), summed.
fn item_amounts(item: &Item) -> Amounts {
    let mut amounts = Amounts::default();
    if adjudication_amounts(&item.adjudication, &mut amounts) {
        return amounts;
    }
    for d in &item.detail {
        let mut da = Amounts::default();
        if !adjudication_amounts(&d.adjudication, &mut da) {
            for s in &d.sub_detail {
                adjudication_amounts(&s.adjudication, &mut da);
            }
        }
        amounts.plus(&da);
    }
    amounts
}

/// Words for a reason code from the HL7 adjudication-reason code system.
fn reason_words(c: &CodeableConcept) -> Option<String> {
    if let Some(w) = c.words() {
        return Some(w.to_string());
    }
    c.code().map(|code| match code {
        "ar001" => "Care may not be covered".to_string(),
        "ar002" => "Plan limit reached".to_string(),
        other => format!("Reason code {other}"),
    })
}

fn push_unique(list: &mut Vec<String>, s: String) {
    if !list.contains(&s) {
        list.push(s);
    }
}

impl Statement {
    pub fn of(eob: &ExplanationOfBenefit) -> Statement {
        let mut currency = None;
        let mut note_currency = |m: Option<&super::model::Money>| {
            if currency.is_none() {
                currency = m.and_then(|m| m.currency.clone());
            }
        };
        let mut denial_reasons = Vec::new();
        let mut lines = Vec::new();
        let mut totals = Amounts::default();
        for item in &eob.item {
            for a in &item.adjudication {
                note_currency(a.amount.as_ref());
                if let Some(r) = a.reason.as_ref().and_then(reason_words) {
                    push_unique(&mut denial_reasons, r);
                }
            }
            for n in &item.note_number {
                if let Some(t) = eob
                    .process_note
                    .iter()
                    .find(|p| p.number == Some(*n))
                    .and_then(|p| p.text.clone())
                {
                    push_unique(&mut denial_reasons, t);
                }
            }
            let mut amounts = item_amounts(item);
            let mut estimate = false;
            if amounts.you_may_owe.is_none() {
                let parts = [
                    amounts.deductible,
                    amounts.copay,
                    amounts.coinsurance,
                    amounts.not_covered,
                ];
                if parts.iter().any(Option::is_some) {
                    amounts.you_may_owe = Some(
                        parts
                            .iter()
                            .flatten()
                            .fold(0i64, |a, b| a.saturating_add(*b)),
                    );
                    estimate = true;
                }
            }
            totals.plus(&amounts);
            let service_date = item
                .serviced_date
                .clone()
                .or_else(|| item.serviced_period.as_ref().and_then(|p| p.start.clone()));
            lines.push(Line {
                sequence: item.sequence,
                description: item.product_or_service.words().map(str::to_string),
                code: item.product_or_service.code().map(str::to_string),
                service_date,
                amounts,
                you_may_owe_is_estimate: estimate,
            });
        }
        for a in &eob.adjudication {
            if let Some(r) = a.reason.as_ref().and_then(reason_words) {
                push_unique(&mut denial_reasons, r);
            }
        }
        match eob.outcome.as_str() {
            "error" => push_unique(
                &mut denial_reasons,
                "The plan could not process this claim.".into(),
            ),
            "partial" => push_unique(
                &mut denial_reasons,
                "The plan processed only part of this claim.".into(),
            ),
            _ => {}
        }
        if eob.outcome != "complete" {
            for n in &eob.process_note {
                if let Some(t) = &n.text {
                    push_unique(&mut denial_reasons, t.clone());
                }
            }
        }
        let stated_totals = eob
            .total
            .iter()
            .map(|t| {
                note_currency(t.amount.as_ref());
                StatedTotal {
                    category: t
                        .category
                        .words()
                        .or(t.category.code())
                        .unwrap_or("total")
                        .to_string(),
                    cents: t.amount.as_ref().and_then(|m| m.cents()),
                }
            })
            .collect();
        let focal = eob.insurance.iter().find(|i| i.focal == Some(true));
        let member_id = focal
            .and_then(|i| i.coverage.reference.as_deref())
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|id| eob.contained.iter().find(|c| c.id.as_deref() == Some(id)))
            .and_then(|c| c.subscriber_id.clone());
        let (mut service_start, mut service_end) = eob
            .billable_period
            .as_ref()
            .map(|p| (p.start.clone(), p.end.clone()))
            .unwrap_or_default();
        if service_start.is_none() {
            let mut dates: Vec<&str> = lines
                .iter()
                .filter_map(|l| l.service_date.as_deref())
                .collect();
            dates.sort_unstable();
            service_start = dates.first().map(|d| d.to_string());
            service_end = dates.last().map(|d| d.to_string());
        }
        Statement {
            plan: eob.insurer.words().map(str::to_string),
            coverage: focal.and_then(|i| i.coverage.words()).map(str::to_string),
            member_id,
            claim_number: eob.identifier.iter().find_map(|i| i.value.clone()),
            provider: eob.provider.words().map(str::to_string),
            created: eob.created.clone(),
            service_start,
            service_end,
            currency,
            lines,
            totals,
            stated_totals,
            denial_reasons,
            disposition: eob.disposition.clone(),
            not_a_bill: NOT_A_BILL,
        }
    }
}
