//! What is sealed for each published EOB: one age envelope holding the
//! statement summary (for lists and the statement page) and the original FHIR
//! JSON, byte for byte (for the download). One envelope rather than two halves
//! the public-key work of publishing, which dominates its cost.
//!
//! Plaintext layout: `PEOB1\n`, the summary's length (u32, big-endian), the
//! summary as JSON, then the original bytes.

use zeroize::Zeroizing;

use super::Statement;
use crate::{Error, Result};

const MAGIC: &[u8] = b"PEOB1\n";

/// The plaintext to seal.
pub fn encode(statement: &Statement, original: &[u8]) -> Zeroizing<Vec<u8>> {
    // A statement is strings and integers: serializing it cannot fail.
    let summary = Zeroizing::new(serde_json::to_vec(statement).unwrap_or_default());
    let mut out = Zeroizing::new(Vec::with_capacity(
        MAGIC.len() + 4 + summary.len() + original.len(),
    ));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(summary.len() as u32).to_be_bytes());
    out.extend_from_slice(&summary);
    out.extend_from_slice(original);
    out
}

fn malformed() -> Error {
    Error::Crypto("a sealed EOB is malformed")
}

/// The summary and the original bytes of an opened envelope.
pub fn decode(plain: &[u8]) -> Result<(Statement, &[u8])> {
    let rest = plain.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(malformed)?;
    let len = u32::from_be_bytes(*len) as usize;
    if rest.len() < len {
        return Err(malformed());
    }
    let (summary, original) = rest.split_at(len);
    let statement = serde_json::from_slice(summary).map_err(|_| malformed())?;
    Ok((statement, original))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eob::{parse, ParseOptions};

    #[test]
    fn the_summary_and_the_original_come_back_unchanged() {
        let bytes = include_bytes!(
            "../../tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
        );
        let parsed = parse(bytes, ParseOptions::default()).expect("the HL7 example parses");
        let eob = &parsed.eobs[0];
        let statement = Statement::of(&eob.eob);
        let plain = encode(&statement, eob.json);
        let (back, original) = decode(&plain).expect("decodes");
        assert_eq!(back, statement);
        assert_eq!(original, eob.json);
        assert!(decode(&plain[..10]).is_err());
        assert!(decode(b"something else").is_err());
    }
}
