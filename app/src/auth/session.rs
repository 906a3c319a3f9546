//! The server side of the sign-in functions: the session's contents and the
//! calls into `portico_core`. Only compiled for the server.

use std::{net::SocketAddr, sync::Arc};

use leptos::prelude::*;
use portico_core::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::{
        codes::{CodeCheck, CodePolicy, SignInCodes},
        links::{self, LinkState},
        passkeys::{self, PasskeyOwner, Passkeys},
        passwords::Passwords,
        sessions::SessionRecords,
        staff::{self, PasswordSignIn, StaffAccounts, Throttle},
        Client,
    },
    config::Settings,
    store::{now_ms, Store},
    vault::{NormalizedEmail, Vault},
    Error,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{CodeAnswer, LinkAnswer, PasskeyView, SessionView, StaffHomeView, StaffPasswordAnswer};
use crate::i18n::{fill, sign_in::texts, Lang};

/// The key the signed-in person is kept under (the session store copies `key`
/// into its `person` column).
pub const PERSON_KEY: &str = "person";
/// When the signed-in person was last active (see [`signed_in`]).
const SEEN_KEY: &str = "seen";
/// Who asked for a code and has not typed it yet.
const PENDING_KEY: &str = "pending";
/// Ceremony states between the two halves of adding or using a passkey.
const PASSKEY_ADD_KEY: &str = "passkey_add";
const PASSKEY_SIGN_IN_KEY: &str = "passkey_sign_in";
/// A staff member half-way: password right (or just enrolled), passkey to come.
const STAFF_HALF_KEY: &str = "staff_half";
/// Failed attempts to tell a staff member about, once, after they sign in.
const STAFF_NOTICE_KEY: &str = "staff_notice";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct StaffHalf {
    staff_id: String,
    /// Only straight after enrollment may a passkey be added without one.
    may_add_passkey: bool,
}

/// The signed-in person, as kept in the session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Person {
    /// `patient:<identity id>` or `staff:<staff id>`.
    pub key: String,
    pub kind: String,
    pub id: String,
    pub signed_in_at: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Pending {
    /// None when the address typed is unknown: the code never works.
    identity_id: Option<String>,
    organization_id: Option<String>,
}

/// The services the server puts in context.
pub struct Portal {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub audit: AuditLog,
    pub settings: Arc<Settings>,
}

pub(crate) fn portal() -> Result<Portal, ServerFnError> {
    let t = texts();
    let missing = || ServerFnError::new(t.portal_not_set_up);
    Ok(Portal {
        store: use_context::<Store>().ok_or_else(missing)?,
        vault: use_context::<Arc<Vault>>().ok_or_else(missing)?,
        audit: use_context::<AuditLog>().ok_or_else(missing)?,
        settings: use_context::<Arc<Settings>>().ok_or_else(missing)?,
    })
}

/// A message safe to show: never a database or crypto detail.
pub(crate) fn failed(error: Error) -> ServerFnError {
    let t = texts();
    match error {
        Error::Invalid { field, problem } => ServerFnError::new(match crate::i18n::lang() {
            Lang::En => format!("{field}: {problem}"),
            Lang::Es => invalid_in_spanish(field),
        }),
        Error::Busy(_) => ServerFnError::new(t.portal_busy),
        Error::Denied => {
            // A page rendered on the server answers 403, not 200 with an error in it.
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::FORBIDDEN);
            }
            ServerFnError::new(t.no_access)
        }
        Error::NotFound => ServerFnError::new(t.not_found),
        other => {
            tracing::error!(error = %other, "sign-in step failed");
            ServerFnError::new(t.went_wrong_on_our_side)
        }
    }
}

