//! Checks an EOB (as a `serde_json::Value`) against FHIR R4 and the CARIN Blue
//! Button expectations, naming each bad element by its FHIRPath.

use serde_json::{Map, Value};

use super::outcome::Issue;

const STATUS: &[&str] = &["active", "cancelled", "draft", "entered-in-error"];
const USE: &[&str] = &["claim", "preauthorization", "predetermination"];
const OUTCOME: &[&str] = &["queued", "complete", "error", "partial"];

/// Elements that exist on an STU3 ExplanationOfBenefit and were removed or
/// renamed in R4.
const STU3_ONLY: &[(&str, &str)] = &[
    ("organization", "R4 names the insurer in `insurer`"),
    ("hospitalization", "R4 has no `hospitalization`"),
    ("information", "R4 renamed it `supportingInfo`"),
    ("totalCost", "R4 puts totals in the `total` list"),
    ("totalBenefit", "R4 puts totals in the `total` list"),
    ("unallocDeductable", "R4 puts totals in the `total` list"),
];

/// If this EOB is shaped like FHIR STU3, the element that gives it away and why.
pub fn stu3_tell(eob: &Map<String, Value>, at: &str) -> Option<(String, String)> {
    if eob.get("insurance").is_some_and(Value::is_object) {
        return Some((
            format!("{at}.insurance"),
            "insurance is a single object, as in FHIR STU3; in R4 it is a list whose one focal entry is the coverage that paid".into(),
        ));
    }
    for (name, why) in STU3_ONLY {
        if eob.contains_key(*name) {
            return Some((
                format!("{at}.{name}"),
                format!("`{name}` exists only in FHIR STU3; {why}"),
            ));
        }
    }
    if eob.get("patient").is_some_and(Value::is_string) {
        return Some((
            format!("{at}.patient"),
            "patient is a bare string; it must be a Reference object such as {\"reference\": \"Patient/123\"}".into(),
        ));
    }
    if let Some(items) = eob.get("item").and_then(Value::as_array) {
        for (i, item) in items.iter().enumerate() {
            if item.get("service").is_some() && item.get("productOrService").is_none() {
                return Some((
                    format!("{at}.item[{i}].service"),
                    "item.service is FHIR STU3; R4 renamed it productOrService".into(),
                ));
            }
        }
    }
    None
}

struct Check<'a> {
    issues: &'a mut Vec<Issue>,
    strict: bool,
}

