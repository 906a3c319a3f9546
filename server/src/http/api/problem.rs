//! Errors of the REST API as problem documents (RFC 9457,
//! `application/problem+json`). Every title and detail is written here or in
//! `portico_core`: none repeats what the client sent, so a subject or body can
//! never come back in an error, nor reach the log.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// Seconds a client told the portal is busy (503) is asked to wait.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// What went wrong with a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    kind: &'static str,
    /// The HTTP status's phrase.
    #[schema(example = "Unprocessable Content")]
    title: &'static str,
    #[schema(example = 422)]
    status: u16,
    /// What to change, in words.
    #[schema(example = "must be 1 to 200 characters")]
    detail: String,
    /// The JSON member at fault, for 400 and 422 when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "subject")]
    field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    /// A 422 naming `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
        }
    }

    /// A 401 for a missing, unknown or revoked key (they are told apart nowhere).
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "send an active API key as Authorization: Bearer ptk_…",
        )
    }

    /// The client must change the request (a 4xx).
    pub fn is_client_error(&self) -> bool {
        self.status().is_client_error()
    }

    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<portico_core::Error> for Problem {
    fn from(error: portico_core::Error) -> Self {
        use portico_core::Error;
        match error {
            // Core problems are fixed texts; core says `email` where the API says `to`.
            Error::Invalid { field, problem } => {
                Self::invalid(if field == "email" { "to" } else { field }, problem)
            }
            Error::Denied => Self::new(
                StatusCode::FORBIDDEN,
                "this key may not do that: a messages:send key sends from its own mailbox only",
            ),
            Error::NotFound => Self::new(StatusCode::NOT_FOUND, "the key's mailbox is gone"),
            Error::Busy(_) | Error::AuditUnavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the portal is busy; try again in a moment",
            ),
            other => {
                tracing::error!(error = %other, "api request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side; try again",
                )
            }
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portico\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        res
    }
}