/// Core's problem with a field is English words; in Spanish the page names the
/// field (those a patient can get wrong in Spanish) and says it is not valid.
fn invalid_in_spanish(field: &str) -> String {
    let t = &crate::i18n::sign_in::SPANISH;
    match field {
        "email" => t.invalid_email.to_owned(),
        "code" => t.invalid_code.to_owned(),
        "passkey" => t.invalid_passkey.to_owned(),
        "name" => fill(
            t.invalid_name,
            &[("max", &passkeys::NAME_MAX_CHARS.to_string())],
        ),
        _ => fill(t.invalid_other, &[("field", field)]),
    }
}

async fn session() -> Result<Session, ServerFnError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|_| ServerFnError::new(texts().no_session))
}

/// The client's address and user agent, for the audit log.
pub(crate) async fn client() -> Client {
    let parts: Option<http::request::Parts> = use_context();
    match parts {
        Some(parts) => client_of(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            &parts.headers,
        ),
        None => Client::default(),
    }
}

/// The client of a request from its address and headers (its user agent), for
/// handlers outside the server functions too.
pub fn client_of(address: Option<std::net::IpAddr>, headers: &http::HeaderMap) -> Client {
    Client {
        address,
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        language: crate::i18n::from_request(headers).into(),
    }
}

async fn store_err<T>(r: Result<T, tower_sessions::session::Error>) -> Result<T, ServerFnError> {
    r.map_err(|e| {
        tracing::error!(error = %e, "session store");
        ServerFnError::new(texts().went_wrong_on_our_side)
    })
}

fn policy(p: &Portal) -> CodePolicy {
    CodePolicy {
        digits: p.settings.sign_in_code_digits,
        ..CodePolicy::default()
    }
}

fn codes(p: &Portal) -> SignInCodes<'_> {
    SignInCodes {
        store: &p.store,
        vault: &p.vault,
        audit: &p.audit,
        policy: policy(p),
    }
}

/// The branding of an organization, for a page.
pub async fn brand(p: &Portal, organization_id: &str) -> Result<super::Brand, ServerFnError> {
    let b = portico_core::admin::branding::branding(&p.store, organization_id)
        .await
        .map_err(failed)?;
    Ok(super::Brand {
        organization_id: organization_id.to_owned(),
        logo: b.has_logo,
        colour: b.colour.is_some(),
    })
}

pub async fn link_landing(token: &str) -> Result<LinkAnswer, ServerFnError> {
    let p = portal()?;
    let state = links::open(&p.store, &p.audit, &client().await, token)
        .await
        .map_err(failed)?;
    Ok(match state {
        LinkState::Valid(landing) => LinkAnswer::Valid {
            brand: brand(&p, &landing.organization_id).await?,
            has_passkey: passkeys::has_any(&p.store, &PasskeyOwner::Patient(landing.identity_id))
                .await
                .map_err(failed)?,
            organization_name: landing.organization_name,
            statements: landing.statements,
        },
        LinkState::Expired => LinkAnswer::Expired,
        LinkState::Unknown => LinkAnswer::Unknown,
        LinkState::Malformed => LinkAnswer::Malformed,
    })
}

pub async fn request_code_for_link(token: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let client = client().await;
    let LinkState::Valid(landing) = links::open(&p.store, &p.audit, &client, token)
        .await
        .map_err(failed)?
    else {
        return Err(ServerFnError::new(texts().link_no_longer_works));
    };
    codes(&p)
        .send(
            &landing.identity_id,
            Some(&landing.organization_id),
            &client,
        )
        .await
        .map_err(failed)?;
    let pending = Pending {
        identity_id: Some(landing.identity_id),
        organization_id: Some(landing.organization_id),
    };
    store_err(session().await?.insert(PENDING_KEY, pending).await).await
}

