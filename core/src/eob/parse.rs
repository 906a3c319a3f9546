//! From uploaded bytes to accepted EOBs with their Patients, or a [`Rejection`].

use std::collections::BTreeMap;

use serde_json::{value::RawValue, Value};

use super::model::{Bundle, ContactPoint, ExplanationOfBenefit, Identifier, Patient, Peek};
use super::outcome::{Issue, OperationOutcome, Rejection, RejectionKind, Severity};
use super::validate;

/// How strictly the plan's uploads are checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// CARIN Blue Button expectations are errors rather than warnings.
    pub strict: bool,
}

/// What Portico knows of the member an EOB is about, so a caller can pick the
/// recipient: the email when there is one, else a directory entry for an identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientInfo {
    pub id: Option<String>,
    pub identifiers: Vec<Identifier>,
    /// The first `telecom` with `system` = `email`.
    pub email: Option<String>,
}

/// The EOB's `patient`: resolved in the upload, or pointing outside it (an EOB
/// sent on its own with `Patient/123`); the caller decides what to do with that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientLink {
    Resolved(PatientInfo),
    External {
        reference: Option<String>,
        identifier: Option<Identifier>,
    },
}

impl PatientLink {
    /// The Patient's email, when the upload holds the Patient and it has one.
    pub fn email(&self) -> Option<&str> {
        match self {
            PatientLink::Resolved(p) => p.email.as_deref(),
            PatientLink::External { .. } => None,
        }
    }
}

/// One EOB that passed validation.
#[derive(Debug, Clone)]
pub struct AcceptedEob<'a> {
    /// The resource's original JSON bytes, exactly as uploaded (to be sealed).
    pub json: &'a [u8],
    /// The FHIRPath of the resource in the upload.
    pub path: String,
    pub eob: ExplanationOfBenefit,
    pub patient: PatientLink,
    /// CARIN expectations not met (when not strict).
    pub warnings: Vec<Issue>,
}

/// A good upload: its EOBs, and how many resources of other types were ignored.
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    pub eobs: Vec<AcceptedEob<'a>>,
    /// Resource type → count (Patients referenced by EOBs are not counted).
    pub ignored: BTreeMap<String, usize>,
}

impl Parsed<'_> {
    pub fn ignored_total(&self) -> usize {
        self.ignored.values().sum()
    }
}

fn syntax(e: &serde_json::Error) -> Rejection {
    at_position(e, e.line(), e.column())
}

