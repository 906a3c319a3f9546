//! Passkeys (WebAuthn, webauthn-rs): registering one after a code sign-in, and
//! signing in with one alone: a discoverable credential with user verification,
//! so the person types nothing. The ceremony states go into the server-side
//! session between the two halves; the challenge is single use.
//!
//! The browser's JSON goes in and out as text, so the web layer only carries it.

use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::{
    AuthenticatorSelectionCriteria, ResidentKeyRequirement, UserVerificationPolicy,
};

use super::Client;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    store::{now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
    Error, Result,
};

/// Whose passkey it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasskeyOwner {
    /// A patient, by identity id.
    Patient(String),
    /// A staff member, by staff account id.
    Staff(String),
}

impl PasskeyOwner {
    fn kind(&self) -> &'static str {
        match self {
            PasskeyOwner::Patient(_) => "patient",
            PasskeyOwner::Staff(_) => "staff",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            PasskeyOwner::Patient(id) | PasskeyOwner::Staff(id) => id,
        }
    }

    fn actor(&self) -> Actor {
        match self {
            PasskeyOwner::Patient(id) => Actor::patient(id),
            PasskeyOwner::Staff(id) => Actor::staff(id),
        }
    }

    /// The WebAuthn user handle: the owner's id, which is a UUID.
    fn handle(&self) -> Result<Uuid> {
        Uuid::parse_str(self.id()).map_err(|_| Error::Crypto("an owner id is not a UUID"))
    }
}

/// A passkey as its owner sees it in their list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub credential_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Names are short labels such as "Work laptop".
pub const NAME_MAX_CHARS: usize = 60;

fn refused(problem: &'static str) -> Error {
    Error::Invalid {
        field: "passkey",
        problem: problem.into(),
    }
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_MAX_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::Invalid {
            field: "name",
            problem: format!("must be 1 to {NAME_MAX_CHARS} characters"),
        });
    }
    Ok(name.to_owned())
}

/// The relying party: this portal's origin.
pub struct Passkeys {
    webauthn: Webauthn,
}

impl Passkeys {
    /// For the portal at `public_url` (its host is the relying party id).
    pub fn new(public_url: &Url) -> Result<Self> {
        let host = public_url
            .host_str()
            .ok_or(Error::Crypto("the public address has no host"))?;
        let webauthn = WebauthnBuilder::new(host, public_url)
            .and_then(|b| b.rp_name("Portico").build())
            .map_err(|_| Error::Crypto("passkeys cannot be set up for this public address"))?;
        Ok(Self { webauthn })
    }

    /// Starts adding a passkey: the options for the browser (JSON) and the state
    /// to keep in the session. Existing passkeys are excluded, so one
    /// authenticator is not registered twice.
    pub async fn start_registration(
        &self,
        store: &Store,
        owner: &PasskeyOwner,
        label: &str,
    ) -> Result<(String, PasskeyRegistration)> {
        let existing = stored(store, owner)
            .await?
            .into_iter()
            .map(|(_, passkey, ..)| passkey.cred_id().clone())
            .collect::<Vec<_>>();
        let (mut options, state) = self
            .webauthn
            .start_passkey_registration(owner.handle()?, label, label, Some(existing))
            .map_err(|_| Error::Crypto("a passkey registration could not start"))?;
        // A discoverable credential, so signing in needs no username.
        options.public_key.authenticator_selection = Some(AuthenticatorSelectionCriteria {
            authenticator_attachment: None,
            resident_key: Some(ResidentKeyRequirement::Required),
            require_resident_key: true,
            user_verification: UserVerificationPolicy::Required,
        });
        let json = serde_json::to_string(&options).map_err(|_| Error::Crypto("options"))?;
        Ok((json, state))
    }