impl Check<'_> {
    fn error(&mut self, code: &'static str, path: String, msg: impl Into<String>) {
        self.issues.push(Issue::error(code, Some(path), msg));
    }

    /// A CARIN Blue Button expectation: a warning, or an error when strict.
    fn expect(&mut self, path: String, msg: impl Into<String>) {
        let msg = format!("CARIN Blue Button: {}", msg.into());
        if self.strict {
            self.issues
                .push(Issue::error("incomplete", Some(path), msg));
        } else {
            self.issues.push(Issue::warning("incomplete", path, msg));
        }
    }

    fn required<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        at: &str,
        name: &str,
    ) -> Option<&'v Value> {
        match obj.get(name) {
            None | Some(Value::Null) => {
                self.error(
                    "required",
                    format!("{at}.{name}"),
                    format!("{name} is required"),
                );
                None
            }
            Some(v) => Some(v),
        }
    }

    fn code(&mut self, obj: &Map<String, Value>, at: &str, name: &str, allowed: &[&str]) {
        if let Some(v) = self.required(obj, at, name) {
            match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                Some(s) => self.error(
                    "code-invalid",
                    format!("{at}.{name}"),
                    format!("{name} '{s}' is not one of {}", allowed.join(", ")),
                ),
                None => self.error(
                    "value",
                    format!("{at}.{name}"),
                    format!("{name} must be a string code"),
                ),
            }
        }
    }

    fn object<'v>(
        &mut self,
        v: &'v Value,
        path: String,
        kind: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v.as_object() {
            Some(o) => Some(o),
            None => {
                self.error(
                    "structure",
                    path,
                    format!("must be a {kind} (a JSON object)"),
                );
                None
            }
        }
    }

    fn array<'v>(&mut self, obj: &'v Map<String, Value>, at: &str, name: &str) -> &'v [Value] {
        match obj.get(name) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(_) => {
                self.error(
                    "structure",
                    format!("{at}.{name}"),
                    format!("{name} must be a list"),
                );
                &[]
            }
        }
    }

    fn reference(&mut self, obj: &Map<String, Value>, at: &str, name: &str) {
        if let Some(v) = self.required(obj, at, name) {
            self.reference_value(v, format!("{at}.{name}"));
        }
    }

    fn reference_value(&mut self, v: &Value, path: String) {
        if let Some(r) = self.object(v, path.clone(), "Reference") {
            if let Some(s) = r.get("reference") {
                if !s.is_string() {
                    self.error(
                        "value",
                        format!("{path}.reference"),
                        "reference must be a string",
                    );
                }
            } else if !r.contains_key("identifier") && !r.contains_key("display") {
                self.error(
                    "required",
                    format!("{path}.reference"),
                    "a Reference needs a reference, an identifier or a display",
                );
            }
        }
    }

    fn codeable(&mut self, v: &Value, path: String) {
        if let Some(c) = self.object(v, path.clone(), "CodeableConcept") {
            let codings = self.array(c, &path, "coding");
            if codings.is_empty() && !c.get("text").is_some_and(Value::is_string) {
                self.error(
                    "required",
                    format!("{path}.coding"),
                    "a CodeableConcept needs a coding or a text",
                );
            }
        }
    }

    fn money(&mut self, v: &Value, path: String) {
        if let Some(m) = self.object(v, path.clone(), "Money") {
            match m.get("value") {
                Some(Value::Number(n)) => {
                    if super::money::cents(&n.to_string()).is_none() {
                        self.error(
                            "value",
                            format!("{path}.value"),
                            "amount out of range: at most 10,000,000,000.00 either way",
                        );
                    }
                }
                None => {}
                Some(_) => self.error(
                    "value",
                    format!("{path}.value"),
                    "value must be a decimal number",
                ),
            }
            if m.get("currency").is_some_and(|c| !c.is_string()) {
                self.error(
                    "value",
                    format!("{path}.currency"),
                    "currency must be a string code",
                );
            }
        }
    }

    fn adjudications(&mut self, obj: &Map<String, Value>, at: &str) {
        for (i, a) in self.array(obj, at, "adjudication").iter().enumerate() {
            let path = format!("{at}.adjudication[{i}]");
            if let Some(a) = self.object(a, path.clone(), "adjudication") {
                if let Some(c) = self.required(a, &path, "category") {
                    self.codeable(c, format!("{path}.category"));
                }
                if let Some(m) = a.get("amount") {
                    self.money(m, format!("{path}.amount"));
                }
                if let Some(r) = a.get("reason") {
                    self.codeable(r, format!("{path}.reason"));
                }
            }
        }
    }
}