/// A syntax error found in `part`, a slice of `upload` (a Bundle entry): its
/// line and column are given in the upload, where the sender can find them.
fn syntax_in(upload: &[u8], part: &[u8], e: &serde_json::Error) -> Rejection {
    let offset = (part.as_ptr() as usize).wrapping_sub(upload.as_ptr() as usize);
    if offset > upload.len() {
        return syntax(e);
    }
    // The error's byte index in the part, from its line and column.
    let line_start: usize = part
        .split(|&b| b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    let index = (offset + line_start + e.column().saturating_sub(1)).min(upload.len());
    let before = &upload[..index];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = index
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    at_position(e, line, column)
}

fn at_position(e: &serde_json::Error, line: usize, column: usize) -> Rejection {
    let e = e.to_string();
    // serde_json ends its message with its own position, in the part it read.
    let e = e.split(" at line ").next().unwrap_or_default();
    Rejection {
        kind: RejectionKind::Syntax { line, column },
        outcome: OperationOutcome::new(vec![Issue::error(
            "structure",
            None,
            format!("not valid JSON at line {line}, column {column}: {e}"),
        )]),
    }
}

fn patient_info(
    id: Option<String>,
    identifiers: Vec<Identifier>,
    telecom: &[ContactPoint],
) -> PatientInfo {
    let email = telecom
        .iter()
        .filter(|t| t.system.as_deref() == Some("email"))
        .find_map(|t| t.value.clone())
        .filter(|v| !v.trim().is_empty());
    PatientInfo {
        id,
        identifiers,
        email,
    }
}

/// A Patient entry of a Bundle.
struct BundlePatient {
    full_url: Option<String>,
    info: PatientInfo,
}

/// Parses one FHIR R4 ExplanationOfBenefit or a Bundle (collection, transaction
/// or batch) of EOBs and the Patients they reference. All or nothing: any
/// error refuses the whole upload, with every issue found.
pub fn parse<'a>(bytes: &'a [u8], options: ParseOptions) -> Result<Parsed<'a>, Rejection> {
    let whole: &'a RawValue = serde_json::from_slice(bytes).map_err(|e| syntax(&e))?;
    let peek: Peek = serde_json::from_str(whole.get()).map_err(|e| {
        Rejection::invalid(vec![Issue::error(
            "structure",
            None,
            format!("not a FHIR resource: {e}"),
        )])
    })?;
    match peek.resource_type.as_deref() {
        Some("ExplanationOfBenefit") => {
            let mut issues = Vec::new();
            let (eob, warnings) =
                check_eob(bytes, bytes, "ExplanationOfBenefit", options, &mut issues)?;
            if issues.iter().any(|i| i.severity == Severity::Error) {
                return Err(Rejection::invalid(issues));
            }
            let (eob, warnings) = (
                eob.ok_or_else(|| Rejection::invalid(issues.clone()))?,
                warnings,
            );
            let patient = contained_patient(&eob).unwrap_or_else(|| PatientLink::External {
                reference: eob.patient.reference.clone(),
                identifier: eob.patient.identifier.clone(),
            });
            Ok(Parsed {
                eobs: vec![AcceptedEob {
                    json: bytes,
                    path: "ExplanationOfBenefit".into(),
                    eob,
                    patient,
                    warnings,
                }],
                ignored: BTreeMap::new(),
            })
        }
        Some("Bundle") => parse_bundle(bytes, whole, options),
        Some(other) => Err(Rejection::invalid(vec![Issue::error(
            "not-supported",
            Some("resourceType".into()),
            format!("expected an ExplanationOfBenefit or a Bundle, not a {other}"),
        )])),
        None => Err(Rejection::invalid(vec![Issue::error(
            "required",
            Some("resourceType".into()),
            "resourceType is required",
        )])),
    }
}

/// Validates one EOB's bytes; errors go to `issues`. Returns the typed EOB (if
/// it could be read) and its warnings. STU3 refuses the whole upload at once.
fn check_eob(
    upload: &[u8],
    bytes: &[u8],
    at: &str,
    options: ParseOptions,
    issues: &mut Vec<Issue>,
) -> Result<(Option<ExplanationOfBenefit>, Vec<Issue>), Rejection> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| syntax_in(upload, bytes, &e))?;
    let Some(obj) = value.as_object() else {
        issues.push(Issue::error(
            "structure",
            Some(at.into()),
            "a resource must be a JSON object",
        ));
        return Ok((None, Vec::new()));
    };
    if let Some((path, why)) = validate::stu3_tell(obj, at) {
        return Err(Rejection {
            kind: RejectionKind::Stu3,
            outcome: OperationOutcome::new(vec![Issue::error(
                "not-supported",
                Some(path),
                format!("This looks like a FHIR STU3 ExplanationOfBenefit: {why}. Portico accepts FHIR R4 (CARIN Blue Button) only; please send the R4 form."),
            )]),
        });
    }
    let mut own = Vec::new();
    validate::eob(obj, at, options.strict, &mut own);
    let (errors, warnings): (Vec<Issue>, Vec<Issue>) =
        own.into_iter().partition(|i| i.severity == Severity::Error);
    if !errors.is_empty() {
        issues.extend(errors);
        issues.extend(warnings);
        return Ok((None, Vec::new()));
    }
    match serde_json::from_slice::<ExplanationOfBenefit>(bytes) {
        Ok(eob) => Ok((Some(eob), warnings)),
        Err(e) => {
            issues.push(Issue::error(
                "structure",
                Some(at.into()),
                format!("could not be read: {e}"),
            ));
            Ok((None, Vec::new()))
        }
    }
}

fn contained_patient(eob: &ExplanationOfBenefit) -> Option<PatientLink> {
    let id = eob.patient.reference.as_deref()?.strip_prefix('#')?;
    eob.contained
        .iter()
        .find(|c| c.resource_type.as_deref() == Some("Patient") && c.id.as_deref() == Some(id))
        .map(|c| {
            PatientLink::Resolved(patient_info(c.id.clone(), c.identifier.clone(), &c.telecom))
        })
}

