//! Refuses state-changing requests that come from another site: a POST to a
//! server function (or any non-GET) must carry this portal's own `Origin`, or,
//! without one, must not be marked cross-site by the browser. Together with
//! SameSite=Strict cookies this stops cross-site request forgery.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// This portal's origin, such as `https://portal.example.org`.
pub struct OwnOrigin(pub String);

pub async fn check(State(own): State<Arc<OwnOrigin>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let foreign = match origin {
        Some(origin) => origin != own.0,
        None => matches!(fetch_site, Some("cross-site" | "same-site")),
    };
    if foreign {
        tracing::warn!("refused a cross-origin request");
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response();
    }
    next.run(req).await
}
