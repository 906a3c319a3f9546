//! Capacity: past the requests the portal can hold at once it answers 503 with
//! `Retry-After` straight away, instead of queueing requests (and their memory)
//! without bound. Bulk EOB uploads, each holding a request open while its body
//! streams, have a smaller limit of their own. Password hashing has its own
//! gate in `portico_core::auth::passwords`.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use portico_core::config::Settings;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api::problem::{Problem, RETRY_AFTER_SECONDS};

/// The portal's limits, shared by every request.
#[derive(Clone, Debug)]
pub struct Capacity {
    requests: Arc<Semaphore>,
    bulk_uploads: Arc<Semaphore>,
}

impl Capacity {
    pub fn new(settings: &Settings) -> Self {
        Self {
            requests: Arc::new(Semaphore::new(settings.max_requests_in_flight)),
            bulk_uploads: Arc::new(Semaphore::new(settings.max_bulk_uploads)),
        }
    }

    /// A place for one more bulk upload, held until it is dropped; `None` when
    /// as many as allowed are already under way.
    pub fn bulk_upload(&self) -> Option<OwnedSemaphorePermit> {
        self.bulk_uploads.clone().try_acquire_owned().ok()
    }
}

/// The 503 a refused request gets: a problem document under `/api/`, a line
/// of text elsewhere; both with `Retry-After`.
fn busy(path: &str) -> Response {
    if path.starts_with("/api/") {
        // A 503 problem document carries Retry-After itself.
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the portal is at capacity; try again in a moment",
        )
        .into_response();
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::RETRY_AFTER, RETRY_AFTER_SECONDS),
        ],
        "Portico is busy. Please try again in a moment.",
    )
        .into_response()
}

/// Middleware: runs the request if there is room, else answers 503. Health
/// checks are always answered, so a load balancer can tell busy from down.
pub async fn limit(State(capacity): State<Capacity>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    let Ok(_place) = capacity.requests.clone().try_acquire_owned() else {
        tracing::warn!("at capacity: a request was refused with 503");
        return busy(req.uri().path());
    };
    next.run(req).await
}
