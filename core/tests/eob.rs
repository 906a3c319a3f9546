//! EOB uploads: the HL7 examples and the Synthea bundle are accepted and their
//! statements add up; each kind of bad upload is refused with a clear issue.

use portico_core::eob::{parse, ParseOptions, PatientLink, RejectionKind, Statement};
use serde_json::{json, Value};

const EB3500: &[u8] =
    include_bytes!("fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json");
const EB3501: &[u8] =
    include_bytes!("fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3501.json");
const SYNTHEA: &[u8] = include_bytes!("fixtures/fhir/synthea/synthea-patient-bundle-a.json");

/// The statement column of a category code, written out independently of core.
fn test_column(code: &str) -> Option<usize> {
    let cms = "https://bluebutton.cms.gov/resources/variables/";
    let code = code.strip_prefix(cms).unwrap_or(code);
    match code {
        "submitted" | "line_sbmtd_chrg_amt" => Some(0),
        "eligible" | "line_alowd_chrg_amt" => Some(1),
        "benefit" | "paidtoprovider" | "line_prvdr_pmt_amt" => Some(2),
        "deductible" | "line_bene_ptb_ddctbl_amt" => Some(3),
        "copay" => Some(4),
        "coinsurance" | "line_coinsrnc_amt" => Some(5),
        "noncovered" => Some(6),
        "memberliability" => Some(7),
        _ => None,
    }
}

/// Sums per column of the item-level adjudications, from the JSON Value.
fn expected_sums(eob: &Value) -> [Option<i64>; 8] {
    let mut sums = [None; 8];
    for item in eob["item"].as_array().into_iter().flatten() {
        for a in item["adjudication"].as_array().into_iter().flatten() {
            let code = a["category"]["coding"][0]["code"].as_str().unwrap_or("");
            if let (Some(col), Some(v)) = (test_column(code), a["amount"]["value"].as_f64()) {
                let cents = (v * 100.0).round() as i64;
                sums[col] = Some(sums[col].unwrap_or(0) + cents);
            }
        }
    }
    sums
}

fn assert_totals(statement: &Statement, eob: &Value) {
    let sums = expected_sums(eob);
    let t = &statement.totals;
    let got = [
        t.billed,
        t.allowed,
        t.plan_paid,
        t.deductible,
        t.copay,
        t.coinsurance,
        t.not_covered,
    ];
    assert_eq!(got, sums[..7], "totals of {}", eob["id"]);
    if sums[7].is_some() {
        assert_eq!(t.you_may_owe, sums[7]);
    }
}

#[test]
fn hl7_examples_are_accepted_and_add_up() {
    for bytes in [EB3500, EB3501] {
        let parsed = parse(bytes, ParseOptions::default()).expect("accepted");
        assert_eq!(parsed.eobs.len(), 1);
        let accepted = &parsed.eobs[0];
        assert_eq!(accepted.json, bytes, "original bytes kept");
        assert!(
            matches!(accepted.patient, PatientLink::External { reference: Some(ref r), .. } if r == "Patient/pat1")
        );
        let statement = Statement::of(&accepted.eob);
        let value: Value = serde_json::from_slice(bytes).expect("fixture is JSON");
        assert_totals(&statement, &value);
        assert_eq!(statement.not_a_bill, "This is not a bill.");
    }
    let s = Statement::of(&parse(EB3500, ParseOptions::default()).expect("ok").eobs[0].eob);
    assert_eq!(s.totals.plan_paid, Some(27600));
    assert_eq!(s.totals.allowed, Some(12000));
    assert_eq!(s.claim_number.as_deref(), Some("987654321"));
    assert_eq!(s.lines.len(), 2);
    let s = Statement::of(&parse(EB3501, ParseOptions::default()).expect("ok").eobs[0].eob);
    assert!(
        s.denial_reasons.iter().any(|r| r == "Invalid claim"),
        "{:?}",
        s.denial_reasons
    );
}

