//! Explanation of Benefits: FHIR R4 ExplanationOfBenefit uploads (CARIN Blue
//! Button), read, checked and summarised into the statement a patient reads.
//!
//! [`parse`] takes the uploaded bytes (one EOB, or a Bundle of EOBs and the
//! Patients they reference) and gives each accepted EOB with its original bytes
//! (sealed later byte for byte, never re-serialized) and its Patient's
//! identifiers and email, or a [`Rejection`] carrying a FHIR OperationOutcome
//! whose issues name elements by FHIRPath. [`Statement::of`] summarises one EOB.
//!
//! Typed structs of our own ([`model`]) rather than a FHIR model crate: we read
//! about thirty elements of three resources; money must stay exact (values kept
//! as their JSON text, turned into integer cents, never f64); and each
//! resource's original bytes are kept as a slice of the upload. Validation walks
//! a `serde_json::Value` so that every issue carries its path.
//!
//! Adjudication categories and the statement column they feed (matched by code;
//! HL7 = `http://terminology.hl7.org/CodeSystem/adjudication`, CARIN =
//! `http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication`, CMS = the
//! Blue Button 2.0 variables `https://bluebutton.cms.gov/resources/variables/…`
//! that Synthea writes):
//!
//! | column | HL7 | CARIN | CMS |
//! |---|---|---|---|
//! | billed | `submitted` | | `line_sbmtd_chrg_amt` |
//! | allowed | `eligible` | | `line_alowd_chrg_amt` |
//! | plan paid | `benefit` | `paidtoprovider` | `line_prvdr_pmt_amt` |
//! | deductible | `deductible` | | `line_bene_ptb_ddctbl_amt` |
//! | copay | `copay` | | |
//! | coinsurance | | `coinsurance` | `line_coinsrnc_amt` |
//! | not covered | | `noncovered` | |
//! | you may owe | | `memberliability` | |
//!
//! Other categories (`eligpercent`, `tax`, `discount`, `paidbypatient`…) are not
//! shown as columns. A line's amounts are its item's adjudications (or, when the
//! item has none, the sum of its details'); several adjudications of one column
//! add up. Each amount is rounded half away from zero to the cent. When no
//! `memberliability` is given, "you may owe" is the sum of deductible, copay,
//! coinsurance and not covered, and the line says it is an estimate. Totals are the sums of
//! the lines, so the statement adds up; the EOB's own `total` list is shown too.

mod commit;
mod envelope;
pub mod members;
pub mod model;
pub mod money;
pub mod outcome;
mod parse;
mod pdf;
pub mod plans;
mod publish;
mod read;
mod statement;
pub mod uploads;
mod validate;

pub use outcome::{Issue, OperationOutcome, Rejection, RejectionKind, Severity};
pub use parse::{parse, AcceptedEob, ParseOptions, Parsed, PatientInfo, PatientLink};
pub use pdf::statement_pdf;
pub use plans::HealthPlan;
pub use publish::{Committer, Document, DocumentResult, Prepared, Publisher, Timings};
pub use read::{StatementSummary, StatementView, Statements};
pub use statement::{column, Amounts, Column, Line, StatedTotal, Statement, NOT_A_BILL};
