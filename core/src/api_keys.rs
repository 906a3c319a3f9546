//! Organization API keys: how a provider's or a plan's own system calls the
//! REST API (`Authorization: Bearer ptk_…`).
//!
//! A key belongs to one organization and has one [`Scope`]: `messages:send`
//! keys are bound to one of its mailboxes (whatever they send comes from that
//! mailbox, whatever the request says); `eob:publish` keys publish a health
//! plan's EOBs and keep its member directory, and are bound to the plan's
//! member-services mailbox. The
//! secret is `ptk_` and 256 random bits (43 base64url characters), shown once
//! when the key is made; only its SHA-256 is stored, and a key is found by that
//! hash (a secret that long needs no salt and no slow hash). Revoked keys are
//! refused. Creating and revoking are audited; the secret never is, nor logged.

use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::links,
    messages,
    store::{new_id, now_ms, on_pool, Store},
    Error, Result,
};

/// What every secret starts with, so that it is recognisable (in a config file,
/// in a secret scanner) for what it is.
pub const SECRET_PREFIX: &str = "ptk_";
/// The longest label, in characters.
pub const LABEL_MAX_CHARS: usize = 100;
/// `last_used_at` is written at most this often per key (milliseconds), so a
/// busy key does not cost a database write on every call.
const LAST_USED_EVERY_MS: i64 = 60_000;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Start threads from its mailbox (`POST /api/v1/messages`).
    SendMessages,
    /// Publish a health plan's EOBs and keep its member directory.
    PublishEobs,
}

impl Scope {
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::SendMessages => "messages:send",
            Scope::PublishEobs => "eob:publish",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "messages:send" => Some(Scope::SendMessages),
            "eob:publish" => Some(Scope::PublishEobs),
            _ => None,
        }
    }
}

/// A key, as the portal knows it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub organization_id: String,
    pub mailbox_id: String,
    pub scope: Scope,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// The secret of a new key, shown once. Not `Debug`-printed.
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret(…)")
    }
}

/// The SHA-256 of a secret's random part, if `secret` has the shape of one.
fn secret_hash(secret: &str) -> Option<[u8; 32]> {
    let raw = links::parse(secret.strip_prefix(SECRET_PREFIX)?)?;
    Some(links::token_hash(&raw))
}

type KeyRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

const KEY_COLUMNS: &str =
    "id, organization_id, mailbox_id, scope, label, created_at, last_used_at, revoked_at";

fn from_row(row: KeyRow) -> Result<ApiKey> {
    let (id, organization_id, mailbox_id, scope, label, created_at, last_used_at, revoked_at) = row;
    let scope = Scope::from_name(&scope).ok_or_else(|| Error::Invalid {
        field: "scope",
        problem: "unknown API key scope in the database".into(),
    })?;
    Ok(ApiKey {
        id,
        organization_id,
        mailbox_id,
        scope,
        label,
        created_at,
        last_used_at,
        revoked_at,
    })
}

/// API keys on one store.
pub struct ApiKeys<'a> {
    pub store: &'a Store,
    pub audit: &'a AuditLog,
}