#[test]
fn synthea_bundle_every_eob_accepted_and_adds_up() {
    let parsed = parse(SYNTHEA, ParseOptions::default()).expect("accepted");
    assert_eq!(parsed.eobs.len(), 21);
    // 319 entries: 21 EOBs, 1 Patient, 297 others.
    assert_eq!(parsed.ignored_total(), 297);
    assert_eq!(parsed.ignored.get("Observation"), Some(&187));
    let bundle: Value = serde_json::from_slice(SYNTHEA).expect("fixture is JSON");
    for accepted in &parsed.eobs {
        let original: Value = serde_json::from_slice(accepted.json).expect("slice is JSON");
        assert_eq!(original["resourceType"], "ExplanationOfBenefit");
        let PatientLink::Resolved(p) = &accepted.patient else {
            panic!("urn:uuid patient resolved")
        };
        assert_eq!(p.email, None, "the Synthea patient has no email");
        assert!(p
            .identifiers
            .iter()
            .any(|i| i.value.as_deref() == Some("999-93-7537")));
        assert_totals(&Statement::of(&accepted.eob), &original);
    }
    let ids: Vec<&Value> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["resource"]["resourceType"] == "ExplanationOfBenefit")
        .map(|e| &e["resource"]["id"])
        .collect();
    assert_eq!(ids.len(), parsed.eobs.len());
    let with_money = parsed
        .eobs
        .iter()
        .filter(|e| Statement::of(&e.eob).totals.billed.is_some())
        .count();
    assert!(with_money > 0);
}

fn eob() -> Value {
    serde_json::from_slice(EB3500).expect("fixture")
}

fn refused(v: &Value) -> portico_core::eob::Rejection {
    let bytes = serde_json::to_vec(v).expect("json");
    parse(&bytes, ParseOptions::default()).expect_err("refused")
}

fn has_issue(r: &portico_core::eob::Rejection, path: &str) -> bool {
    r.errors().any(|i| i.expression.iter().any(|e| e == path))
}

#[test]
fn missing_status_is_refused() {
    let mut v = eob();
    v.as_object_mut().expect("obj").remove("status");
    let r = refused(&v);
    assert_eq!(r.kind, RejectionKind::Invalid);
    assert!(
        has_issue(&r, "ExplanationOfBenefit.status"),
        "{:?}",
        r.outcome
    );
    let out = serde_json::to_value(&r.outcome).expect("serializes");
    assert_eq!(out["resourceType"], "OperationOutcome");
    assert_eq!(out["issue"][0]["severity"], "error");
}

#[test]
fn two_focal_insurances_are_refused() {
    let mut v = eob();
    v["insurance"] = json!([{"focal": true, "coverage": {"reference": "Coverage/1"}},
                            {"focal": true, "coverage": {"reference": "Coverage/2"}}]);
    let r = refused(&v);
    assert!(
        has_issue(&r, "ExplanationOfBenefit.insurance[1].focal"),
        "{:?}",
        r.outcome
    );
}

#[test]
fn stu3_shape_is_refused_with_an_explanation() {
    let mut v = eob();
    v["insurance"] = json!({"coverage": {"reference": "Coverage/1"}});
    let r = refused(&v);
    assert_eq!(r.kind, RejectionKind::Stu3);
    assert!(has_issue(&r, "ExplanationOfBenefit.insurance"));
    assert!(r.outcome.issue[0].diagnostics.contains("STU3"));
    let mut v = eob();
    v["organization"] = json!({"reference": "Organization/1"});
    assert_eq!(refused(&v).kind, RejectionKind::Stu3);
}

#[test]
fn truncated_json_gives_line_and_column() {
    let cut = &EB3500[..200];
    let r = parse(cut, ParseOptions::default()).expect_err("refused");
    let RejectionKind::Syntax { line, column } = r.kind else {
        panic!("syntax: {:?}", r.kind)
    };
    let lines: Vec<&[u8]> = cut.split(|b| *b == b'\n').collect();
    assert_eq!(line, lines.len());
    assert!(column > 0);
    assert!(r.outcome.issue[0]
        .diagnostics
        .contains(&format!("line {line}, column {column}")));
}