pub async fn request_code_by_email(email: &str) -> Result<(), ServerFnError> {
    let email = NormalizedEmail::parse(email).map_err(failed)?;
    let p = portal()?;
    let client = client().await;
    // The lookup is the same work for every address; sending happens after the
    // answer, so a known address does not take longer to answer.
    let identity = p.vault.find_identity(&email).await.map_err(failed)?;
    let pending = Pending {
        identity_id: identity.as_ref().map(|i| i.id.clone()),
        organization_id: None,
    };
    store_err(session().await?.insert(PENDING_KEY, pending).await).await?;
    if let Some(identity) = identity {
        tokio::spawn(async move {
            if let Err(error) = codes(&p).send(&identity.id, None, &client).await {
                tracing::error!(%error, "sign-in code not sent");
            }
        });
    }
    Ok(())
}

pub async fn submit_code(typed: &str) -> Result<CodeAnswer, ServerFnError> {
    let p = portal()?;
    let session = session().await?;
    let pending: Pending = store_err(session.get(PENDING_KEY).await)
        .await?
        .unwrap_or_default();
    let Some(identity_id) = pending.identity_id else {
        let digits = policy(&p).digits;
        let shaped = typed.chars().filter(char::is_ascii_digit).count() == usize::from(digits);
        return Ok(if shaped {
            CodeAnswer::DidNotWork
        } else {
            CodeAnswer::NotACode { digits }
        });
    };
    let client = client().await;
    match codes(&p).check(&identity_id, typed, &client).await {
        Ok(CodeCheck::Accepted) => {}
        Ok(_) => return Ok(CodeAnswer::DidNotWork),
        Err(Error::Invalid { field: "code", .. }) => {
            return Ok(CodeAnswer::NotACode {
                digits: policy(&p).digits,
            })
        }
        Err(other) => return Err(failed(other)),
    }
    store_err(session.remove::<Pending>(PENDING_KEY).await).await?;
    let owner = PasskeyOwner::Patient(identity_id);
    sign_in_as(
        &p,
        &session,
        &client,
        &owner,
        "code",
        pending.organization_id,
    )
    .await?;
    Ok(CodeAnswer::SignedIn)
}
/// Signs `owner` in on this session: a new session id (an id planted before
/// sign-in is worth nothing after it), the person, and the audit event.
async fn sign_in_as(
    p: &Portal,
    session: &Session,
    client: &Client,
    owner: &PasskeyOwner,
    method: &str,
    organization_id: Option<String>,
) -> Result<(), ServerFnError> {
    store_err(session.cycle_id().await).await?;
    let (kind, actor) = match owner {
        PasskeyOwner::Patient(id) => ("patient", Actor::patient(id)),
        PasskeyOwner::Staff(id) => ("staff", Actor::staff(id)),
    };
    let person = Person {
        key: format!("{kind}:{}", owner.id()),
        kind: kind.into(),
        id: owner.id().to_owned(),
        signed_in_at: now_ms(),
    };
    store_err(session.insert(PERSON_KEY, person).await).await?;
    let mut event = AuditEvent::new(actor, Action::SignInSucceeded, Outcome::Success)
        .about(format!("method:{method}"));
    if let Some(org) = organization_id {
        event = event.in_organization(org);
    }
    p.audit.record(client.stamp(event)).await.map_err(failed)?;
    Ok(())
}

fn passkeys_rp() -> Result<Arc<Passkeys>, ServerFnError> {
    use_context::<Arc<Passkeys>>().ok_or_else(|| ServerFnError::new(texts().portal_not_set_up))
}

/// Who may add a passkey now: a staff member who has just enrolled.
async fn enrolling_staff() -> Result<Option<String>, ServerFnError> {
    let half: Option<StaffHalf> = store_err(session().await?.get(STAFF_HALF_KEY).await).await?;
    Ok(half.filter(|h| h.may_add_passkey).map(|h| h.staff_id))
}

/// The signed-in person as a passkey owner, or an error asking them to sign in.
async fn owner() -> Result<PasskeyOwner, ServerFnError> {
    let Some(person) = signed_in().await? else {
        return match enrolling_staff().await? {
            Some(staff_id) => Ok(PasskeyOwner::Staff(staff_id)),
            None => Err(ServerFnError::new(texts().sign_in_again)),
        };
    };
    Ok(if person.kind == "staff" {
        PasskeyOwner::Staff(person.id)
    } else {
        PasskeyOwner::Patient(person.id)
    })
}