/// Checks one EOB at path `at` (`ExplanationOfBenefit` or
/// `Bundle.entry[i].resource`); pushes errors and warnings onto `issues`.
pub fn eob(v: &Map<String, Value>, at: &str, strict: bool, issues: &mut Vec<Issue>) {
    let mut c = Check { issues, strict };
    c.code(v, at, "status", STATUS);
    c.code(v, at, "use", USE);
    c.code(v, at, "outcome", OUTCOME);
    if let Some(t) = c.required(v, at, "type") {
        c.codeable(t, format!("{at}.type"));
    }
    c.reference(v, at, "patient");
    c.reference(v, at, "insurer");
    c.reference(v, at, "provider");
    if let Some(created) = c.required(v, at, "created") {
        if !created
            .as_str()
            .is_some_and(|s| s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit))
        {
            c.error(
                "value",
                format!("{at}.created"),
                "created must be a FHIR dateTime such as 2024-05-01",
            );
        }
    }
    if v.get("disposition").is_some_and(|d| !d.is_string()) {
        c.error(
            "value",
            format!("{at}.disposition"),
            "disposition must be a string",
        );
    }

    // insurance: 1..*, exactly one focal.
    if c.required(v, at, "insurance").is_some() {
        let list = c.array(v, at, "insurance");
        if list.is_empty() && v.get("insurance").is_some_and(Value::is_array) {
            c.error(
                "required",
                format!("{at}.insurance"),
                "insurance needs at least one entry",
            );
        }
        let mut focal = Vec::new();
        for (i, ins) in list.iter().enumerate() {
            let path = format!("{at}.insurance[{i}]");
            if let Some(ins) = c.object(ins, path.clone(), "insurance entry") {
                match ins.get("focal") {
                    Some(Value::Bool(true)) => focal.push(i),
                    Some(Value::Bool(false)) => {}
                    None => c.error("required", format!("{path}.focal"), "focal is required"),
                    Some(_) => c.error(
                        "value",
                        format!("{path}.focal"),
                        "focal must be true or false",
                    ),
                }
                c.reference(ins, &path, "coverage");
            }
        }
        if !list.is_empty() && focal.len() != 1 {
            let path = match focal.get(1) {
                Some(second) => format!("{at}.insurance[{second}].focal"),
                None => format!("{at}.insurance"),
            };
            c.error(
                "business-rule",
                path,
                format!("exactly one insurance must be focal, found {}", focal.len()),
            );
        }
    }

    // CARIN Blue Button expectations.
    if c.array(v, at, "identifier").is_empty() {
        c.expect(
            format!("{at}.identifier"),
            "the claim's identifier (unique claim ID) is expected",
        );
    }
    match v.get("billablePeriod") {
        None => c.expect(format!("{at}.billablePeriod"), "billablePeriod is expected"),
        Some(p) => {
            c.object(p, format!("{at}.billablePeriod"), "Period");
        }
    }

    for (i, item) in c.array(v, at, "item").iter().enumerate() {
        let path = format!("{at}.item[{i}]");
        let Some(item) = c.object(item, path.clone(), "item") else {
            continue;
        };
        match c.required(item, &path, "sequence") {
            Some(Value::Number(n)) if n.as_u64().is_some_and(|s| s > 0) => {}
            Some(_) => c.error(
                "value",
                format!("{path}.sequence"),
                "sequence must be a positive integer",
            ),
            None => {}
        }
        if let Some(p) = c.required(item, &path, "productOrService") {
            c.codeable(p, format!("{path}.productOrService"));
        }
        if let Some(net) = item.get("net") {
            c.money(net, format!("{path}.net"));
        }
        c.adjudications(item, &path);
        let has_amounts = c
            .array(item, &path, "adjudication")
            .iter()
            .any(|a| a.get("amount").is_some());
        if !has_amounts {
            c.expect(
                format!("{path}.adjudication"),
                "each item is expected to carry adjudication amounts by category",
            );
        }
        for (d, detail) in c.array(item, &path, "detail").iter().enumerate() {
            let dpath = format!("{path}.detail[{d}]");
            if let Some(detail) = c.object(detail, dpath.clone(), "detail") {
                c.adjudications(detail, &dpath);
                for (s, sub) in c.array(detail, &dpath, "subDetail").iter().enumerate() {
                    let spath = format!("{dpath}.subDetail[{s}]");
                    if let Some(sub) = c.object(sub, spath.clone(), "subDetail") {
                        c.adjudications(sub, &spath);
                    }
                }
            }
        }
    }
    c.adjudications(v, at);
    for (i, t) in c.array(v, at, "total").iter().enumerate() {
        let path = format!("{at}.total[{i}]");
        if let Some(t) = c.object(t, path.clone(), "total") {
            if let Some(cat) = c.required(t, &path, "category") {
                c.codeable(cat, format!("{path}.category"));
            }
            if let Some(m) = c.required(t, &path, "amount") {
                c.money(m, format!("{path}.amount"));
            }
        }
    }
    for (i, n) in c.array(v, at, "processNote").iter().enumerate() {
        let path = format!("{at}.processNote[{i}]");
        if let Some(n) = c.object(n, path.clone(), "processNote") {
            if n.get("text").is_some_and(|t| !t.is_string()) {
                c.error("value", format!("{path}.text"), "text must be a string");
            }
        }
    }
}
