//! The hash chain that makes the log tamper-evident.
//!
//! Row `n` stores `prev_hash` (row `n-1`'s `hash`, or [`GENESIS`] for seq 1) and
//! `hash = SHA-256(prev_hash || canonical_encoding(row))`. Changing, removing or
//! inserting any row breaks the link to the row after it, which
//! [`verify`](super::verify) finds.
//!
//! The encoding is what is hashed, so it must be unambiguous: two different rows
//! must never encode alike. Fields go in a fixed order; each text is preceded by
//! its length; optional fields by a presence byte. The exact layout, for anyone
//! writing an independent verifier (all integers big-endian):
//!
//! ```text
//! text(t)      = u64 byte length of t, then the UTF-8 bytes of t
//! optional(t)  = 0x00 when absent; 0x01 then text(t) when present
//! encoding     = text("portico-audit-v1")
//!                i64 seq
//!                i64 occurred_at (Unix milliseconds)
//!                text(actor_kind) text(actor_id) text(action)
//!                u64 number of subject ids, then text(id) for each, in order
//!                optional(organization_id)
//!                text(outcome)
//!                optional(client_address) optional(user_agent)
//! ```
//!
//! Texts are hashed exactly as stored (the subject ids are the stored
//! space-separated column split on single spaces; an empty column is no ids), so
//! the writer and any verifier hash the same bytes.

use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row: 32 zero bytes.
pub const GENESIS: [u8; 32] = [0; 32];

/// Names the encoding, so a future change of layout cannot collide with this one.
const ENCODING_TAG: &str = "portico-audit-v1";

/// One `audit_events` row exactly as stored: the texts as written, no parsing.
/// Verification and export work on this, so a row altered to hold an unknown
/// action is still read, hashed and reported rather than refused.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub occurred_at: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    /// Subject ids separated by single spaces.
    pub subject_ids: String,
    pub organization_id: Option<String>,
    pub outcome: String,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// The columns of `audit_events`, in the order [`AuditRow`] and the writer use.
pub(crate) const COLUMNS: &str = "seq, occurred_at, actor_kind, actor_id, action, subject_ids, \
     organization_id, outcome, client_address, user_agent, prev_hash, hash";

impl AuditRow {
    /// The subject ids, split from the stored column.
    pub fn subject_id_list(&self) -> impl Iterator<Item = &str> {
        let ids = self.subject_ids.as_str();
        // An empty column is no ids at all, not one empty id.
        ids.split(' ').filter(move |_| !ids.is_empty())
    }

    /// The canonical encoding of this row (without the hashes), as described in
    /// the module documentation.
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        text(&mut out, ENCODING_TAG);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.occurred_at.to_be_bytes());
        text(&mut out, &self.actor_kind);
        text(&mut out, &self.actor_id);
        text(&mut out, &self.action);
        let count = self.subject_id_list().count() as u64;
        out.extend_from_slice(&count.to_be_bytes());
        for id in self.subject_id_list() {
            text(&mut out, id);
        }
        optional(&mut out, self.organization_id.as_deref());
        text(&mut out, &self.outcome);
        optional(&mut out, self.client_address.as_deref());
        optional(&mut out, self.user_agent.as_deref());
        out
    }

    /// `SHA-256(prev_hash || canonical_encoding)`: what `hash` must equal.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(&self.prev_hash);
        hasher.update(self.canonical_encoding());
        hasher.finalize().into()
    }
}

fn text(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u64).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn optional(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            text(out, value);
        }
    }
}

