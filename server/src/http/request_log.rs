//! One log line per request: method, route template, status, latency and request
//! id. Never the query string, the body or the concrete path, which may carry a
//! sign-in token.

use std::time::Duration;

use axum::{
    body::Body,
    extract::MatchedPath,
    http::{HeaderName, Request, Response},
    Router,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tracing::Span;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps every route of `router` (and its fallback) in the request log.
pub fn apply<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<Body>| {
                        let route = req
                            .extensions()
                            .get::<MatchedPath>()
                            .map(|p| p.as_str().to_owned())
                            .unwrap_or_else(|| "(no route)".to_owned());
                        let request_id = req
                            .headers()
                            .get(&REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-")
                            .to_owned();
                        tracing::info_span!("request", method = %req.method(), %route, %request_id)
                    })
                    .on_request(())
                    .on_response(|res: &Response<Body>, latency: Duration, _span: &Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "served"
                        );
                    })
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}
