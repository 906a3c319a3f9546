//! Passkeys against webauthn-rs with a software authenticator (1Password's
//! `passkey` crate) talking the browser's JSON: register after a code sign-in,
//! sign in with the passkey alone; a replayed assertion, a wrong origin and a
//! stranger's passkey are refused. On SQLite and PostgreSQL.

use passkey::{
    authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod},
    client::{Client as SoftClient, DefaultClientData},
    types::{ctap2::Aaguid, ctap2::Ctap2Error, Passkey as SoftPasskey},
};
use portico_core::{
    audit::{self, Action, Page},
    auth::{
        passkeys::{self, PasskeyOwner, Passkeys},
        Client,
    },
    on_both_backends,
    testing::TestPortal,
    vault::NormalizedEmail,
    Error,
};
use url::Url;

/// A person who always approves and is verified (a fingerprint, say).
struct Approves;

#[async_trait::async_trait]
impl UserValidationMethod for Approves {
    type PasskeyItem = SoftPasskey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, SoftPasskey>,
        _presence: bool,
        _verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence: true,
            verification: true,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

type Device = SoftClient<
    Option<SoftPasskey>,
    Approves,
    passkey::crypto::rust_crypto::RustCryptoBackend,
    public_suffix::PublicSuffixList,
    (),
>;

fn device() -> Device {
    let authenticator = Authenticator::new(
        Aaguid::new_empty(),
        None,
        Approves,
        passkey::crypto::rust_crypto::RustCryptoBackend,
    );
    SoftClient::new(authenticator).allows_insecure_localhost(true)
}

type Env = TestPortal;

async fn patient(env: &Env, email: &str) -> PasskeyOwner {
    let email = NormalizedEmail::parse(email).unwrap();
    PasskeyOwner::Patient(env.vault.identity_for_email(&email).await.unwrap().id)
}

on_both_backends!(register_then_sign_in_with_the_passkey_alone);

const PORTAL: &str = "http://localhost:3000";

/// The browser's half of adding a passkey: options JSON in, credential JSON out.
async fn create(device: &mut Device, origin: &str, options: &str) -> String {
    let request = serde_json::from_str(options).expect("options parse as the browser's JSON");
    let created = device
        .register(&Url::parse(origin).unwrap(), request, DefaultClientData)
        .await
        .expect("the authenticator makes a credential");
    serde_json::to_string(&created).unwrap()
}

async fn get(device: &mut Device, origin: &str, options: &str) -> String {
    let request = serde_json::from_str(options).expect("options parse as the browser's JSON");
    let asserted = device
        .authenticate(&Url::parse(origin).unwrap(), request, DefaultClientData)
        .await
        .expect("the authenticator signs");
    serde_json::to_string(&asserted).unwrap()
}

async fn register_then_sign_in_with_the_passkey_alone(env: Env) {
    let rp = Passkeys::new(&Url::parse(PORTAL).unwrap()).unwrap();
    let ana = patient(&env, "ana@example.org").await;
    let client = Client::default();
    let mut phone = device();

    let (options, state) = rp
        .start_registration(&env.store, &ana, "Ana")
        .await
        .unwrap();
    assert!(
        options.contains("\"residentKey\":\"required\""),
        "{options}"
    );
    assert!(
        options.contains("\"userVerification\":\"required\""),
        "{options}"
    );
    let answer = create(&mut phone, PORTAL, &options).await;
    let bad_name = rp
        .finish_registration(
            &env.store, &env.vault, &env.audit, &client, &ana, &answer, &state, " ",
        )
        .await;
    assert!(matches!(
        bad_name,
        Err(Error::Invalid { field: "name", .. })
    ));
    let added = rp
        .finish_registration(
            &env.store,
            &env.vault,
            &env.audit,
            &client,
            &ana,
            &answer,
            &state,
            "Ana's phone",
        )
        .await
        .unwrap();
    let listed = passkeys::list(&env.store, &env.vault, &ana).await.unwrap();
    assert_eq!(listed, vec![added.clone()]);
    assert!(passkeys::has_any(&env.store, &ana).await.unwrap());

    // Sign in with the passkey alone: no username, the passkey names its owner.
    let (options, state) = rp.start_sign_in().unwrap();
    assert!(
        !options.contains("allowCredentials\":[{"),
        "nothing names a user: {options}"
    );
    let assertion = get(&mut phone, PORTAL, &options).await;
    let who = rp
        .finish_sign_in(&env.store, &env.audit, &client, &assertion, state)
        .await
        .unwrap();
    assert_eq!(who, ana);

    // The same assertion again, against a new challenge: refused.
    let (_, fresh) = rp.start_sign_in().unwrap();
    let replay = rp
        .finish_sign_in(&env.store, &env.audit, &client, &assertion, fresh)
        .await;
    assert!(
        matches!(
            replay,
            Err(Error::Invalid {
                field: "passkey",
                ..
            })
        ),
        "{replay:?}"
    );

    // A look-alike site's assertion (its origin in the signed client data): refused.
    let (options, state) = rp.start_sign_in().unwrap();
    let phished = get(&mut phone, "http://localhost:4000", &options).await;
    let wrong_origin = rp
        .finish_sign_in(&env.store, &env.audit, &client, &phished, state)
        .await;
    assert!(wrong_origin.is_err(), "a wrong origin is refused");

    // A passkey this portal never registered: refused.
    let mut stranger = device();
    let (options, _) = rp
        .start_registration(&env.store, &patient(&env, "eve@example.org").await, "Eve")
        .await
        .unwrap();
    create(&mut stranger, PORTAL, &options).await;
    let (options, state) = rp.start_sign_in().unwrap();
    let unknown = get(&mut stranger, PORTAL, &options).await;
    assert!(rp
        .finish_sign_in(&env.store, &env.audit, &client, &unknown, state)
        .await
        .is_err());

    // Renamed and removed by its owner only.
    passkeys::rename(
        &env.store,
        &env.vault,
        &ana,
        &added.credential_id,
        "Old phone",
    )
    .await
    .unwrap();
    assert_eq!(
        passkeys::list(&env.store, &env.vault, &ana).await.unwrap()[0].name,
        "Old phone"
    );
    let eve = patient(&env, "eve@example.org").await;
    assert!(matches!(
        passkeys::remove(&env.store, &env.audit, &client, &eve, &added.credential_id).await,
        Err(Error::NotFound)
    ));
    passkeys::remove(&env.store, &env.audit, &client, &ana, &added.credential_id)
        .await
        .unwrap();
    assert!(!passkeys::has_any(&env.store, &ana).await.unwrap());
    let (options, state) = rp.start_sign_in().unwrap();
    let removed = get(&mut phone, PORTAL, &options).await;
    assert!(rp
        .finish_sign_in(&env.store, &env.audit, &client, &removed, state)
        .await
        .is_err());

    let actions: Vec<Action> = audit::events_by(
        &env.store,
        &portico_core::audit::Actor::patient(ana.id()),
        Page::newest(20),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| e.event.action)
    .collect();
    assert!(actions.contains(&Action::PasskeyAdded));
    assert!(actions.contains(&Action::PasskeyUsed));
    assert!(actions.contains(&Action::PasskeyRemoved));
}
