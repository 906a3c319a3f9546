//! The member directory, for a plan's system with an `eob:publish` key:
//! `PUT /api/v1/members/{member_id}` with `{"email": …}`, and
//! `POST /api/v1/members/$bulk` with NDJSON lines `{"member_id", "email"}`.

use axum::{
    body::to_bytes,
    extract::{Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use portico_core::{audit::Actor, eob::members, Error};
use serde_json::{json, Value};

use super::{eob::publisher, ndjson::Lines, problem::Problem};
use crate::http::AppState;

/// One directory entry's JSON is small; a longer line is refused.
const MAX_ENTRY: usize = 4096;

fn string_member(value: &Value, name: &'static str) -> Result<String, Problem> {
    match value.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(Problem::invalid(name, "is required")),
        Some(_) => Err(Problem::invalid(name, "must be a string")),
    }
}

fn json_object(bytes: &[u8]) -> Result<Value, Problem> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a JSON object",
        )),
        Err(e) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!(
                "not well-formed JSON at line {}, column {}",
                e.line(),
                e.column()
            ),
        )),
    }
}

/// Core's refusals name the directory's own fields (`member_id`, `email`).
fn problem(error: Error) -> Problem {
    match error {
        Error::Invalid { field, problem } => Problem::invalid(field, problem),
        other => other.into(),
    }
}

/// Maps one member id to an email address.
pub async fn put(
    State(state): State<AppState>,
    Path(member_id): Path<String>,
    req: Request,
) -> Result<Response, Problem> {
    let (key, plan) = publisher(&state, req.headers()).await?;
    let bytes = to_bytes(req.into_body(), MAX_ENTRY).await.map_err(|_| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 4 KiB",
        )
    })?;
    let body = json_object(&bytes)?;
    let email = string_member(&body, "email")?;
    members::set_member(
        &state.vault,
        &state.audit,
        &plan,
        &member_id,
        &email,
        Actor::api_key(&key.id),
    )
    .await
    .map_err(problem)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Maps many, one `{"member_id", "email"}` a line; bad lines are reported by
/// number and field, and the others kept.
pub async fn bulk(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let (key, plan) = publisher(&state, req.headers()).await?;
    let mut lines = Lines::new(req.into_body(), MAX_ENTRY);
    let (mut accepted, mut refused) = (0u64, Vec::new());
    loop {
        let batch = lines.next_batch(256, 1 << 20).await.map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "the body could not be read to its end",
            )
        })?;
        if batch.is_empty() {
            break;
        }
        for line in batch {
            let entry = match line.bytes {
                None => Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "the line is longer than 4 KiB",
                )),
                Some(bytes) => json_object(&bytes).and_then(|v| {
                    Ok((string_member(&v, "member_id")?, string_member(&v, "email")?))
                }),
            };
            let result = match entry {
                Ok((member_id, email)) => members::set_member(
                    &state.vault,
                    &state.audit,
                    &plan,
                    &member_id,
                    &email,
                    Actor::api_key(&key.id),
                )
                .await
                .map_err(problem),
                Err(problem) => Err(problem),
            };
            match result {
                Ok(()) => accepted += 1,
                Err(problem) if problem.is_client_error() => {
                    refused.push(json!({"line": line.number, "problem": problem}))
                }
                Err(problem) => return Err(problem),
            }
        }
    }
    Ok(Json(json!({
        "accepted": accepted,
        "rejected": refused.len(),
        "rejections": refused,
    }))
    .into_response())
}
