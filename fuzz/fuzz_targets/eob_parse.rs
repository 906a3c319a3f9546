//! The EOB parser and validator (`portico_core::eob::parse`), strict and not,
//! and the statement (`Statement::of`) of every EOB they accept.
//!
//! Beyond "does not panic", it asserts what the module promises, so that a
//! violation is a finding:
//! - a refusal carries an error; strict and non-strict refuse for the same kind
//!   of reason; a syntax refusal names the line and column in the upload where
//!   it stops being JSON (for a Bundle, in the upload, not in the entry);
//! - strict accepts exactly what non-strict accepts without warnings;
//! - an accepted EOB's bytes are a slice of the upload (all of it for a lone
//!   EOB) holding a JSON object whose resourceType is ExplanationOfBenefit;
//! - what the validator requires holds of the typed EOB it hands over;
//! - every amount the validator let through turns into cents;
//! - the statement has one line per item; its totals are the exact sums of its
//!   lines' amounts in every column; an estimated "you may owe" is the sum of
//!   deductible, copay, coinsurance and not covered; denial reasons are unique.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_core::eob::model::{Adjudication, Bundle, ExplanationOfBenefit, Money, Peek};
use portico_core::eob::{
    parse, Amounts, Column, ParseOptions, Parsed, Rejection, RejectionKind, Severity, Statement,
    NOT_A_BILL,
};
use serde_json::value::RawValue;
use serde_json::Value;

const COLUMNS: [Column; 8] = [
    Column::Billed,
    Column::Allowed,
    Column::PlanPaid,
    Column::Deductible,
    Column::Copay,
    Column::Coinsurance,
    Column::NotCovered,
    Column::YouMayOwe,
];

fuzz_target!(|data: &[u8]| {
    let strict = parse(data, ParseOptions { strict: true });
    let lenient = parse(data, ParseOptions { strict: false });
    for (result, is_strict) in [(&strict, true), (&lenient, false)] {
        match result {
            Ok(parsed) => accepted(data, parsed, is_strict),
            Err(rejection) => refused(data, rejection),
        }
    }
    match (&strict, &lenient) {
        (Ok(s), Ok(l)) => {
            assert!(
                l.eobs.iter().all(|e| e.warnings.is_empty()),
                "strict accepted an upload that non-strict warns about"
            );
            let paths = |p: &Parsed| p.eobs.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
            assert_eq!(
                paths(s),
                paths(l),
                "strict and non-strict accept different EOBs"
            );
            assert_eq!(s.ignored, l.ignored);
        }
        (Ok(_), Err(r)) => panic!("strict accepted what non-strict refused: {r}"),
        (Err(r), Ok(l)) => assert!(
            l.eobs.iter().any(|e| !e.warnings.is_empty()),
            "strict refused ({r}) an upload that non-strict accepted without a warning"
        ),
        (Err(s), Err(l)) => assert_eq!(
            std::mem::discriminant(&s.kind),
            std::mem::discriminant(&l.kind),
            "strict and non-strict refuse for different kinds of reason"
        ),
    }
});

fn refused(data: &[u8], r: &Rejection) {
    assert!(
        r.errors().next().is_some(),
        "a refusal without an error: {r:?}"
    );
    assert_eq!(r.outcome.resource_type, "OperationOutcome");
    if let RejectionKind::Syntax { line, column } = r.kind {
        let want = syntax_position(data)
            .expect("a syntax refusal, but every resource Portico reads is JSON");
        assert_eq!(
            (line, column),
            want,
            "a syntax refusal at the wrong place in the upload"
        );
    }
}

/// Where a JSON reader that keeps the whole upload as text, and reads the EOBs in
/// it as `Value`s, first finds it is not JSON: a (line, column) of the upload.
fn syntax_position(data: &[u8]) -> Option<(usize, usize)> {
    let whole: &RawValue = match serde_json::from_slice(data) {
        Ok(w) => w,
        Err(e) => return Some((e.line(), e.column())),
    };
    let peek: Peek = serde_json::from_str(whole.get()).ok()?;
    match peek.resource_type.as_deref() {
        Some("ExplanationOfBenefit") => serde_json::from_slice::<Value>(data)
            .err()
            .map(|e| (e.line(), e.column())),
        Some("Bundle") => {
            let bundle: Bundle = serde_json::from_str(whole.get()).ok()?;
            bundle
                .entry
                .iter()
                .filter_map(|e| e.resource)
                .find_map(|raw| {
                    let is_eob = serde_json::from_str::<Peek>(raw.get())
                        .ok()
                        .and_then(|p| p.resource_type)
                        .is_some_and(|t| t == "ExplanationOfBenefit");
                    if !is_eob {
                        return None;
                    }
                    let e = serde_json::from_str::<Value>(raw.get()).err()?;
                    let start = offset_in(data, raw.get().as_bytes());
                    let before = &data[..start];
                    let lines_before = before.iter().filter(|b| **b == b'\n').count();
                    let column = if e.line() == 1 {
                        let line_start = before
                            .iter()
                            .rposition(|b| *b == b'\n')
                            .map_or(0, |i| i + 1);
                        start - line_start + e.column()
                    } else {
                        e.column()
                    };
                    Some((lines_before + e.line(), column))
                })
        }
        _ => None,
    }
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    assert!(
        p >= w && p + part.len() <= w + whole.len(),
        "an EOB's bytes are not a slice of the upload"
    );
    p - w
}

