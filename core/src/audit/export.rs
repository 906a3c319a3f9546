//! Exporting the log: `portico audit export`, as JSON lines or CSV.
//!
//! Rows are written exactly as stored, hashes included, so an export can be
//! checked on its own; they are read a page at a time, so memory stays flat
//! however long the range.

use std::{
    io::Write,
    time::{Duration, UNIX_EPOCH},
};

use serde::Serialize;

use super::chain::{to_hex, AuditRow, COLUMNS};
use crate::{store::on_pool, store::Store, Error, Result};

/// Rows read per query.
const PAGE: i64 = 1000;

/// How [`export`] writes events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// A header line, then one row per event; subject ids separated by spaces.
    Csv,
}

/// The CSV header: the fields of [`ExportedEvent`], in order.
const CSV_HEADER: [&str; 13] = [
    "seq",
    "occurred_at",
    "occurred_at_utc",
    "actor_kind",
    "actor_id",
    "action",
    "subject_ids",
    "organization_id",
    "outcome",
    "client_address",
    "user_agent",
    "prev_hash",
    "hash",
];

/// One exported event. The field order is the CSV column order ([`CSV_HEADER`]).
#[derive(Serialize)]
struct ExportedEvent<'a> {
    seq: i64,
    /// Unix milliseconds, as stored.
    occurred_at: i64,
    /// The same instant, readable: RFC 3339 in UTC.
    occurred_at_utc: String,
    actor_kind: &'a str,
    actor_id: &'a str,
    action: &'a str,
    subject_ids: SubjectIds<'a>,
    organization_id: Option<&'a str>,
    outcome: &'a str,
    client_address: Option<&'a str>,
    user_agent: Option<&'a str>,
    prev_hash: String,
    hash: String,
}

/// Subject ids: a JSON array in JSON lines, one space-separated field in CSV.
enum SubjectIds<'a> {
    List(Vec<&'a str>),
    Joined(&'a str),
}

impl Serialize for SubjectIds<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            SubjectIds::List(ids) => ids.serialize(s),
            SubjectIds::Joined(ids) => s.serialize_str(ids),
        }
    }
}

fn exported(row: &AuditRow, format: ExportFormat) -> ExportedEvent<'_> {
    let utc = u64::try_from(row.occurred_at)
        .ok()
        .and_then(|ms| UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .map(|t| humantime::format_rfc3339_millis(t).to_string())
        .unwrap_or_default();
    ExportedEvent {
        seq: row.seq,
        occurred_at: row.occurred_at,
        occurred_at_utc: utc,
        actor_kind: &row.actor_kind,
        actor_id: &row.actor_id,
        action: &row.action,
        subject_ids: match format {
            ExportFormat::Jsonl => SubjectIds::List(row.subject_id_list().collect()),
            ExportFormat::Csv => SubjectIds::Joined(&row.subject_ids),
        },
        organization_id: row.organization_id.as_deref(),
        outcome: &row.outcome,
        client_address: row.client_address.as_deref(),
        user_agent: row.user_agent.as_deref(),
        prev_hash: to_hex(&row.prev_hash),
        hash: to_hex(&row.hash),
    }
}

/// Writes every event with `since <= occurred_at < until` (Unix milliseconds) to
/// `out`, ordered by time then seq, and returns how many were written.
pub async fn export<W: Write>(
    store: &Store,
    since: i64,
    until: i64,
    format: ExportFormat,
    out: W,
) -> Result<u64> {
    let io = |source: std::io::Error| Error::Io {
        what: "audit export".into(),
        source,
    };
    let mut sink = match format {
        ExportFormat::Jsonl => Sink::Jsonl(Box::new(std::io::BufWriter::new(out))),
        ExportFormat::Csv => {
            // The header is written even when no event is in range.
            let mut csv = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(out);
            csv.write_record(CSV_HEADER).map_err(|e| io(e.into()))?;
            Sink::Csv(Box::new(csv))
        }
    };
    // Keyset paging on (occurred_at, seq), which the by-time index serves.
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_events \
         WHERE occurred_at < $1 AND (occurred_at > $2 OR (occurred_at = $2 AND seq > $3)) \
         ORDER BY occurred_at, seq LIMIT $4"
    );
    let (mut after_time, mut after_seq) = (since, 0i64);
    let mut written = 0u64;
    loop {
        let page: Vec<AuditRow> = on_pool!(store, |pool| sqlx::query_as(&sql)
            .bind(until)
            .bind(after_time)
            .bind(after_seq)
            .bind(PAGE)
            .fetch_all(pool)
            .await)?;
        let Some(last) = page.last() else { break };
        (after_time, after_seq) = (last.occurred_at, last.seq);
        for row in &page {
            sink.write(&exported(row, format)).map_err(io)?;
            written += 1;
        }
    }
    sink.finish().map_err(io)?;
    Ok(written)
}

/// Writes `rows` as CSV (the same columns as [`export`]) to `out`.
pub(crate) fn write_csv<W: Write>(rows: &[AuditRow], out: W) -> Result<u64> {
    let io = |source: std::io::Error| Error::Io {
        what: "audit export".into(),
        source,
    };
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    csv.write_record(CSV_HEADER).map_err(|e| io(e.into()))?;
    let mut sink = Sink::Csv(Box::new(csv));
    for row in rows {
        sink.write(&exported(row, ExportFormat::Csv)).map_err(io)?;
    }
    sink.finish().map_err(io)?;
    Ok(rows.len() as u64)
}

/// Where rows go; boxed, as the two writers differ much in size.
enum Sink<W: Write> {
    Jsonl(Box<std::io::BufWriter<W>>),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Sink<W> {
    fn write(&mut self, event: &ExportedEvent<'_>) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, event)?;
                out.write_all(b"\n")
            }
            Sink::Csv(out) => Ok(out.serialize(event)?),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Jsonl(mut out) => out.flush(),
            Sink::Csv(mut out) => out.flush(),
        }
    }
}