fn resolve(reference: &str, patients: &[BundlePatient]) -> Option<PatientInfo> {
    let found = patients.iter().find(|p| {
        let by_url = p.full_url.as_deref().is_some_and(|u| {
            u == reference || (!reference.contains(':') && u.ends_with(&format!("/{reference}")))
        });
        let by_id = reference
            .strip_prefix("Patient/")
            .is_some_and(|id| p.info.id.as_deref() == Some(id));
        by_url || by_id
    });
    found.map(|p| p.info.clone())
}

fn parse_bundle<'a>(
    upload: &'a [u8],
    whole: &'a RawValue,
    options: ParseOptions,
) -> Result<Parsed<'a>, Rejection> {
    let bundle: Bundle<'a> = serde_json::from_str(whole.get()).map_err(|e| {
        Rejection::invalid(vec![Issue::error(
            "structure",
            Some("Bundle".into()),
            format!(
                "not a readable Bundle (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )])
    })?;
    let mut issues = Vec::new();
    match bundle.type_.as_deref() {
        Some("collection" | "transaction" | "batch") => {}
        Some(other) => issues.push(Issue::error(
            "code-invalid",
            Some("Bundle.type".into()),
            format!("a Bundle of EOBs must be a collection, transaction or batch, not {other}"),
        )),
        None => issues.push(Issue::error(
            "required",
            Some("Bundle.type".into()),
            "type is required",
        )),
    }

    let mut patients = Vec::new();
    let mut eob_entries = Vec::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in bundle.entry.iter().enumerate() {
        let at = format!("Bundle.entry[{i}].resource");
        let Some(raw) = entry.resource else {
            issues.push(Issue::error("required", Some(at), "entry has no resource"));
            continue;
        };
        let kind = serde_json::from_str::<Peek>(raw.get())
            .ok()
            .and_then(|p| p.resource_type)
            .unwrap_or_default();
        match kind.as_str() {
            "ExplanationOfBenefit" => eob_entries.push((i, at, raw)),
            "Patient" => match serde_json::from_str::<Patient>(raw.get()) {
                Ok(p) => patients.push(BundlePatient {
                    full_url: entry.full_url.clone(),
                    info: patient_info(p.id, p.identifier, &p.telecom),
                }),
                Err(e) => issues.push(Issue::error(
                    "structure",
                    Some(at),
                    format!("Patient could not be read: {e}"),
                )),
            },
            "" => issues.push(Issue::error(
                "required",
                Some(format!("{at}.resourceType")),
                "resourceType is required",
            )),
            other => *ignored.entry(other.to_string()).or_default() += 1,
        }
    }
    if eob_entries.is_empty() {
        issues.push(Issue::error(
            "required",
            Some("Bundle.entry".into()),
            "the Bundle holds no ExplanationOfBenefit",
        ));
    }

    let mut eobs = Vec::new();
    for (_, at, raw) in eob_entries {
        let bytes = raw.get().as_bytes();
        let (eob, warnings) = check_eob(upload, bytes, &at, options, &mut issues)?;
        let Some(eob) = eob else { continue };
        let patient = match contained_patient(&eob) {
            Some(p) => p,
            None => match eob.patient.reference.as_deref() {
                Some(r) => match resolve(r, &patients) {
                    Some(info) => PatientLink::Resolved(info),
                    None => {
                        issues.push(Issue::error(
                            "not-found",
                            Some(format!("{at}.patient.reference")),
                            format!("patient '{r}' is neither an entry of this Bundle (by fullUrl or Patient id) nor contained in the EOB"),
                        ));
                        continue;
                    }
                },
                None => PatientLink::External {
                    reference: None,
                    identifier: eob.patient.identifier.clone(),
                },
            },
        };
        eobs.push(AcceptedEob {
            json: bytes,
            path: at,
            eob,
            patient,
            warnings,
        });
    }
    if issues.iter().any(|i| i.severity == Severity::Error) {
        return Err(Rejection::invalid(issues));
    }
    Ok(Parsed { eobs, ignored })
}