impl ApiKeys<'_> {
    /// Makes a `messages:send` key for `mailbox_id`, which must belong to
    /// `organization_id`. Returns the key and its secret, which is not kept and
    /// cannot be shown again.
    pub async fn create(
        &self,
        organization_id: &str,
        mailbox_id: &str,
        label: &str,
        by: Actor,
    ) -> Result<(ApiKey, ApiKeySecret)> {
        self.create_scoped(organization_id, mailbox_id, Scope::SendMessages, label, by)
            .await
    }

    /// Makes a key with `scope` for `mailbox_id` of `organization_id`.
    pub async fn create_scoped(
        &self,
        organization_id: &str,
        mailbox_id: &str,
        scope: Scope,
        label: &str,
        by: Actor,
    ) -> Result<(ApiKey, ApiKeySecret)> {
        let label = label.trim();
        if label.is_empty()
            || label.chars().count() > LABEL_MAX_CHARS
            || label.chars().any(char::is_control)
        {
            return Err(Error::Invalid {
                field: "label",
                problem: format!("must be 1 to {LABEL_MAX_CHARS} characters, on one line"),
            });
        }
        let mailbox = match messages::mailbox(self.store, mailbox_id).await {
            Ok(m) if m.organization_id == organization_id => m,
            Ok(_) | Err(Error::NotFound) => {
                return Err(Error::Invalid {
                    field: "mailbox",
                    problem: "no mailbox of this organization has that id".into(),
                })
            }
            Err(other) => return Err(other),
        };
        let (token, hash) = links::new_token();
        let key = ApiKey {
            id: new_id(),
            organization_id: mailbox.organization_id,
            mailbox_id: mailbox.id,
            scope,
            label: label.to_owned(),
            created_at: now_ms(),
            last_used_at: None,
            revoked_at: None,
        };
        on_pool!(self.store, |pool| {
            sqlx::query(
            "INSERT INTO api_keys (id, organization_id, mailbox_id, scope, label, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&key.id)
        .bind(&key.organization_id)
        .bind(&key.mailbox_id)
        .bind(key.scope.as_str())
        .bind(&key.label)
        .bind(hash.as_slice())
        .bind(key.created_at)
        .execute(pool)
        .await
        .map(drop)
        })?;
        let event = AuditEvent::new(by, Action::ApiKeyCreated, Outcome::Success)
            .about(key.id.clone())
            .about(key.mailbox_id.clone())
            .in_organization(key.organization_id.clone());
        self.audit.record(event).await?;
        let secret = ApiKeySecret(format!("{SECRET_PREFIX}{}", token.as_str()));
        Ok((key, secret))
    }

    /// The live key whose secret this is, or `Denied`: for an unknown, malformed
    /// or revoked secret alike. A revoked key's use is audited (its holder may
    /// have lost it); unknown ones are not, so a flood of guesses cannot fill
    /// the log.
    pub async fn authenticate(&self, secret: &str) -> Result<ApiKey> {
        let hash = secret_hash(secret).ok_or(Error::Denied)?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1");
        let row: Option<KeyRow> = on_pool!(self.store, |pool| sqlx::query_as(&sql)
            .bind(hash.as_slice())
            .fetch_optional(pool)
            .await)?;
        let mut key = from_row(row.ok_or(Error::Denied)?)?;
        if key.revoked_at.is_some() {
            let event = AuditEvent::new(
                Actor::api_key(&key.id),
                Action::SignInFailed,
                Outcome::Denied,
            )
            .about("reason:api_key_revoked")
            .in_organization(key.organization_id.clone());
            self.audit.record(event).await?;
            return Err(Error::Denied);
        }
        let now = now_ms();
        if key
            .last_used_at
            .is_none_or(|t| now - t >= LAST_USED_EVERY_MS)
        {
            on_pool!(self.store, |pool| sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1"
            )
            .bind(&key.id)
            .bind(now)
            .execute(pool)
            .await
            .map(drop))?;
            key.last_used_at = Some(now);
        }
        Ok(key)
    }

    /// An organization's keys, revoked ones included, oldest first.
    pub async fn list(&self, organization_id: &str) -> Result<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE organization_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<KeyRow> = on_pool!(self.store, |pool| sqlx::query_as(&sql)
            .bind(organization_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(from_row).collect()
    }

    /// Revokes a key for good; revoking it again changes nothing. Returns the key.
    pub async fn revoke(&self, key_id: &str, by: Actor) -> Result<ApiKey> {
        let now = now_ms();
        let revoked = on_pool!(self.store, |pool| sqlx::query(
            "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
        )
        .bind(key_id)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1))?;
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row: Option<KeyRow> = on_pool!(self.store, |pool| sqlx::query_as(&sql)
            .bind(key_id)
            .fetch_optional(pool)
            .await)?;
        let key = from_row(row.ok_or(Error::NotFound)?)?;
        if revoked {
            let event = AuditEvent::new(by, Action::ApiKeyRevoked, Outcome::Success)
                .about(key.id.clone())
                .in_organization(key.organization_id.clone());
            self.audit.record(event).await?;
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_43_character_secrets_have_a_hash() {
        let (token, hash) = links::new_token();
        let secret = format!("{SECRET_PREFIX}{}", token.as_str());
        assert_eq!(secret.len(), 47);
        assert_eq!(secret_hash(&secret), Some(hash));
        assert_eq!(secret_hash(token.as_str()), None, "the prefix is required");
        assert_eq!(secret_hash(&format!("{secret}x")), None);
        assert_eq!(secret_hash(&secret[..46]), None);
        assert_eq!(secret_hash("ptk_"), None);
        assert_eq!(secret_hash(""), None);
    }
}
