//! `POST /api/v1/messages`: a provider's system starts a thread with a patient,
//! from the mailbox its key is scoped to.

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, Request, State},
    http::{header, HeaderMap, StatusCode},
    Json,
};
use portico_core::{auth::Client, messages::Messaging, store::now_ms, vault::NormalizedEmail};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{authenticate, problem::Problem, BODY_LIMIT};
use crate::http::AppState;

/// A new message from the key's mailbox to a patient. Members not listed here
/// are refused, so that a misspelt `expires_at` cannot pass unnoticed (the
/// document says so with `additionalProperties: false`, see `openapi.rs`).
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "to": "patient@example.org",
    "subject": "Your test results",
    "body": "Your results are in. Please call us to talk them through.",
    "expires_at": "2026-12-31T23:59:59Z"
}))]
pub struct SendMessage {
    /// The patient's email address. They get a notice that names the
    /// organization and carries a link, never the subject or body.
    #[schema(format = Email)]
    pub to: String,
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub subject: String,
    /// Plain text (never rendered as HTML), 1 byte to 64 KiB.
    #[schema(min_length = 1)]
    pub body: String,
    /// An RFC 3339 time in the future: after it the patient sees only that the
    /// message was withdrawn.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

/// The JSON members a [`SendMessage`] may have.
pub const SEND_MESSAGE_MEMBERS: [&str; 4] = ["to", "subject", "body", "expires_at"];

/// The message was stored and the patient's notice queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageSent {
    pub message_id: String,
    pub thread_id: String,
}

impl SendMessage {
    /// Reads a request body. Malformed JSON is a 400; a missing, mistyped or
    /// unknown member a 422 naming it. No message repeats a value sent.
    pub fn parse(bytes: &[u8]) -> Result<Self, Problem> {
        let value: Value = serde_json::from_slice(bytes).map_err(|_| {
            Problem::new(StatusCode::BAD_REQUEST, "the body is not well-formed JSON")
        })?;
        let Value::Object(mut members) = value else {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON object",
            ));
        };
        let mut text = |name: &'static str| match members.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Problem::invalid(name, "must be a string")),
        };
        let required = |value: Option<String>, name: &'static str| {
            value.ok_or_else(|| Problem::invalid(name, "is required"))
        };
        let parsed = Self {
            to: required(text("to")?, "to")?,
            subject: required(text("subject")?, "subject")?,
            body: required(text("body")?, "body")?,
            expires_at: text("expires_at")?,
        };
        refuse_unknown(&members)?;
        Ok(parsed)
    }
}

/// A 422 for the first member left over; its name is repeated only when it
/// looks like a name (a key is not a value, but it is still the client's text).
fn refuse_unknown(rest: &Map<String, Value>) -> Result<(), Problem> {
    let Some(name) = rest.keys().next() else {
        return Ok(());
    };
    let plain = name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    Err(if plain {
        Problem::invalid(
            name.clone(),
            "is not a member of this request; the members are to, subject, body, expires_at",
        )
    } else {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body has a member other than to, subject, body, expires_at",
        )
    })
}

/// Unix milliseconds of an RFC 3339 time in the future.
fn expiry(text: &str) -> Result<i64, Problem> {
    use time::{format_description::well_known::Rfc3339, OffsetDateTime};
    let bad = || {
        Problem::invalid(
            "expires_at",
            "must be an RFC 3339 time in the future, such as 2026-12-31T23:59:59Z",
        )
    };
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| bad())?;
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())?;
    if ms <= now_ms() {
        return Err(bad());
    }
    Ok(ms)
}

/// The request is JSON: `application/json`, parameters such as a charset allowed.
fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(()),
        _ => Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
        )),
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the body is larger than 512 KiB",
    )
}

fn client(req: &Request) -> Client {
    let address = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    portico_app::auth::session::client_of(address, req.headers())
}

/// Sends a secure message to a patient.
#[utoipa::path(
    post,
    path = "/api/v1/messages",
    operation_id = "send_message",
    tag = "messages",
    request_body = SendMessage,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Stored, and the patient's notice queued", body = MessageSent),
        (status = 400, description = "The body is not well-formed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No key, or an unknown or revoked one", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is larger than 512 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A member is missing, mistyped, unknown or breaks a rule; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Busy: try again in a moment", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send(
    State(state): State<AppState>,
    req: Request,
) -> Result<(StatusCode, Json<MessageSent>), Problem> {
    let key = authenticate(&state, req.headers()).await?;
    if key.scope != portico_core::api_keys::Scope::SendMessages {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "this key may not send messages: it needs the messages:send scope",
        ));
    }
    require_json(req.headers())?;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let client = client(&req);
    let bytes =
        Bytes::from_request(req, &())
            .await
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                _ => Problem::new(StatusCode::BAD_REQUEST, "the body could not be read"),
            })?;
    let input = SendMessage::parse(&bytes)?;
    let to = NormalizedEmail::parse(&input.to)?;
    let expires_at = input.expires_at.as_deref().map(expiry).transpose()?;
    let messaging = Messaging {
        store: &state.store,
        vault: &state.vault,
        audit: &state.audit,
        link_lifetime: state.settings.link_lifetime,
        attachment_limits: state.settings.attachment_limits(),
    };
    let (thread_id, message_id) = messaging
        .start_thread(
            &key,
            &key.mailbox_id,
            &to,
            &input.subject,
            &input.body,
            expires_at,
            &client,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MessageSent {
            message_id,
            thread_id,
        }),
    ))
}
