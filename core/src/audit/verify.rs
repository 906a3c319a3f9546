//! Checking the chain: `portico audit verify`.
//!
//! Walks every row in seq order, a page at a time (constant memory, no long
//! transaction), and stops at the first row that breaks the chain. What it can
//! prove: no row before the head was changed, removed or inserted since it was
//! written. What it cannot: that rows were not cut off the end, or the whole
//! chain rewritten from some row on — compare the head it reports with one
//! recorded earlier (kept outside the database) to catch that.

use std::fmt;

use super::{
    chain::{to_hex, AuditRow, COLUMNS, GENESIS},
    Seq,
};
use crate::{store::on_pool, store::Store, Result};

/// Rows read per query.
const PAGE: i64 = 1000;

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Rows checked and found sound (all of them, when the chain is intact).
    pub events: u64,
    /// The last sound row: its seq and hash. Record it somewhere safe to detect,
    /// later, a chain cut short or rewritten from the end.
    pub head: Option<(Seq, [u8; 32])>,
    /// The first row that breaks the chain, if any.
    pub broken: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// The first bad row and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: Seq,
    pub problem: Problem,
}

/// Why a row breaks the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The row's stored hash is not the hash of its contents: the row was changed.
    HashMismatch,
    /// The row's `prev_hash` is not the hash of the row before it: that row was
    /// changed and rehashed, or rows were removed or inserted in between.
    PrevHashMismatch,
    /// Seqs jump: the rows `expected` up to this one's seq minus one are missing.
    Gap { expected: Seq },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::HashMismatch => {
                f.write_str("its stored hash does not match its contents (the row was changed)")
            }
            Problem::PrevHashMismatch => f.write_str(
                "its prev_hash does not match the row before it (that row was changed, or rows removed or inserted)",
            ),
            Problem::Gap { expected } => write!(f, "seq jumps here: expected seq {expected}"),
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.broken, &self.head) {
            (Some(b), _) => write!(
                f,
                "audit chain BROKEN at seq {}: {} ({} events before it are sound)",
                b.seq, b.problem, self.events
            ),
            (None, Some((seq, hash))) => write!(
                f,
                "audit chain intact: {} events, head seq {seq}, hash {}",
                self.events,
                to_hex(hash)
            ),
            (None, None) => f.write_str("audit chain intact: no events yet"),
        }
    }
}

/// Checks the whole chain, returning how many rows are sound and the first bad
/// one. An `Err` means the database could not be read, not that the chain is bad.
pub async fn verify(store: &Store) -> Result<VerifyReport> {
    let sql = format!("SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
    let mut report = VerifyReport {
        events: 0,
        head: None,
        broken: None,
    };
    let mut prev_seq = 0i64;
    let mut prev_hash: [u8; 32] = GENESIS;
    loop {
        let page: Vec<AuditRow> = on_pool!(store, |pool| sqlx::query_as(&sql)
            .bind(prev_seq)
            .bind(PAGE)
            .fetch_all(pool)
            .await)?;
        if page.is_empty() {
            return Ok(report);
        }
        for row in &page {
            match check_row(row, prev_seq, &prev_hash) {
                Ok(hash) => prev_hash = hash,
                Err(problem) => {
                    report.broken = Some(ChainBreak {
                        seq: Seq(row.seq),
                        problem,
                    });
                    return Ok(report);
                }
            }
            prev_seq = row.seq;
            report.events += 1;
            report.head = Some((Seq(prev_seq), prev_hash));
        }
    }
}

/// Checks `row` against the seq and hash of the sound row before it, in the
/// order that names the most telling problem first; returns the row's hash.
fn check_row(row: &AuditRow, prev_seq: i64, prev_hash: &[u8; 32]) -> Result<[u8; 32], Problem> {
    if row.seq != prev_seq + 1 {
        return Err(Problem::Gap {
            expected: Seq(prev_seq + 1),
        });
    }
    if row.prev_hash.as_slice() != prev_hash.as_slice() {
        return Err(Problem::PrevHashMismatch);
    }
    let hash = row.compute_hash();
    if row.hash.as_slice() != hash.as_slice() {
        return Err(Problem::HashMismatch);
    }
    Ok(hash)
}
