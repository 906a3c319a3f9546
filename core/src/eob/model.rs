//! Typed serde structs for the parts of FHIR R4 ExplanationOfBenefit, Patient and
//! Bundle that Portico reads. Unknown elements are skipped, so any valid R4 (or
//! R4B) EOB deserializes. Money values stay as their JSON text ([`RawValue`]), so
//! amounts are exact: see [`super::money`].

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeableConcept {
    #[serde(default)]
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

impl CodeableConcept {
    /// Words for a person: the text, else the first coding's display.
    pub fn words(&self) -> Option<&str> {
        self.text
            .as_deref()
            .or_else(|| self.coding.iter().find_map(|c| c.display.as_deref()))
    }

    /// The first coding's code.
    pub fn code(&self) -> Option<&str> {
        self.coding.iter().find_map(|c| c.code.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Identifier {
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Reference {
    pub reference: Option<String>,
    pub identifier: Option<Identifier>,
    pub display: Option<String>,
}

impl Reference {
    /// Words for a person: the display, else the reference, else the identifier.
    pub fn words(&self) -> Option<&str> {
        self.display
            .as_deref()
            .or(self.reference.as_deref())
            .or_else(|| self.identifier.as_ref().and_then(|i| i.value.as_deref()))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// FHIR Money; `value` is the decimal's JSON text.
#[derive(Debug, Clone, Deserialize)]
pub struct Money {
    pub value: Option<Box<RawValue>>,
    pub currency: Option<String>,
}

impl Money {
    /// The amount in cents, if there is a value and it is a number.
    pub fn cents(&self) -> Option<i64> {
        self.value
            .as_ref()
            .and_then(|v| super::money::cents(v.get()))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Adjudication {
    #[serde(default)]
    pub category: CodeableConcept,
    pub reason: Option<CodeableConcept>,
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubDetail {
    #[serde(default)]
    pub adjudication: Vec<Adjudication>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail {
    #[serde(default)]
    pub adjudication: Vec<Adjudication>,
    #[serde(default)]
    pub sub_detail: Vec<SubDetail>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub sequence: Option<u32>,
    #[serde(default)]
    pub product_or_service: CodeableConcept,
    pub serviced_date: Option<String>,
    pub serviced_period: Option<Period>,
    pub net: Option<Money>,
    #[serde(default)]
    pub note_number: Vec<u32>,
    #[serde(default)]
    pub adjudication: Vec<Adjudication>,
    #[serde(default)]
    pub detail: Vec<Detail>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Total {
    #[serde(default)]
    pub category: CodeableConcept,
    pub amount: Option<Money>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Insurance {
    pub focal: Option<bool>,
    #[serde(default)]
    pub coverage: Reference,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProcessNote {
    pub number: Option<u32>,
    pub text: Option<String>,
}

/// A resource inside `contained`: only what Portico reads of a Patient or Coverage.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contained {
    pub resource_type: Option<String>,
    pub id: Option<String>,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub telecom: Vec<ContactPoint>,
    pub subscriber_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplanationOfBenefit {
    pub id: Option<String>,
    #[serde(default)]
    pub contained: Vec<Contained>,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    pub status: String,
    #[serde(rename = "use")]
    pub use_: String,
    #[serde(rename = "type")]
    pub type_: CodeableConcept,
    pub patient: Reference,
    pub billable_period: Option<Period>,
    pub created: String,
    pub insurer: Reference,
    pub provider: Reference,
    pub outcome: String,
    pub disposition: Option<String>,
    #[serde(default)]
    pub insurance: Vec<Insurance>,
    #[serde(default)]
    pub item: Vec<Item>,
    #[serde(default)]
    pub adjudication: Vec<Adjudication>,
    #[serde(default)]
    pub total: Vec<Total>,
    #[serde(default)]
    pub process_note: Vec<ProcessNote>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContactPoint {
    pub system: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Patient {
    pub id: Option<String>,
    #[serde(default)]
    pub identifier: Vec<Identifier>,
    #[serde(default)]
    pub telecom: Vec<ContactPoint>,
}

/// Just enough of any resource to tell its type.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Peek {
    pub resource_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry<'a> {
    pub full_url: Option<String>,
    #[serde(borrow)]
    pub resource: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
pub struct Bundle<'a> {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    #[serde(borrow, default)]
    pub entry: Vec<BundleEntry<'a>>,
}
