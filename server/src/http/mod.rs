//! The HTTP surface: Leptos pages and server functions, `/healthz`, the REST
//! API under `/api/v1`, and the middleware every response passes through.

mod admin;
pub mod api;
mod branding;
mod capacity;
mod health;
mod language;
mod messages;
mod request_log;
mod same_origin;
pub mod security;
pub mod sessions;
mod statements;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, FromRef},
    routing::{get, post},
    Router,
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use portico_app::{shell, App};
use portico_core::{
    audit::AuditLog,
    auth::{passkeys::Passkeys, passwords::Passwords},
    config::Settings,
    store::Store,
    vault::Vault,
};

use crate::serve::Services;

/// What every handler may reach.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub vault: Arc<Vault>,
    pub audit: AuditLog,
    pub passkeys: Arc<Passkeys>,
    pub passwords: Arc<Passwords>,
    pub settings: Arc<Settings>,
    pub capacity: capacity::Capacity,
}

impl AppState {
    pub fn new(settings: Settings, services: Services) -> Self {
        Self {
            leptos_options: leptos_options(&settings),
            store: services.store,
            vault: services.vault,
            audit: services.audit,
            passkeys: services.passkeys,
            passwords: services.passwords,
            capacity: capacity::Capacity::new(&settings),
            settings: Arc::new(settings),
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

/// Where the built site is: cargo-leptos says so through `LEPTOS_*` variables;
/// otherwise the layout of `Cargo.toml`'s `[[workspace.metadata.leptos]]`.
fn leptos_options(settings: &Settings) -> LeptosOptions {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", "portico"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(settings.listen)
        .build()
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let context_state = state.clone();
    let page_context = move || {
        security::provide_nonce_from_request();
        provide_context(context_state.store.clone());
        provide_context(context_state.vault.clone());
        provide_context(context_state.audit.clone());
        provide_context(context_state.settings.clone());
        provide_context(context_state.passkeys.clone());
        provide_context(context_state.passwords.clone());
    };

    // The forms carry up to the configured files of the configured size, plus text.
    let form_limit = usize::try_from(
        state.settings.attachment_max_size * state.settings.attachments_per_message as u64
            + 1_000_000,
    )
    .unwrap_or(usize::MAX);
    let router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/ping", get(health::ping))
        .route("/messages", post(messages::compose))
        .route("/thread/{id}/reply", post(messages::reply))
        .route("/staff/admin/branding", post(branding::save))
        .layer(DefaultBodyLimit::max(form_limit))
        .route("/attachments/{id}", get(messages::download))
        .route("/statements/{id}/pdf", get(statements::pdf))
        .route("/statements/{id}/fhir.json", get(statements::fhir_json))
        .route("/staff/admin/audit.csv", post(admin::audit_csv))
        .route("/language", post(language::choose))
        .route("/brand/{org}/logo", get(branding::logo))
        .route("/brand/{org}/colours.css", get(branding::colours))
        .leptos_routes_with_context(&state, routes, page_context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context, shell));
    let own_origin =
        same_origin::OwnOrigin(state.settings.public_url.origin().ascii_serialization());
    let router = router
        // Inside the session layer: a staff page's organization is its member's.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            branding::header_brand,
        ))
        .layer(sessions::layer(state.store.clone(), &state.settings))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(own_origin),
            same_origin::check,
        ))
        // Added after the session and same-origin layers, so neither applies:
        // the API takes a bearer key, never a cookie.
        .merge(api::routes());
    // Inside the request log, so refusals are logged; inside the security
    // headers, so they carry them.
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            state.capacity.clone(),
            capacity::limit,
        ))
        .layer(axum::middleware::from_fn(crate::metrics::record));
    request_log::apply(router)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(security::SecurityPolicy::new(&state.settings)),
            security::headers,
        ))
        .with_state(state)
}
