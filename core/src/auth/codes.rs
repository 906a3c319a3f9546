//! One-time sign-in codes, sent by email.
//!
//! A code is `digits` random decimal digits (6 by default, 6 to 8), valid for 10
//! minutes, dead after 5 wrong tries or once used, and at most 5 are sent to one
//! identity per hour. Only a keyed hash is stored: HMAC-SHA256 under the vault's
//! lookup key of the identity id and the code, so a copy of the database does
//! not give the codes away (a million codes are quickly hashed without the key).
//! A new code kills the ones before it. Checking compares in constant time.
//!
//! The email itself goes through the outbox with the code sealed to the
//! identity ([`crate::notify`]).

use std::time::Duration;

use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use hmac::Mac;
use zeroize::Zeroizing;

use super::Client;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    notify::{self, MailKind},
    store::{new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, NormalizedEmail, Vault},
    Error, Result,
};

const PURPOSE: &str = "sign-in-code";

/// The rules for codes. The defaults are the ones above.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodePolicy {
    /// 6 to 8.
    pub digits: u8,
    pub valid_for: Duration,
    pub max_wrong_tries: u32,
    pub max_sent_per_hour: u32,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            valid_for: Duration::from_secs(10 * 60),
            max_wrong_tries: 5,
            max_sent_per_hour: 5,
        }
    }
}

/// Whether a code went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeSent {
    Sent,
    /// Already `max_sent_per_hour` this hour: nothing was sent.
    TooMany,
}

/// What checking a typed code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    /// Wrong; this many tries are left on the code (0: it is now dead).
    Wrong {
        tries_left: u32,
    },
    /// No live code: none sent, expired, used, or tried wrongly too often.
    NoLiveCode,
}

/// The code service: one per process, cheap to share by reference.
pub struct SignInCodes<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub audit: &'a AuditLog,
    pub policy: CodePolicy,
}

/// `digits` uniformly random decimal digits.
fn random_code(digits: u8) -> Zeroizing<String> {
    let mut code = Zeroizing::new(String::with_capacity(usize::from(digits)));
    while code.len() < usize::from(digits) {
        // Rejection sampling: 250 = 25 * 10, so every digit is equally likely.
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        if byte[0] < 250 {
            code.push(char::from(b'0' + byte[0] % 10));
        }
    }
    code
}