    /// Finishes adding a passkey from the browser's answer (JSON).
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_registration(
        &self,
        store: &Store,
        vault: &Vault,
        audit: &AuditLog,
        client: &Client,
        owner: &PasskeyOwner,
        answer: &str,
        state: &PasskeyRegistration,
        name: &str,
    ) -> Result<PasskeyInfo> {
        let name = clean_name(name)?;
        let credential: RegisterPublicKeyCredential = serde_json::from_str(answer)
            .map_err(|_| refused("the browser's answer is malformed"))?;
        let passkey = match self
            .webauthn
            .finish_passkey_registration(&credential, state)
        {
            Ok(passkey) => passkey,
            Err(error) => {
                tracing::info!(%error, "passkey registration refused");
                return Err(refused("this passkey could not be added; try again"));
            }
        };
        let credential_id = cred_text(passkey.cred_id());
        let sealed = vault.seal(name.as_bytes(), &[sealing_key(owner)]).await?;
        let json = serde_json::to_string(&passkey).map_err(|_| Error::Crypto("passkey"))?;
        let now = now_ms();
        let inserted = on_pool!(store, |pool| {
            sqlx::query(
            "INSERT INTO passkeys (credential_id, owner_kind, owner_id, passkey, name_sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING"
        )
        .bind(&credential_id)
        .bind(owner.kind())
        .bind(owner.id())
        .bind(&json)
        .bind(sealed.as_slice())
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        if inserted != 1 {
            // The same credential on another account: never move it.
            return Err(refused("this passkey is already registered"));
        }
        let event = AuditEvent::new(owner.actor(), Action::PasskeyAdded, Outcome::Success)
            .about(format!("passkey:{}", short(&credential_id)));
        audit.record(client.stamp(event)).await?;
        Ok(PasskeyInfo {
            credential_id,
            name,
            created_at: now,
            last_used_at: None,
        })
    }

    /// Starts a sign-in with any passkey of this portal: the options for the
    /// browser (JSON, a modal request rather than autofill) and the state to keep.
    pub fn start_sign_in(&self) -> Result<(String, DiscoverableAuthentication)> {
        let (mut options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|_| Error::Crypto("a passkey sign-in could not start"))?;
        options.mediation = None;
        let json = serde_json::to_string(&options).map_err(|_| Error::Crypto("options"))?;
        Ok((json, state))
    }

    /// Finishes a passkey sign-in and names who signed in. Refused (with the
    /// reason audited) for an unknown passkey, a wrong origin, a stale or
    /// replayed challenge, or missing user verification.
    pub async fn finish_sign_in(
        &self,
        store: &Store,
        audit: &AuditLog,
        client: &Client,
        answer: &str,
        state: DiscoverableAuthentication,
    ) -> Result<PasskeyOwner> {
        let fail = |reason: &str| {
            AuditEvent::new(
                Actor::system("public"),
                Action::SignInFailed,
                Outcome::Failure,
            )
            .about(format!("reason:{reason}"))
        };
        let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(answer) else {
            audit
                .record(client.stamp(fail("passkey_malformed")))
                .await?;
            return Err(refused("the browser's answer is malformed"));
        };
        let Ok((handle, cred_id)) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
        else {
            audit.record(client.stamp(fail("passkey_unknown"))).await?;
            return Err(refused("this passkey is not known here"));
        };
        let credential_id = cred_text(cred_id);
        let row: Option<(String, String, String)> = on_pool!(store, |pool| sqlx::query_as(
            "SELECT owner_kind, owner_id, passkey FROM passkeys WHERE credential_id = $1"
        )
        .bind(&credential_id)
        .fetch_optional(pool)
        .await)?;
        let Some((kind, owner_id, json)) = row else {
            audit.record(client.stamp(fail("passkey_unknown"))).await?;
            return Err(refused("this passkey is not known here"));
        };
        let owner = match kind.as_str() {
            "staff" => PasskeyOwner::Staff(owner_id),
            _ => PasskeyOwner::Patient(owner_id),
        };
        if owner.handle()? != handle {
            audit
                .record(client.stamp(fail("passkey_user_mismatch")))
                .await?;
            return Err(refused("this passkey is not known here"));
        }
        let mut passkey: Passkey = serde_json::from_str(&json)
            .map_err(|_| Error::Crypto("a stored passkey is malformed"))?;
        let result =
            match self
                .webauthn
                .finish_discoverable_authentication_v2(&credential, state, &passkey)
            {
                Ok(result) => result,
                Err(error) => {
                    tracing::info!(%error, "passkey sign-in refused");
                    let event = fail("passkey_refused");
                    audit.record(client.stamp(event)).await?;
                    return Err(refused("this passkey sign-in did not work; try again"));
                }
            };
        passkey.update_credential(&result);
        let json = serde_json::to_string(&passkey).map_err(|_| Error::Crypto("passkey"))?;
        on_pool!(store, |pool| sqlx::query(
            "UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE credential_id = $1"
        )
        .bind(&credential_id)
        .bind(&json)
        .bind(now_ms())
        .execute(pool)
        .await
        .map(drop))?;
        let event = AuditEvent::new(owner.actor(), Action::PasskeyUsed, Outcome::Success)
            .about(format!("passkey:{}", short(&credential_id)));
        audit.record(client.stamp(event)).await?;
        if let PasskeyOwner::Patient(identity_id) = &owner {
            crate::language::remember(store, identity_id, client.language).await?;
        }
        Ok(owner)
    }
}

/// The key a passkey's name is sealed to: the patient's identity; for staff,
/// the staff account's own identity is not at hand here, so the name is sealed
/// to the patient-style key of the staff id.
fn sealing_key(owner: &PasskeyOwner) -> KeyOwner {
    KeyOwner::Identity(owner.id().to_owned())
}

/// A credential id as stored: base64url without padding, as browsers print it.
fn cred_text(bytes: &[u8]) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The first 16 characters of a credential id, enough to tell passkeys apart in the log.
fn short(credential_id: &str) -> String {
    credential_id.chars().take(16).collect()
}

type StoredRow = (String, Passkey, Option<Vec<u8>>, i64, Option<i64>);
/// A `passkeys` row as read: credential id, passkey JSON, sealed name, times.
type RawRow = (String, String, Option<Vec<u8>>, i64, Option<i64>);

async fn stored(store: &Store, owner: &PasskeyOwner) -> Result<Vec<StoredRow>> {
    let rows: Vec<RawRow> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT credential_id, passkey, name_sealed, created_at, last_used_at FROM passkeys \
         WHERE owner_kind = $1 AND owner_id = $2 ORDER BY created_at"
    )
    .bind(owner.kind())
    .bind(owner.id())
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|(id, json, name, created, used)| {
            let passkey = serde_json::from_str(&json)
                .map_err(|_| Error::Crypto("a stored passkey is malformed"))?;
            Ok((id, passkey, name, created, used))
        })
        .collect()
}