pub async fn passkey_add_start() -> Result<String, ServerFnError> {
    let p = portal()?;
    let owner = owner().await?;
    let (options, state) = passkeys_rp()?
        .start_registration(&p.store, &owner, "Portico")
        .await
        .map_err(failed)?;
    store_err(session().await?.insert(PASSKEY_ADD_KEY, state).await).await?;
    Ok(options)
}

pub async fn passkey_add_finish(answer: &str, name: &str) -> Result<PasskeyView, ServerFnError> {
    let p = portal()?;
    let owner = owner().await?;
    let session = session().await?;
    // Taken out of the session first: a ceremony state is used once.
    let state = store_err(session.remove(PASSKEY_ADD_KEY).await)
        .await?
        .ok_or_else(|| ServerFnError::new(texts().start_adding_the_passkey_again))?;
    let info = passkeys_rp()?
        .finish_registration(
            &p.store,
            &p.vault,
            &p.audit,
            &client().await,
            &owner,
            answer,
            &state,
            name,
        )
        .await
        .map_err(failed)?;
    // A staff member finishing enrollment is now signed in: password and passkey.
    if let (PasskeyOwner::Staff(staff_id), Some(enrolling)) = (&owner, enrolling_staff().await?) {
        if *staff_id == enrolling {
            store_err(session.remove::<StaffHalf>(STAFF_HALF_KEY).await).await?;
            sign_in_as(&p, &session, &client().await, &owner, "enrollment", None).await?;
        }
    }
    Ok(view_of(info))
}

fn view_of(info: passkeys::PasskeyInfo) -> PasskeyView {
    PasskeyView {
        id: info.credential_id,
        name: info.name,
        created_at: info.created_at,
        last_used_at: info.last_used_at,
    }
}

pub async fn passkey_sign_in_start() -> Result<String, ServerFnError> {
    let (options, state) = passkeys_rp()?.start_sign_in().map_err(failed)?;
    store_err(session().await?.insert(PASSKEY_SIGN_IN_KEY, state).await).await?;
    Ok(options)
}

pub async fn passkey_sign_in_finish(answer: &str) -> Result<String, ServerFnError> {
    let p = portal()?;
    let session = session().await?;
    let state = store_err(session.remove(PASSKEY_SIGN_IN_KEY).await)
        .await?
        .ok_or_else(|| ServerFnError::new(texts().start_passkey_sign_in_again))?;
    let client = client().await;
    let owner = passkeys_rp()?
        .finish_sign_in(&p.store, &p.audit, &client, answer, state)
        .await
        .map_err(failed)?;
    if let PasskeyOwner::Staff(staff_id) = &owner {
        let profile = staff::profile(&p.store, staff_id).await.map_err(failed)?;
        if profile.disabled {
            let event = AuditEvent::new(
                Actor::staff(staff_id),
                Action::SignInFailed,
                Outcome::Denied,
            )
            .about("reason:disabled".to_owned());
            p.audit.record(client.stamp(event)).await.map_err(failed)?;
            return Err(ServerFnError::new(
                "this account is disabled; ask your admin",
            ));
        }
        let failures = staff::take_unreported_failures(&p.store, staff_id)
            .await
            .map_err(failed)?;
        store_err(session.remove::<StaffHalf>(STAFF_HALF_KEY).await).await?;
        sign_in_as(
            &p,
            &session,
            &client,
            &owner,
            "passkey",
            Some(profile.organization_id),
        )
        .await?;
        // Failures the password step already took count too.
        let earlier: u32 = store_err(session.get(STAFF_NOTICE_KEY).await)
            .await?
            .unwrap_or(0);
        store_err(session.insert(STAFF_NOTICE_KEY, earlier + failures).await).await?;
        return Ok("/staff".to_owned());
    }
    sign_in_as(&p, &session, &client, &owner, "passkey", None).await?;
    Ok("/inbox".to_owned())
}

