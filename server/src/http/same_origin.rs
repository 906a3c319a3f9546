//! Refuses state-changing requests that come from another site: a POST to a
//! server function (or any non-GET) must carry this portal's own `Origin`, or,
//! without one, must not be marked cross-site by the browser. Together with
//! SameSite=Strict cookies this stops cross-site request forgery.
//!
//! A form posted without JavaScript carries `Origin: null`: the portal's
//! `Referrer-Policy: no-referrer` makes browsers hide the origin of such
//! posts. Those are let through only when the browser's `Sec-Fetch-Site`,
//! which no page can set, says the post came from this same origin.

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
    if is_foreign(origin, fetch_site, &own.0) {
        tracing::warn!("refused a cross-origin request");
        return (
            StatusCode::FORBIDDEN,
            "This request came from another site and was refused.",
        )
            .into_response();
    }
    next.run(req).await
}

fn is_foreign(origin: Option<&str>, fetch_site: Option<&str>, own: &str) -> bool {
    match origin {
        Some("null") => fetch_site != Some("same-origin"),
        Some(origin) => origin != own,
        None => matches!(fetch_site, Some("cross-site" | "same-site")),
    }
}

#[cfg(test)]
mod tests {
    use super::is_foreign;

    const OWN: &str = "https://portal.example.org";

    #[test]
    fn only_this_origin_or_a_same_origin_post_gets_through() {
        for (origin, site, foreign) in [
            (Some(OWN), Some("same-origin"), false),
            (Some("https://evil.example"), Some("cross-site"), true),
            (Some("https://evil.example"), None, true),
            // A form posted without JavaScript under no-referrer.
            (Some("null"), Some("same-origin"), false),
            // A sandboxed frame or a data: page elsewhere also says "null".
            (Some("null"), Some("cross-site"), true),
            (Some("null"), Some("same-site"), true),
            (Some("null"), None, true),
            // Tools and API clients that send neither header.
            (None, None, false),
            (None, Some("cross-site"), true),
            (None, Some("same-site"), true),
        ] {
            assert_eq!(
                is_foreign(origin, site, OWN),
                foreign,
                "{origin:?} {site:?}"
            );
        }
    }
}