/// The typed code with spaces and dashes taken out, if it is `digits` digits.
fn clean(typed: &str, digits: u8) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == usize::from(digits) && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SignInCodes<'_> {
    fn mac(&self, identity_id: &str, code: &str) -> hmac::Hmac<sha2::Sha256> {
        self.vault
            .keyed_mac(PURPOSE, &[identity_id.as_bytes(), code.as_bytes()])
    }

    async fn record(&self, client: &Client, event: AuditEvent) -> Result<()> {
        self.audit.record(client.stamp(event)).await.map(drop)
    }

    /// Sends a new code to the identity (through the outbox), unless it has had
    /// `max_sent_per_hour` this hour. `organization_id` names who the person
    /// came from, if anyone, for the email's wording.
    pub async fn send(
        &self,
        identity_id: &str,
        organization_id: Option<&str>,
        client: &Client,
    ) -> Result<CodeSent> {
        let now = now_ms();
        let code = random_code(self.policy.digits);
        let hash: [u8; 32] = self.mac(identity_id, &code).finalize().into_bytes().into();
        // Sealed before the transaction: sealing may make the identity's key.
        let payload = notify::CodePayload {
            code: code.to_string(),
            valid_minutes: (self.policy.valid_for.as_secs() / 60) as u32,
            language: client.language,
        };
        let sealed = self
            .vault
            .seal(
                &crate::notify::Payload::to_bytes(&payload),
                &[KeyOwner::Identity(identity_id.to_owned())],
            )
            .await?;
        let hour_ago = now - 3_600_000;
        let limit = i64::from(self.policy.max_sent_per_hour);
        let expires = now.saturating_add(millis(self.policy.valid_for));
        macro_rules! send_on {
            ($tx:ident, $begin:expr, $lock:expr) => {{
                let mut $tx = $begin.await?;
                // Serialize senders for this identity, so the limit holds under races.
                sqlx::query($lock)
                    .bind(identity_id)
                    .execute(&mut *$tx)
                    .await?;
                let sent: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sign_in_codes WHERE identity_id = $1 AND created_at > $2",
                )
                .bind(identity_id)
                .bind(hour_ago)
                .fetch_one(&mut *$tx)
                .await?;
                if sent >= limit {
                    false
                } else {
                    sqlx::query(
                        "UPDATE sign_in_codes SET spent_at = $2 \
                         WHERE identity_id = $1 AND spent_at IS NULL",
                    )
                    .bind(identity_id)
                    .bind(now)
                    .execute(&mut *$tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO sign_in_codes (id, identity_id, code_hash, created_at, \
                         expires_at, wrong_tries) VALUES ($1, $2, $3, $4, $5, 0)",
                    )
                    .bind(new_id())
                    .bind(identity_id)
                    .bind(hash.as_slice())
                    .bind(now)
                    .bind(expires)
                    .execute(&mut *$tx)
                    .await?;
                    sqlx::query(notify::ENQUEUE_SQL)
                        .bind(new_id())
                        .bind(MailKind::SignInCode.as_str())
                        .bind(identity_id)
                        .bind(organization_id)
                        .bind(sealed.as_slice())
                        .bind(now)
                        .execute(&mut *$tx)
                        .await?;
                    $tx.commit().await?;
                    true
                }
            }};
        }
        let sent = match self.store {
            Store::Sqlite(pool) => {
                // BEGIN IMMEDIATE takes the write lock; the lock query is a no-op.
                let mut conn = pool.acquire().await?;
                use sqlx::Connection;
                send_on!(
                    tx,
                    conn.begin_with("BEGIN IMMEDIATE"),
                    "SELECT id FROM identities WHERE id = $1"
                )
            }
            Store::Postgres(pool) => send_on!(
                tx,
                pool.begin(),
                "SELECT id FROM identities WHERE id = $1 FOR UPDATE"
            ),
        };
        let outcome = if sent {
            Outcome::Success
        } else {
            Outcome::Denied
        };
        let mut event = AuditEvent::new(Actor::patient(identity_id), Action::CodeSent, outcome);
        if let Some(org) = organization_id {
            event = event.in_organization(org);
        }
        self.record(client, event).await?;
        Ok(if sent {
            CodeSent::Sent
        } else {
            CodeSent::TooMany
        })
    }

    /// Sends a code to whoever has this address, if anyone. The caller answers
    /// the same whatever happens here (and should not wait for it), so the page
    /// never tells whether an address is known.
    pub async fn send_to_email(&self, email: &NormalizedEmail, client: &Client) -> Result<()> {
        match self.vault.find_identity(email).await? {
            Some(identity) => self.send(&identity.id, None, client).await.map(drop),
            None => Ok(()),
        }
    }

    /// Checks a typed code against the identity's live code. A right code is
    /// spent at once; a wrong one uses up a try. Input that is not a code at all
    /// (letters, the wrong length) is refused without using a try.
    pub async fn check(
        &self,
        identity_id: &str,
        typed: &str,
        client: &Client,
    ) -> Result<CodeCheck> {
        let Some(code) = clean(typed, self.policy.digits) else {
            return Err(Error::Invalid {
                field: "code",
                problem: format!("enter the {} digits from the email", self.policy.digits),
            });
        };
        let now = now_ms();
        let live: Option<(String, Vec<u8>, i64)> = on_pool!(self.store, |pool| sqlx::query_as(
            "SELECT id, code_hash, wrong_tries FROM sign_in_codes \
             WHERE identity_id = $1 AND spent_at IS NULL AND expires_at > $2 AND wrong_tries < $3 \
             ORDER BY created_at DESC LIMIT 1"
        )
        .bind(identity_id)
        .bind(now)
        .bind(i64::from(self.policy.max_wrong_tries))
        .fetch_optional(pool)
        .await)?;
        let rejected = |reason: &str| {
            AuditEvent::new(
                Actor::patient(identity_id),
                Action::CodeRejected,
                Outcome::Failure,
            )
            .about(format!("reason:{reason}"))
        };
        let Some((id, stored, _)) = live else {
            self.record(client, rejected("no_live_code")).await?;
            return Ok(CodeCheck::NoLiveCode);
        };
        // Constant-time comparison of the MACs.
        if self.mac(identity_id, &code).verify_slice(&stored).is_ok() {
            let spent = on_pool!(self.store, |pool| sqlx::query(
                "UPDATE sign_in_codes SET spent_at = $2 WHERE id = $1 AND spent_at IS NULL"
            )
            .bind(&id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
            if spent == 1 {
                self.record(
                    client,
                    AuditEvent::new(
                        Actor::patient(identity_id),
                        Action::CodeAccepted,
                        Outcome::Success,
                    ),
                )
                .await?;
                // Emails sent from now on are in the language they signed in with.
                crate::language::remember(self.store, identity_id, client.language).await?;
                return Ok(CodeCheck::Accepted);
            }
            // Spent by a racing request a moment ago: single use.
            self.record(client, rejected("no_live_code")).await?;
            return Ok(CodeCheck::NoLiveCode);
        }
        let tries: i64 = on_pool!(self.store, |pool| sqlx::query_scalar(
            "UPDATE sign_in_codes SET wrong_tries = wrong_tries + 1 WHERE id = $1 \
             RETURNING wrong_tries"
        )
        .bind(&id)
        .fetch_one(pool)
        .await)?;
        self.record(client, rejected("wrong_code")).await?;
        let left = i64::from(self.policy.max_wrong_tries)
            .saturating_sub(tries)
            .max(0);
        Ok(CodeCheck::Wrong {
            tries_left: u32::try_from(left).unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_asked_number_of_digits() {
        for digits in 6..=8 {
            let code = random_code(digits);
            assert_eq!(code.len(), usize::from(digits));
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn every_digit_turns_up() {
        let mut seen = [0u32; 10];
        for _ in 0..200 {
            for b in random_code(8).bytes() {
                seen[usize::from(b - b'0')] += 1;
            }
        }
        // 1,600 digits: each expected 160 times; none may be missing or dominate.
        assert!(seen.iter().all(|&n| (80..=260).contains(&n)), "{seen:?}");
    }

    #[test]
    fn typed_codes_may_carry_spaces_and_dashes_but_nothing_else() {
        assert_eq!(clean(" 123 456 ", 6).as_deref(), Some("123456"));
        assert_eq!(clean("123-456", 6).as_deref(), Some("123456"));
        assert_eq!(clean("12345", 6), None);
        assert_eq!(clean("1234567", 6), None);
        assert_eq!(clean("12345a", 6), None);
        assert_eq!(
            clean("１２３４５６", 6),
            None,
            "full-width digits are not ASCII"
        );
    }
}
