//! The REST API for organizations' own systems, under `/api/v1`, authenticated
//! by an organization API key (`Authorization: Bearer ptk_…`) and nothing else.
//!
//! These routes sit outside the session layer and the same-origin check: a
//! browser's cookie is never read here, so a signed-in person's session cannot
//! be used to call the API (and a cross-site page cannot either: it has no key).
//! Handlers are thin: parse, call `portico_core`, map its error to a problem
//! document.

pub mod eob;
pub mod members;
pub mod messages;
mod ndjson;
pub mod openapi;
pub mod problem;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderMap},
    routing::{get, post, put},
    Router,
};
use portico_core::api_keys::{ApiKey, ApiKeys};

use self::problem::Problem;
use super::AppState;

/// The largest request body: a 64 KiB message body may grow when escaped as JSON.
pub const BODY_LIMIT: usize = 512 * 1024;

/// The `/api/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/messages", post(messages::send))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/members/{member_id}", put(members::put))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // EOB uploads are streamed with their own limit (`eob_max_size`).
        .route("/api/v1/eob", post(eob::publish))
        .route("/api/v1/eob/$bulk", post(eob::bulk).get(eob::recent))
        .route("/api/v1/eob/$bulk/{id}", get(eob::status))
        .route("/api/v1/members/$bulk", post(members::bulk))
        .layer(DefaultBodyLimit::disable())
}

/// The key named by the request's `Authorization: Bearer` header. Missing,
/// malformed, unknown and revoked keys all get the same 401.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<ApiKey, Problem> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim())
        .ok_or_else(Problem::unauthorized)?;
    let keys = ApiKeys {
        store: &state.store,
        audit: &state.audit,
    };
    match keys.authenticate(secret).await {
        Ok(key) => Ok(key),
        Err(portico_core::Error::Denied) => {
            tracing::warn!("refused an unknown or revoked API key");
            Err(Problem::unauthorized())
        }
        Err(other) => Err(other.into()),
    }
}