fn bundle_of(eob: Value, patient_url: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"fullUrl": patient_url, "resource": {"resourceType": "Patient", "id": "p1",
              "identifier": [{"system": "urn:member", "value": "M-1"}],
              "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "pat@example.org"}]}},
            {"fullUrl": "urn:uuid:e1", "resource": eob},
            {"resource": {"resourceType": "Claim", "id": "c1"}}
        ]
    })).expect("json")
}

#[test]
fn bundle_patients_by_urn_uuid_and_unknown_reference() {
    let mut v = eob();
    v["patient"] = json!({"reference": "urn:uuid:aaaa"});
    let bytes = bundle_of(v.clone(), "urn:uuid:aaaa");
    let parsed = parse(&bytes, ParseOptions::default()).expect("accepted");
    let PatientLink::Resolved(p) = &parsed.eobs[0].patient else {
        panic!("resolved")
    };
    assert_eq!(p.email.as_deref(), Some("pat@example.org"));
    assert_eq!(parsed.ignored_total(), 1);
    assert_eq!(
        serde_json::from_slice::<Value>(parsed.eobs[0].json).expect("json"),
        v
    );

    let bytes = bundle_of(v, "urn:uuid:bbbb");
    let r = parse(&bytes, ParseOptions::default()).expect_err("refused");
    assert!(
        has_issue(&r, "Bundle.entry[1].resource.patient.reference"),
        "{:?}",
        r.outcome
    );
}

#[test]
fn contained_patient_is_resolved() {
    let mut v = eob();
    v["contained"] = json!([{"resourceType": "Patient", "id": "me",
        "identifier": [{"value": "X"}], "telecom": [{"system": "email", "value": "me@example.org"}]}]);
    v["patient"] = json!({"reference": "#me"});
    let bytes = serde_json::to_vec(&v).expect("json");
    let parsed = parse(&bytes, ParseOptions::default()).expect("accepted");
    let PatientLink::Resolved(p) = &parsed.eobs[0].patient else {
        panic!("resolved")
    };
    assert_eq!(p.email.as_deref(), Some("me@example.org"));
}

#[test]
fn carin_expectations_warn_or_refuse_when_strict() {
    // EB3500 has no billablePeriod.
    let parsed = parse(EB3500, ParseOptions::default()).expect("accepted");
    assert!(parsed.eobs[0]
        .warnings
        .iter()
        .any(|w| w.expression == ["ExplanationOfBenefit.billablePeriod"]));
    let r = parse(EB3500, ParseOptions { strict: true }).expect_err("strict refuses");
    assert!(has_issue(&r, "ExplanationOfBenefit.billablePeriod"));
}

#[test]
fn a_number_too_large_in_a_bundle_entry_is_placed_in_the_upload() {
    let upload = b"{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n{\"resource\":{\"resourceType\":\"ExplanationOfBenefit\",\"x\":1e400}}]}";
    let r = portico_core::eob::parse(upload, ParseOptions::default()).unwrap_err();
    assert_eq!(
        r.kind,
        portico_core::eob::RejectionKind::Syntax {
            line: 2,
            column: 60
        }
    );
    assert!(r.outcome.issue[0].diagnostics.contains("line 2, column 60"));
}

#[test]
fn absurd_amounts_are_refused_by_path() {
    let mut v = eob();
    v["item"][0]["adjudication"][0]["amount"]["value"] = serde_json::json!(5e16);
    let r = refused(&v);
    assert!(
        has_issue(
            &r,
            "ExplanationOfBenefit.item[0].adjudication[0].amount.value"
        ),
        "{:?}",
        r.outcome
    );
}
