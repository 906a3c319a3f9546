//! `/healthz`: 200 while the database answers, 503 when it does not. `/ping`:
//! 200 without touching anything (liveness; the load benchmark's ceiling).

use std::time::Duration;

use axum::{extract::State, http::StatusCode, response::IntoResponse, Json};
use portico_core::store::Store;
use serde_json::json;

/// How long the check waits for the database before calling it unreachable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn healthz(State(store): State<Store>) -> impl IntoResponse {
    match tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": "ok" })),
        ),
        outcome => {
            let reason = match outcome {
                Ok(Err(err)) => err.to_string(),
                _ => "timed out".to_owned(),
            };
            tracing::warn!(%reason, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}

/// Liveness: the process answers. Reads nothing, so the load benchmark uses it
/// as the ceiling of this binary with this middleware.
pub async fn ping() -> &'static str {
    "ok"
}
