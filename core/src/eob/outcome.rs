//! FHIR OperationOutcome: how a refusal (or a warning) is told to the plan's system.

use serde::Serialize;

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One `OperationOutcome.issue`; `expression` names the element at fault as a
/// FHIRPath, e.g. `Bundle.entry[3].resource.insurance[1].focal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    /// FHIR issue type: `structure`, `required`, `value`, `code-invalid`,
    /// `business-rule`, `not-found`, `not-supported`, `incomplete`.
    pub code: &'static str,
    pub diagnostics: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expression: Vec<String>,
}

impl Issue {
    pub fn error(
        code: &'static str,
        expression: Option<String>,
        diagnostics: impl Into<String>,
    ) -> Self {
        Issue {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: expression.into_iter().collect(),
        }
    }

    pub fn warning(code: &'static str, expression: String, diagnostics: impl Into<String>) -> Self {
        Issue {
            severity: Severity::Warning,
            code,
            diagnostics: diagnostics.into(),
            expression: vec![expression],
        }
    }
}

/// A FHIR R4 OperationOutcome, serialized as the resource itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationOutcome {
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    pub issue: Vec<Issue>,
}

impl OperationOutcome {
    pub fn new(issue: Vec<Issue>) -> Self {
        OperationOutcome {
            resource_type: "OperationOutcome",
            issue,
        }
    }
}

/// Why an upload was refused as a whole: the HTTP layer answers 400 for
/// [`RejectionKind::Syntax`] and 422 for the rest, with the outcome as body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub outcome: OperationOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Not JSON: the outcome's one issue gives the line and column (1-based).
    Syntax { line: usize, column: usize },
    /// A FHIR STU3-shaped resource: Portico reads R4 only.
    Stu3,
    /// JSON that is not a valid EOB upload; each issue names its element.
    Invalid,
}

impl Rejection {
    pub fn invalid(issues: Vec<Issue>) -> Self {
        Rejection {
            kind: RejectionKind::Invalid,
            outcome: OperationOutcome::new(issues),
        }
    }

    /// The issues that are errors (a rejection may also carry warnings).
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.outcome
            .issue
            .iter()
            .filter(|i| i.severity == Severity::Error)
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first = self.errors().next().map(|i| i.diagnostics.as_str());
        write!(f, "EOB upload refused: {}", first.unwrap_or("invalid"))
    }
}

impl std::error::Error for Rejection {}