fn accepted(data: &[u8], parsed: &Parsed, strict: bool) {
    for a in &parsed.eobs {
        offset_in(data, a.json);
        if a.path == "ExplanationOfBenefit" {
            assert_eq!(a.json, data, "a lone EOB's bytes are the whole upload");
        } else {
            assert!(a.path.starts_with("Bundle.entry["), "path {}", a.path);
        }
        let v: Value = serde_json::from_slice(a.json).expect("an accepted EOB's bytes are JSON");
        assert_eq!(v["resourceType"], "ExplanationOfBenefit");
        if strict {
            assert!(a.warnings.is_empty(), "strict, yet warnings");
        }
        assert!(a.warnings.iter().all(|w| w.severity == Severity::Warning));
        required(&a.eob, strict);
        amounts_have_cents(&a.eob);
        statement(&a.eob);
    }
}

/// What the validator requires, read back from the typed EOB.
fn required(eob: &ExplanationOfBenefit, strict: bool) {
    assert!(["active", "cancelled", "draft", "entered-in-error"].contains(&eob.status.as_str()));
    assert!(["claim", "preauthorization", "predetermination"].contains(&eob.use_.as_str()));
    assert!(["queued", "complete", "error", "partial"].contains(&eob.outcome.as_str()));
    assert!(eob.created.len() >= 4 && eob.created.as_bytes()[..4].iter().all(u8::is_ascii_digit));
    let focal = eob
        .insurance
        .iter()
        .filter(|i| i.focal == Some(true))
        .count();
    assert_eq!(
        focal, 1,
        "an accepted EOB without exactly one focal insurance"
    );
    for item in &eob.item {
        assert!(
            item.sequence.is_some_and(|s| s > 0),
            "item without a positive sequence"
        );
        let p = &item.product_or_service;
        assert!(
            !p.coding.is_empty() || p.text.is_some(),
            "empty productOrService"
        );
        if strict {
            assert!(
                item.adjudication.iter().any(|a| a.amount.is_some()),
                "strict, yet an item without adjudication amounts"
            );
        }
    }
    if strict {
        assert!(
            !eob.identifier.is_empty(),
            "strict, yet no claim identifier"
        );
        assert!(
            eob.billable_period.is_some(),
            "strict, yet no billablePeriod"
        );
    }
}

/// The validator refuses an amount it cannot turn into cents ("amount out of
/// range"); the statement must then be able to turn every accepted one.
fn amounts_have_cents(eob: &ExplanationOfBenefit) {
    let check = |m: Option<&Money>, what: &str| {
        if let Some(m) = m {
            if let Some(v) = &m.value {
                assert!(
                    m.cents().is_some(),
                    "the validator accepted {what} {} that has no cents",
                    v.get()
                );
            }
        }
    };
    let adjudications = |list: &[Adjudication], what: &str| {
        for a in list {
            check(a.amount.as_ref(), what);
        }
    };
    adjudications(&eob.adjudication, "the EOB's adjudication amount");
    for item in &eob.item {
        check(item.net.as_ref(), "item.net");
        adjudications(&item.adjudication, "an item's adjudication amount");
        for d in &item.detail {
            adjudications(&d.adjudication, "a detail's adjudication amount");
            for s in &d.sub_detail {
                adjudications(&s.adjudication, "a subDetail's adjudication amount");
            }
        }
    }
    for t in &eob.total {
        check(t.amount.as_ref(), "a total");
    }
}

fn statement(eob: &ExplanationOfBenefit) {
    let s = Statement::of(eob);
    assert_eq!(s.not_a_bill, NOT_A_BILL);
    assert_eq!(s.lines.len(), eob.item.len(), "one line per item");
    assert_eq!(s.stated_totals.len(), eob.total.len());
    assert_eq!(s.created, eob.created);
    for line in &s.lines {
        let a = &line.amounts;
        if line.you_may_owe_is_estimate {
            let parts: i128 = [a.deductible, a.copay, a.coinsurance, a.not_covered]
                .iter()
                .flatten()
                .map(|c| i128::from(*c))
                .sum();
            assert_eq!(
                a.you_may_owe.map(i128::from),
                Some(parts),
                "an estimated 'you may owe' that is not the sum of its parts"
            );
        }
    }
    for c in COLUMNS {
        let cells: Vec<i64> = s.lines.iter().filter_map(|l| l.amounts.get(c)).collect();
        let want = if cells.is_empty() {
            None
        } else {
            Some(cells.iter().map(|c| i128::from(*c)).sum::<i128>())
        };
        assert_eq!(
            s.totals.get(c).map(i128::from),
            want,
            "the {c:?} total is not the sum of the lines: {:?}",
            totals_and_lines(&s.totals, &s)
        );
    }
    let mut reasons = s.denial_reasons.clone();
    reasons.sort();
    reasons.dedup();
    assert_eq!(
        reasons.len(),
        s.denial_reasons.len(),
        "a denial reason twice"
    );
}

fn totals_and_lines<'s>(totals: &'s Amounts, s: &'s Statement) -> (&'s Amounts, Vec<&'s Amounts>) {
    (totals, s.lines.iter().map(|l| &l.amounts).collect())
}