/// Lower-case hex, for hashes in exports and reports.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> AuditRow {
        AuditRow {
            seq: 7,
            occurred_at: 1_790_000_000_000,
            actor_kind: "staff".into(),
            actor_id: "staff-1".into(),
            action: "message_viewed".into(),
            subject_ids: "msg-1 identity-9".into(),
            organization_id: Some("org-1".into()),
            outcome: "success".into(),
            client_address: Some("192.0.2.7".into()),
            user_agent: Some("Mozilla/5.0".into()),
            prev_hash: vec![3; 32],
            hash: vec![0; 32],
        }
    }

    /// Every field, changed alone, changes the hash: nothing in a row can be
    /// altered without breaking the chain.
    #[test]
    fn changing_any_single_field_changes_the_hash() {
        let base = row().compute_hash();
        type Change = (&'static str, fn(&mut AuditRow));
        let changes: Vec<Change> = vec![
            ("seq", |r| r.seq += 1),
            ("occurred_at", |r| r.occurred_at += 1),
            ("actor_kind", |r| r.actor_kind = "patient".into()),
            ("actor_id", |r| r.actor_id = "staff-2".into()),
            ("action", |r| r.action = "eob_viewed".into()),
            ("subject_ids", |r| r.subject_ids = "msg-1".into()),
            ("subject order", |r| {
                r.subject_ids = "identity-9 msg-1".into()
            }),
            ("subjects none", |r| r.subject_ids = String::new()),
            ("organization_id", |r| {
                r.organization_id = Some("org-2".into())
            }),
            ("organization absent", |r| r.organization_id = None),
            ("outcome", |r| r.outcome = "denied".into()),
            ("client_address", |r| {
                r.client_address = Some("192.0.2.8".into())
            }),
            ("client absent", |r| r.client_address = None),
            ("user_agent", |r| r.user_agent = Some("curl/8".into())),
            ("user agent absent", |r| r.user_agent = None),
            ("prev_hash", |r| r.prev_hash[31] ^= 1),
        ];
        let mut seen = vec![base];
        for (what, change) in changes {
            let mut r = row();
            change(&mut r);
            let h = r.compute_hash();
            assert!(!seen.contains(&h), "changing {what} must change the hash");
            seen.push(h);
        }
        // The stored hash itself is not an input.
        let mut r = row();
        r.hash = vec![9; 32];
        assert_eq!(r.compute_hash(), base);
    }

    /// Moving bytes from one field into its neighbour, or an empty optional into
    /// an absent one, encodes differently: the length prefixes and presence bytes
    /// leave no ambiguity.
    #[test]
    fn the_encoding_is_unambiguous_at_field_boundaries() {
        let mut a = row();
        let mut b = row();
        a.actor_id = "ab".into();
        a.action = "c".into();
        b.actor_id = "a".into();
        b.action = "bc".into();
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());

        let (mut a, mut b) = (row(), row());
        a.subject_ids = "x y".into();
        b.subject_ids = "x".into();
        b.organization_id = Some("y".into());
        a.organization_id = None;
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());

        let (mut a, mut b) = (row(), row());
        a.user_agent = None;
        b.user_agent = Some(String::new());
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());

        let (mut a, mut b) = (row(), row());
        a.organization_id = None;
        a.client_address = Some("z".into());
        b.organization_id = Some("z".into());
        b.client_address = None;
        assert_ne!(a.canonical_encoding(), b.canonical_encoding());
    }

    /// A known answer, computed independently (Python's hashlib over the layout
    /// in the module documentation). Changing the layout, and so invalidating
    /// every stored hash, fails here.
    #[test]
    fn the_encoding_layout_is_fixed() {
        let mut r = row();
        r.prev_hash = GENESIS.to_vec();
        let enc = r.canonical_encoding();
        assert_eq!(enc.len(), 196);
        assert_eq!(&enc[..8], &16u64.to_be_bytes());
        assert_eq!(&enc[8..24], b"portico-audit-v1");
        assert_eq!(&enc[24..32], &7i64.to_be_bytes());
        assert_eq!(
            to_hex(&r.compute_hash()),
            "6952d53dd8c904ec15da2edad1062655e9da0bddaeacfe64beae7e25ed0d4207"
        );
        assert_eq!(
            r.subject_id_list().collect::<Vec<_>>(),
            ["msg-1", "identity-9"]
        );
    }
}