pub async fn passkey_list() -> Result<Vec<PasskeyView>, ServerFnError> {
    let p = portal()?;
    let owner = owner().await?;
    let list = passkeys::list(&p.store, &p.vault, &owner)
        .await
        .map_err(failed)?;
    Ok(list.into_iter().map(view_of).collect())
}

pub async fn passkey_rename(id: &str, name: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let owner = owner().await?;
    passkeys::rename(&p.store, &p.vault, &owner, id, name)
        .await
        .map_err(failed)
}

pub async fn passkey_remove(id: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let owner = owner().await?;
    passkeys::remove(&p.store, &p.audit, &client().await, &owner, id)
        .await
        .map_err(failed)
}

/// After a form posted without JavaScript (the browser asked for a page, not
/// data), sends the browser to `to` instead of back where it came from. A call
/// from the hydrated page is left alone: the page shows the answer itself.
pub fn after_plain_form_go_to(to: &str) {
    let plain_form = use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    });
    if plain_form {
        leptos_axum::redirect(to);
    }
}

/// The signed-in patient's identity id; `staff_refusal` is the error a
/// signed-in staff member gets.
pub async fn signed_in_patient(staff_refusal: &str) -> Result<String, ServerFnError> {
    match signed_in().await? {
        Some(person) if person.kind != "staff" => Ok(person.id),
        Some(_) => Err(ServerFnError::new(staff_refusal.to_owned())),
        None => Err(ServerFnError::new(texts().sign_in_again)),
    }
}

/// The signed-in person, after checking the absolute timeout (the idle timeout
/// is the session's own expiry). A session past its absolute timeout is ended.
pub async fn signed_in() -> Result<Option<Person>, ServerFnError> {
    signed_in_on(&portal()?, &session().await?, &client().await).await
}

/// As [`signed_in`], for a handler outside the server functions that holds the
/// portal, the session and the client itself.
pub async fn signed_in_on(
    p: &Portal,
    session: &Session,
    client: &Client,
) -> Result<Option<Person>, ServerFnError> {
    let Some(person) = store_err(session.get::<Person>(PERSON_KEY).await).await? else {
        return Ok(None);
    };
    let limit = i64::try_from(p.settings.absolute_timeout.as_millis()).unwrap_or(i64::MAX);
    if now_ms().saturating_sub(person.signed_in_at) >= limit {
        store_err(session.flush().await).await?;
        let event = AuditEvent::new(actor_of(&person), Action::SessionExpired, Outcome::Success)
            .about("reason:absolute_timeout".to_owned());
        p.audit.record(client.stamp(event)).await.map_err(failed)?;
        return Ok(None);
    }
    // Activity keeps the session alive: a changed session is saved with a new
    // idle expiry. Written at most every tenth of the idle timeout, not on
    // every request.
    let now = now_ms();
    let idle = i64::try_from(p.settings.idle_timeout.as_millis()).unwrap_or(i64::MAX);
    let seen: i64 = store_err(session.get(SEEN_KEY).await).await?.unwrap_or(0);
    if now.saturating_sub(seen) >= (idle / 10).max(1000) {
        store_err(session.insert(SEEN_KEY, now).await).await?;
    }
    Ok(Some(person))
}

fn actor_of(person: &Person) -> Actor {
    if person.kind == "staff" {
        Actor::staff(&person.id)
    } else {
        Actor::patient(&person.id)
    }
}

pub async fn current_session() -> Result<Option<SessionView>, ServerFnError> {
    let p = portal()?;
    Ok(signed_in().await?.map(|person| SessionView {
        person_kind: person.kind,
        idle_timeout_secs: p.settings.idle_timeout.as_secs(),
    }))
}

