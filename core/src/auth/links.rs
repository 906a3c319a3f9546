//! Notification links: `/open/{token}`.
//!
//! The token is 256 random bits, sent only in the email and stored only as its
//! SHA-256 (a token that long needs no key or salt: it cannot be guessed). A link
//! names one identity, one item and the organization that wrote; it expires
//! (30 days by default). Looking a link up spends and grants nothing, so a mail
//! scanner that opens it first does no harm: the person still proves who they
//! are with a passkey or a code.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use sha2::{Digest, Sha256};

use super::Client;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    store::{now_ms, on_pool, Store},
    Result,
};

/// How long a link works unless told otherwise.
pub const DEFAULT_LINK_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Random bytes in a token; its text is 43 base64url characters.
const TOKEN_BYTES: usize = 32;
const TOKEN_CHARS: usize = 43;

/// A link's token as it goes into an email. Not `Debug`-printed: it is a secret
/// until used.
pub struct LinkToken(String);

impl LinkToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

/// What a link leads to, once found and unexpired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landing {
    pub identity_id: String,
    pub item_id: String,
    pub organization_id: String,
    /// The sending organization's name, for the landing page.
    pub organization_name: String,
    /// The link leads to statements (EOBs from a health plan) rather than a message.
    pub statements: bool,
}

/// What looking a link up found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Valid(Landing),
    /// Found but past its expiry: the page says so and offers to sign in.
    Expired,
    /// Well-formed but not issued here (or mistyped).
    Unknown,
    /// Not a token at all (wrong length or characters).
    Malformed,
}

pub(crate) fn token_hash(raw: &[u8]) -> [u8; 32] {
    Sha256::digest(raw).into()
}

/// A fresh token: its text for the URL, and the hash to store.
pub(crate) fn new_token() -> (LinkToken, [u8; 32]) {
    let mut raw = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut raw);
    (LinkToken(URL_SAFE_NO_PAD.encode(raw)), token_hash(&raw))
}

/// The token's bytes, if `text` is a well-formed token.
pub(crate) fn parse(text: &str) -> Option<Vec<u8>> {
    if text.len() != TOKEN_CHARS {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
    (raw.len() == TOKEN_BYTES).then_some(raw)
}

/// Makes a link to `item_id` for `identity_id`, sent by `organization_id`.
pub async fn create(
    store: &Store,
    identity_id: &str,
    item_id: &str,
    organization_id: &str,
    lifetime: Duration,
) -> Result<LinkToken> {
    let (token, hash) = new_token();
    let now = now_ms();
    let expires = now.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX));
    on_pool!(store, |pool| sqlx::query(
        "INSERT INTO open_links (token_hash, identity_id, item_id, organization_id, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(hash.as_slice())
    .bind(identity_id)
    .bind(item_id)
    .bind(organization_id)
    .bind(now)
    .bind(expires)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(token)
}

/// Looks up the link a token names, and records that it was opened (a valid or
/// expired link, as its identity; anything else, as an anonymous visitor).
/// The organization a notification link is from, for its page's header, or
/// `None` for a malformed or unknown token. Records nothing: the landing page
/// the header sits on records the view.
pub async fn organization_of(store: &Store, token: &str) -> Result<Option<String>> {
    let Some(raw) = parse(token) else {
        return Ok(None);
    };
    Ok(on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT organization_id FROM open_links WHERE token_hash = $1"
    )
    .bind(token_hash(&raw).as_slice())
    .fetch_optional(pool)
    .await)?)
}

pub async fn open(
    store: &Store,
    audit: &AuditLog,
    client: &Client,
    token: &str,
) -> Result<LinkState> {
    let Some(raw) = parse(token) else {
        audit
            .record(client.stamp(AuditEvent::new(
                Actor::system("public"),
                Action::LinkOpened,
                Outcome::Denied,
            )))
            .await?;
        return Ok(LinkState::Malformed);
    };
    let row: Option<(String, String, String, String, i64, bool)> =
        on_pool!(store, |pool| sqlx::query_as(
            "SELECT l.identity_id, l.item_id, l.organization_id, o.display_name, l.expires_at, \
             EXISTS (SELECT 1 FROM eobs e WHERE e.id = l.item_id) \
             FROM open_links l JOIN organizations o ON o.id = l.organization_id \
             WHERE l.token_hash = $1"
        )
        .bind(token_hash(&raw).as_slice())
        .fetch_optional(pool)
        .await)?;
    let Some((identity_id, item_id, organization_id, organization_name, expires_at, statements)) =
        row
    else {
        audit
            .record(client.stamp(AuditEvent::new(
                Actor::system("public"),
                Action::LinkOpened,
                Outcome::Denied,
            )))
            .await?;
        return Ok(LinkState::Unknown);
    };
    let expired = now_ms() >= expires_at;
    let outcome = if expired {
        Outcome::Denied
    } else {
        Outcome::Success
    };
    let event = AuditEvent::new(Actor::patient(&identity_id), Action::LinkOpened, outcome)
        .about(item_id.clone())
        .in_organization(organization_id.clone());
    audit.record(client.stamp(event)).await?;
    if expired {
        return Ok(LinkState::Expired);
    }
    Ok(LinkState::Valid(Landing {
        identity_id,
        item_id,
        organization_id,
        organization_name,
        statements,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_of_256_bits() {
        let raw = [0xABu8; TOKEN_BYTES];
        let text = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(text.len(), TOKEN_CHARS);
        assert_eq!(parse(&text), Some(raw.to_vec()));
        assert_eq!(parse(&text[1..]), None, "too short");
        assert_eq!(parse(&format!("{text}A")), None, "too long");
        assert_eq!(parse(&text.replace('q', "+")), None, "not base64url");
        assert_eq!(parse(&"!".repeat(TOKEN_CHARS)), None);
        assert!(format!("{:?}", LinkToken(text)).contains('…'));
    }
}
