//! What is sealed for each published EOB: one age envelope holding the
//! statement summary (for lists and the statement page) and the original FHIR
//! JSON, byte for byte (for the download). One envelope rather than two halves
//! the public-key work of publishing, which dominates its cost.
//!
//! Plaintext layout: `PEOB2\n`, then a zstd frame of the summary's length
//! (u32, big-endian), the summary as JSON and the original bytes. FHIR JSON
//! compresses about fivefold, so publishing writes and viewing decrypts a fifth
//! of the bytes. Compressing before sealing lets the stored size depend on the
//! content's redundancy; the content comes whole from the plan (no member can
//! mix text of their own into it to probe that), and sizes are not secret here.
//!
//! `PEOB1\n` envelopes (the same layout, uncompressed) are still read.

use std::{cell::RefCell, io::Read};

use zeroize::Zeroizing;

use super::Statement;
use crate::{Error, Result};

const PLAIN: &[u8] = b"PEOB1\n";
const COMPRESSED: &[u8] = b"PEOB2\n";
/// zstd's fastest standard level: most of the size gain for little CPU.
const LEVEL: i32 = 1;

/// The plaintext to seal.
pub fn encode(statement: &Statement, original: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    // A statement is strings and integers: serializing it cannot fail.
    let summary = Zeroizing::new(serde_json::to_vec(statement).unwrap_or_default());
    let mut body = Zeroizing::new(Vec::with_capacity(4 + summary.len() + original.len()));
    body.extend_from_slice(&(summary.len() as u32).to_be_bytes());
    body.extend_from_slice(&summary);
    body.extend_from_slice(original);
    let failed = |_| Error::Crypto("an EOB could not be compressed");
    let compressed = COMPRESSOR.with_borrow_mut(|compressor| {
        let compressor = match compressor {
            Some(c) => c,
            None => compressor.insert(zstd::bulk::Compressor::new(LEVEL).map_err(failed)?),
        };
        compressor
            .compress(&body)
            .map(Zeroizing::new)
            .map_err(failed)
    })?;
    let mut out = Zeroizing::new(Vec::with_capacity(COMPRESSED.len() + compressed.len()));
    out.extend_from_slice(COMPRESSED);
    out.extend_from_slice(&compressed);
    Ok(out)
}

thread_local! {
    /// Each thread's compressor: making one allocates and clears its tables,
    /// which cost more than compressing an EOB.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

fn malformed() -> Error {
    Error::Crypto("a sealed EOB is malformed")
}

/// The envelope's body (length, summary, original) as a reader.
fn body(plain: &[u8]) -> Result<Box<dyn Read + '_>> {
    if let Some(rest) = plain.strip_prefix(COMPRESSED) {
        let decoder = zstd::stream::read::Decoder::with_buffer(rest).map_err(|_| malformed())?;
        return Ok(Box::new(decoder));
    }
    let rest = plain.strip_prefix(PLAIN).ok_or_else(malformed)?;
    Ok(Box::new(rest))
}

fn read_summary(body: &mut dyn Read) -> Result<Statement> {
    let mut len = [0u8; 4];
    body.read_exact(&mut len).map_err(|_| malformed())?;
    let len = u32::from_be_bytes(len) as usize;
    let mut summary = Zeroizing::new(Vec::new());
    body.take(len as u64)
        .read_to_end(&mut summary)
        .map_err(|_| malformed())?;
    if summary.len() != len {
        return Err(malformed());
    }
    serde_json::from_slice(&summary).map_err(|_| malformed())
}

/// The summary of an opened envelope, without decompressing the original.
pub fn summary(plain: &[u8]) -> Result<Statement> {
    read_summary(&mut body(plain)?)
}

/// The summary and the original bytes of an opened envelope.
pub fn decode(plain: &[u8]) -> Result<(Statement, Zeroizing<Vec<u8>>)> {
    let mut body = body(plain)?;
    let statement = read_summary(&mut body)?;
    let mut original = Zeroizing::new(Vec::new());
    body.read_to_end(&mut original).map_err(|_| malformed())?;
    Ok((statement, original))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eob::{parse, ParseOptions};

    fn example() -> (Statement, Vec<u8>) {
        let bytes = include_bytes!(
            "../../tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json"
        );
        let parsed = parse(bytes, ParseOptions::default()).expect("the HL7 example parses");
        let eob = &parsed.eobs[0];
        (Statement::of(&eob.eob), eob.json.to_vec())
    }

    #[test]
    fn the_summary_and_the_original_come_back_unchanged() {
        let (statement, original) = example();
        let plain = encode(&statement, &original).expect("encodes");
        assert!(plain.starts_with(COMPRESSED));
        let (back, original_back) = decode(&plain).expect("decodes");
        assert_eq!(back, statement);
        assert_eq!(original_back.as_slice(), original.as_slice());
        assert_eq!(summary(&plain).expect("summary"), statement);
        assert!(decode(&plain[..10]).is_err());
        assert!(decode(b"something else").is_err());
    }

    #[test]
    fn the_envelope_is_smaller_than_the_json() {
        let (statement, original) = example();
        let plain = encode(&statement, &original).expect("encodes");
        assert!(
            plain.len() * 2 < original.len(),
            "{} bytes sealed for {} of JSON",
            plain.len(),
            original.len()
        );
    }

    #[test]
    fn uncompressed_envelopes_sealed_before_still_open() {
        let (statement, original) = example();
        let summary_json = serde_json::to_vec(&statement).expect("serializes");
        let mut plain = PLAIN.to_vec();
        plain.extend_from_slice(&(summary_json.len() as u32).to_be_bytes());
        plain.extend_from_slice(&summary_json);
        plain.extend_from_slice(&original);
        let (back, original_back) = decode(&plain).expect("decodes");
        assert_eq!(back, statement);
        assert_eq!(original_back.as_slice(), original.as_slice());
        assert_eq!(summary(&plain).expect("summary"), statement);
        let mut short = plain[..PLAIN.len() + 4].to_vec();
        short.extend_from_slice(b"{");
        assert!(summary(&short).is_err());
    }
}