pub async fn sign_out(everywhere: bool) -> Result<(), ServerFnError> {
    let p = portal()?;
    let session = session().await?;
    let person = signed_in().await?;
    store_err(session.flush().await).await?;
    let Some(person) = person else {
        return Ok(());
    };
    let action = if everywhere {
        SessionRecords(&p.store)
            .delete_person(&person.key)
            .await
            .map_err(failed)?;
        Action::SignedOutEverywhere
    } else {
        Action::SignedOut
    };
    let event = AuditEvent::new(actor_of(&person), action, Outcome::Success);
    p.audit
        .record(client().await.stamp(event))
        .await
        .map_err(failed)?;
    Ok(())
}

pub async fn staff_enrollment_open(token: &str) -> Result<bool, ServerFnError> {
    let p = portal()?;
    staff::enrollment_open(&p.store, token)
        .await
        .map_err(failed)
}

pub(crate) fn staff_accounts<'a>(p: &'a Portal, passwords: &'a Passwords) -> StaffAccounts<'a> {
    StaffAccounts {
        store: &p.store,
        vault: &p.vault,
        audit: &p.audit,
        passwords,
        throttle: Throttle::default(),
    }
}

pub(crate) fn passwords() -> Result<Arc<Passwords>, ServerFnError> {
    use_context::<Arc<Passwords>>().ok_or_else(|| ServerFnError::new("the portal is not set up"))
}

pub async fn staff_enroll(token: &str, password: String) -> Result<(), ServerFnError> {
    let p = portal()?;
    let passwords = passwords()?;
    let accounts = staff_accounts(&p, &passwords);
    let staff_id = accounts
        .enroll(token, secrecy::SecretString::from(password))
        .await
        .map_err(failed)?;
    let half = StaffHalf {
        staff_id,
        may_add_passkey: true,
    };
    store_err(session().await?.insert(STAFF_HALF_KEY, half).await).await
}

pub async fn staff_password(
    email: &str,
    password: String,
) -> Result<StaffPasswordAnswer, ServerFnError> {
    let email = NormalizedEmail::parse(email).map_err(failed)?;
    let p = portal()?;
    let passwords = passwords()?;
    let accounts = staff_accounts(&p, &passwords);
    let answer = accounts
        .sign_in_with_password(
            &email,
            secrecy::SecretString::from(password),
            &client().await,
        )
        .await
        .map_err(failed)?;
    Ok(match answer {
        PasswordSignIn::Accepted {
            staff_id,
            failures_since_last,
            ..
        } => {
            let session = session().await?;
            let half = StaffHalf {
                staff_id,
                may_add_passkey: false,
            };
            store_err(session.insert(STAFF_HALF_KEY, half).await).await?;
            // Reported already by the password check; kept for the home page.
            store_err(session.insert(STAFF_NOTICE_KEY, failures_since_last).await).await?;
            StaffPasswordAnswer::ConfirmWithPasskey
        }
        PasswordSignIn::Refused => StaffPasswordAnswer::Refused,
        PasswordSignIn::Throttled => StaffPasswordAnswer::Throttled,
    })
}

pub async fn staff_home() -> Result<Option<StaffHomeView>, ServerFnError> {
    let p = portal()?;
    let Some(person) = signed_in().await? else {
        return Ok(None);
    };
    if person.kind != "staff" {
        return Ok(None);
    }
    let profile = staff::profile(&p.store, &person.id).await.map_err(failed)?;
    let session = session().await?;
    // Told once: taken out of the session as it is shown.
    let failures: u32 = store_err(session.remove(STAFF_NOTICE_KEY).await)
        .await?
        .unwrap_or(0);
    Ok(Some(StaffHomeView {
        brand: brand(&p, &profile.organization_id).await?,
        organization_name: profile.organization_name,
        role: profile.role.as_str().to_owned(),
        failures_since_last: failures,
        idle_timeout_secs: p.settings.idle_timeout.as_secs(),
    }))
}