/// The owner's passkeys, oldest first, with their names opened.
pub async fn list(store: &Store, vault: &Vault, owner: &PasskeyOwner) -> Result<Vec<PasskeyInfo>> {
    let mut out = Vec::new();
    for (credential_id, _, sealed, created_at, last_used_at) in stored(store, owner).await? {
        let name = match sealed {
            Some(sealed) => match vault.open(&sealed, &sealing_key(owner)).await {
                Ok(plain) => String::from_utf8_lossy(&plain).into_owned(),
                Err(Error::Erased) => "(erased)".to_owned(),
                Err(other) => return Err(other),
            },
            None => "Passkey".to_owned(),
        };
        out.push(PasskeyInfo {
            credential_id,
            name,
            created_at,
            last_used_at,
        });
    }
    Ok(out)
}

/// True when the owner has at least one passkey.
pub async fn has_any(store: &Store, owner: &PasskeyOwner) -> Result<bool> {
    let n: i64 = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT COUNT(*) FROM passkeys WHERE owner_kind = $1 AND owner_id = $2"
    )
    .bind(owner.kind())
    .bind(owner.id())
    .fetch_one(pool)
    .await)?;
    Ok(n > 0)
}

/// Renames one of the owner's passkeys.
pub async fn rename(
    store: &Store,
    vault: &Vault,
    owner: &PasskeyOwner,
    credential_id: &str,
    name: &str,
) -> Result<()> {
    let name = clean_name(name)?;
    let sealed = vault.seal(name.as_bytes(), &[sealing_key(owner)]).await?;
    let n = on_pool!(store, |pool| {
        sqlx::query(
        "UPDATE passkeys SET name_sealed = $4 WHERE credential_id = $1 AND owner_kind = $2 AND owner_id = $3"
    )
    .bind(credential_id)
    .bind(owner.kind())
    .bind(owner.id())
    .bind(sealed.as_slice())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Removes one of the owner's passkeys (only theirs).
pub async fn remove(
    store: &Store,
    audit: &AuditLog,
    client: &Client,
    owner: &PasskeyOwner,
    credential_id: &str,
) -> Result<()> {
    let n = on_pool!(store, |pool| sqlx::query(
        "DELETE FROM passkeys WHERE credential_id = $1 AND owner_kind = $2 AND owner_id = $3"
    )
    .bind(credential_id)
    .bind(owner.kind())
    .bind(owner.id())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    let event = AuditEvent::new(owner.actor(), Action::PasskeyRemoved, Outcome::Success)
        .about(format!("passkey:{}", short(credential_id)));
    audit.record(client.stamp(event)).await?;
    Ok(())
}
