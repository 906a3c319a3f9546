//! Monitoring: `/metrics` in the Prometheus text format, served on a listener
//! of its own (`metrics_listen`), never on the public one.
//!
//! Figures are recorded through the `metrics` facade, here (requests and their
//! latency by route) and in core (audit commit times), and rendered by
//! `metrics-exporter-prometheus`. The audit queue's depth, the outbox backlog
//! and the live sessions are read when scraped. No label holds anything a
//! request carried: routes are templates (`/thread/{id}`), never paths.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::header,
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use portico_core::{auth::sessions::SessionRecords, notify};

use crate::serve::Services;

const REQUESTS: &str = "portico_http_requests_total";
const LATENCY: &str = "portico_http_request_duration_seconds";
/// Latency buckets, in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

static EXPORTER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's exporter, installed on first use (with the upkeep that keeps
/// its histograms from growing between scrapes); `None` if another recorder
/// was installed first.
fn exporter() -> Option<&'static PrometheusHandle> {
    EXPORTER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            let upkeep = handle.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    every.tick().await;
                    upkeep.run_upkeep();
                }
            });
            Some(handle)
        })
        .as_ref()
}

/// Starts recording (call once the runtime runs, before serving).
pub fn install() {
    if exporter().is_none() {
        tracing::warn!("metrics: another recorder is installed; /metrics stays empty");
    }
}

/// Middleware: counts each request by method, route and status, and records
/// its latency by method and route.
pub async fn record(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!(LATENCY, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    res
}

/// The monitoring listener's routes: `GET /metrics` only.
pub fn router(services: Services) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(services)
}

async fn scrape(State(services): State<Services>) -> Response {
    metrics::gauge!("portico_audit_queue_depth").set(services.audit.queued() as f64);
    match notify::backlog(&services.store).await {
        Ok(n) => metrics::gauge!("portico_outbox_backlog").set(n as f64),
        Err(error) => tracing::warn!(%error, "metrics: the outbox backlog could not be read"),
    }
    match SessionRecords(&services.store).live().await {
        Ok(n) => metrics::gauge!("portico_sessions_live").set(n as f64),
        Err(error) => tracing::warn!(%error, "metrics: live sessions could not be counted"),
    }
    let body = exporter().map(PrometheusHandle::render).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
