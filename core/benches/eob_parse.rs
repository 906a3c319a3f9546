//! EOB parse speed, per ExplanationOfBenefit: what `eob::parse` costs (typed
//! structs of our own, plus the `serde_json::Value` walk that validates with
//! FHIRPath issue paths) and what `Statement::of` adds. The numbers to set
//! against a FHIR model crate's deserialize-only time for the same EOBs.
//!
//! - `eb3500/parse` and `eb3500/parse_statement`: the HL7 R4 example EOB
//!   EB3500 (6.4 KB) on its own, without and with the statement.
//! - `synthea_bundle/parse` and `synthea_bundle/parse_statements`: the whole
//!   Synthea Bundle (717 KB, 319 resources: 21 EOBs, the Patient and 297
//!   others that are counted and skipped), per EOB.
//! - `synthea_eobs/parse_each`: the same 21 EOBs, each uploaded on its own (its
//!   original bytes cut out of the Bundle), per EOB: like for like with a model
//!   crate deserializing one EOB.
//! - `*/value_baseline`: `serde_json::from_slice::<Value>` of the same bytes, a
//!   yardstick to compare runs on a busy machine (and other parsers) against.
//!
//! Under `cargo bench` serde_json has `preserve_order` (the dev-dependency
//! passkey-types turns it on), so `Value` maps are IndexMaps here and BTreeMaps
//! in the server's build; on these fixtures that makes a `Value` parse about
//! 1.5x slower, so the validation walk costs somewhat less in production.
//!
//! `cargo bench -p portico-core --bench eob_parse` (add `-- eb3500` for one group).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portico_core::eob::{parse, ParseOptions, Statement};
use serde_json::value::RawValue;
use std::hint::black_box;

const EB3500: &[u8] =
    include_bytes!("../tests/fixtures/fhir/hl7-r4-examples/ExplanationOfBenefit-EB3500.json");
const SYNTHEA: &[u8] =
    include_bytes!("../tests/fixtures/fhir/synthea/synthea-patient-bundle-a.json");
const SYNTHEA_EOBS: u64 = 21;

const OPTIONS: ParseOptions = ParseOptions { strict: false };

/// The original bytes of each EOB of the Synthea Bundle.
fn synthea_eobs() -> Vec<&'static [u8]> {
    #[derive(serde::Deserialize)]
    struct Bundle<'a> {
        #[serde(borrow)]
        entry: Vec<Entry<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        #[serde(borrow)]
        resource: &'a RawValue,
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "resourceType")]
        resource_type: String,
    }
    let bundle: Bundle<'static> = serde_json::from_slice(SYNTHEA).expect("the Synthea Bundle");
    bundle
        .entry
        .into_iter()
        .map(|e| e.resource)
        .filter(|r| {
            serde_json::from_str::<Peek>(r.get())
                .expect("a resource")
                .resource_type
                == "ExplanationOfBenefit"
        })
        .map(|r| r.get().as_bytes())
        .collect()
}

fn eb3500(c: &mut Criterion) {
    // Fail loudly rather than time a rejection.
    let parsed = parse(EB3500, OPTIONS).expect("EB3500 is accepted");
    assert_eq!(parsed.eobs.len(), 1);

    let mut group = c.benchmark_group("eb3500");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| {
        b.iter(|| parse(black_box(EB3500), OPTIONS).expect("accepted"))
    });
    group.bench_function("value_baseline", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(EB3500)).expect("JSON"))
    });
    group.bench_function("parse_statement", |b| {
        b.iter(|| {
            let parsed = parse(black_box(EB3500), OPTIONS).expect("accepted");
            Statement::of(&parsed.eobs[0].eob)
        })
    });
    group.finish();
}

fn synthea_bundle(c: &mut Criterion) {
    let parsed = parse(SYNTHEA, OPTIONS).expect("the Synthea Bundle is accepted");
    assert_eq!(parsed.eobs.len() as u64, SYNTHEA_EOBS);

    let mut group = c.benchmark_group("synthea_bundle");
    group.throughput(Throughput::Elements(SYNTHEA_EOBS));
    group.bench_function("parse", |b| {
        b.iter(|| parse(black_box(SYNTHEA), OPTIONS).expect("accepted"))
    });
    group.bench_function("parse_statements", |b| {
        b.iter(|| {
            let parsed = parse(black_box(SYNTHEA), OPTIONS).expect("accepted");
            parsed
                .eobs
                .iter()
                .map(|e| Statement::of(&e.eob))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

fn synthea_eobs_each(c: &mut Criterion) {
    let eobs = synthea_eobs();
    assert_eq!(eobs.len() as u64, SYNTHEA_EOBS);
    for bytes in &eobs {
        parse(bytes, OPTIONS).expect("each Synthea EOB is accepted on its own");
    }
    let mut group = c.benchmark_group("synthea_eobs");
    group.throughput(Throughput::Elements(SYNTHEA_EOBS));
    group.bench_function("parse_each", |b| {
        b.iter(|| {
            for bytes in &eobs {
                black_box(parse(black_box(bytes), OPTIONS).expect("accepted"));
            }
        })
    });
    group.bench_function("value_baseline", |b| {
        b.iter(|| {
            for bytes in &eobs {
                black_box(
                    serde_json::from_slice::<serde_json::Value>(black_box(bytes)).expect("JSON"),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, eb3500, synthea_bundle, synthea_eobs_each);
criterion_main!(benches);
