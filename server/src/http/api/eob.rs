//! EOB publishing for a health plan's system, with an `eob:publish` key:
//! `POST /api/v1/eob` (one EOB or a Bundle), `POST /api/v1/eob/$bulk` (NDJSON,
//! streamed), `GET /api/v1/eob/$bulk` and `GET /api/v1/eob/$bulk/{id}` to
//! follow uploads. Refusals of content are FHIR OperationOutcomes
//! (`application/fhir+json`); refusals of the request itself are problems.

use axum::{
    body::{to_bytes, Body},
    extract::{Path, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use portico_core::{
    api_keys::{ApiKey, Scope},
    eob::{
        plans, uploads, Document, DocumentResult, HealthPlan, Issue, OperationOutcome, Publisher,
        Rejection, RejectionKind,
    },
};
use serde_json::{json, Value};

use super::{authenticate, ndjson::Lines, problem::Problem};
use crate::http::AppState;

/// Lines handed to the publisher at once, and their most bytes: 1,024 a batch
/// (one disk sync each) took 100,000 EOBs from 1,649 to 2,751 EOB/s against
/// 256, for 111 MB of peak RSS instead of 74 (`make bench-eob`).
const BATCH_LINES: usize = 1024;
const BATCH_BYTES: usize = 16 << 20;
/// Batches prepared and waiting for the writer, at most.
const READ_AHEAD: usize = 2;

/// The key, which must be an `eob:publish` key of a health plan, and its plan.
pub async fn publisher(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(ApiKey, HealthPlan), Problem> {
    let key = authenticate(state, headers).await?;
    if key.scope != Scope::PublishEobs {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "this key may not publish EOBs: it needs the eob:publish scope",
        ));
    }
    let plan = plans::plan(&state.store, &key.organization_id).await?;
    Ok((key, plan))
}

fn fhir(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    res
}

fn outcome(status: StatusCode, code: &'static str, diagnostics: String) -> Response {
    fhir(
        status,
        &OperationOutcome::new(vec![Issue::error(code, None, diagnostics)]),
    )
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

fn refusal(rejection: &Rejection) -> Response {
    let status = match rejection.kind {
        RejectionKind::Syntax { .. } => StatusCode::BAD_REQUEST,
        RejectionKind::Stu3 | RejectionKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
    };
    fhir(status, &rejection.outcome)
}

fn too_large(limit: u64) -> Response {
    outcome(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-long",
        format!(
            "the body is larger than {limit} bytes; send large sets to /api/v1/eob/$bulk as NDJSON"
        ),
    )
}

fn publisher_for<'a>(
    state: &'a AppState,
    plan: &'a HealthPlan,
    key: &'a ApiKey,
    upload: Option<&'a str>,
) -> Publisher<'a> {
    Publisher::new(
        &state.store,
        &state.vault,
        &state.audit,
        plan,
        &key.id,
        state.settings.link_lifetime,
        upload,
    )
}

fn accepted_json(result: &DocumentResult) -> Value {
    match result {
        DocumentResult::Accepted {
            eobs,
            ignored,
            warnings,
            ..
        } => json!({
            "eobs": eobs.iter().map(|(id, v)| json!({"id": id, "version": v, "updated": *v > 1})).collect::<Vec<_>>(),
            "ignored": ignored,
            "ignored_total": ignored.values().sum::<usize>(),
            "warnings": OperationOutcome::new(warnings.clone()),
        }),
        DocumentResult::Rejected { rejection, .. } => json!({"outcome": rejection.outcome}),
    }
}

/// Publishes one ExplanationOfBenefit or a Bundle of them with their Patients.
pub async fn publish(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let (key, plan) = publisher(&state, req.headers()).await?;
    if !matches!(
        media_type(req.headers()).as_deref(),
        Some("application/fhir+json" | "application/json")
    ) {
        return Ok(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "send one EOB or a Bundle as Content-Type: application/fhir+json".into(),
        ));
    }
    let limit = state.settings.eob_max_size;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        return Ok(too_large(limit));
    }
    // Reads at most `limit` bytes: a longer body is refused as it arrives.
    let Ok(bytes) = to_bytes(req.into_body(), limit as usize).await else {
        return Ok(too_large(limit));
    };
    let mut publisher = publisher_for(&state, &plan, &key, None);
    let mut results = publisher
        .publish(vec![Document {
            line: 1,
            bytes: bytes.to_vec(),
            too_long: None,
        }])
        .await?;
    Ok(match results.pop() {
        Some(DocumentResult::Rejected { rejection, .. }) => refusal(&rejection),
        Some(accepted) => (StatusCode::CREATED, Json(accepted_json(&accepted))).into_response(),
        None => outcome(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "nothing was published".into(),
        ),
    })
}

fn upload_json(upload: &uploads::Upload, refused: Vec<Value>) -> Value {
    json!({
        "id": upload.id,
        "state": upload.state,
        "lines": upload.lines,
        "accepted": upload.accepted,
        "rejected": upload.rejected,
        "eobs": upload.eobs,
        "ignored": upload.ignored,
        "started_at": upload.started_at,
        "finished_at": upload.finished_at,
        "rejections": refused,
    })
}

/// Publishes NDJSON, one EOB or Bundle a line, streamed batch by batch.
pub async fn bulk(State(state): State<AppState>, req: Request) -> Result<Response, Problem> {
    let (key, plan) = publisher(&state, req.headers()).await?;
    if !matches!(
        media_type(req.headers()).as_deref(),
        Some("application/x-ndjson" | "application/fhir+ndjson" | "application/ndjson")
    ) {
        return Ok(outcome(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "send one EOB or Bundle a line as Content-Type: application/fhir+ndjson".into(),
        ));
    }
    let Some(_place) = state.capacity.bulk_upload() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "as many bulk uploads as the portal takes at once are under way; try again when one has finished",
        ));
    };
    let max_line = state.settings.eob_max_size as usize;
    let upload_id = uploads::begin(&state.store, &plan, &key.id).await?;
    let outcome = ingest(&state, &plan, &key, &upload_id, req.into_body(), max_line).await;
    uploads::finish(&state.store, &upload_id, outcome.is_ok()).await?;
    outcome?;
    let (upload, refused) = uploads::status(&state.store, &state.vault, &plan, &upload_id).await?;
    let mut res = Json(upload_json(&upload, refused)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/eob/$bulk/{upload_id}")) {
        res.headers_mut().insert(header::CONTENT_LOCATION, location);
    }
    Ok(res)
}

async fn ingest(
    state: &AppState,
    plan: &HealthPlan,
    key: &ApiKey,
    upload_id: &str,
    body: Body,
    max_line: usize,
) -> Result<(), Problem> {
    let mut lines = Lines::new(body, max_line);
    let mut publisher = publisher_for(state, plan, key, Some(upload_id));
    let committer = publisher.committer();
    let unreadable = |_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "the body could not be read to its end",
        )
    };
    // Batches are read, checked and sealed ahead of the one being written (up
    // to READ_AHEAD of them), so the cores stay busy while the database
    // writes. Batches are written in order; a failed write stops the reading.
    let (ready, queued) = tokio::sync::mpsc::channel(READ_AHEAD);
    let reading = async {
        // Owned here, so that the writer sees the end when the reading stops.
        let ready = ready;
        loop {
            let batch = lines
                .next_batch(BATCH_LINES, BATCH_BYTES)
                .await
                .map_err(unreadable)?;
            if batch.is_empty() {
                return Ok::<_, Problem>(());
            }
            let prepared = publisher.prepare(documents(batch, max_line)).await?;
            if ready.send(prepared).await.is_err() {
                return Ok(()); // the writing failed, and says why
            }
        }
    };
    let writing = async {
        // Owned here, so that a reader waiting for room sees the writer stop.
        let mut queued = queued;
        while let Some(prepared) = queued.recv().await {
            committer.clone().commit(prepared).await?;
        }
        Ok::<_, Problem>(())
    };
    // While the body streams, however slowly, the upload says it is alive,
    // so that the sweep fails only uploads whose process has died.
    let beating = async {
        let mut every = tokio::time::interval(uploads::HEARTBEAT_EVERY);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(error) = uploads::heartbeat(&state.store, upload_id).await {
                tracing::warn!(%error, "bulk EOB upload: heartbeat not recorded");
            }
        }
    };
    let (read, written) = tokio::select! {
        both = async { tokio::join!(reading, writing) } => both,
        never = beating => never,
    };
    written?;
    read?;
    tracing::info!(upload_id, timings = %publisher.timings, "bulk EOB upload read to its end");
    Ok(())
}

fn documents(batch: Vec<super::ndjson::Line>, max_line: usize) -> Vec<Document> {
    batch
        .into_iter()
        .map(|line| Document {
            line: line.number,
            too_long: line.bytes.is_none().then_some(max_line as u64),
            bytes: line.bytes.unwrap_or_default(),
        })
        .collect()
}

/// The plan's recent uploads, newest first.
pub async fn recent(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (_, plan) = publisher(&state, &headers).await?;
    let list = uploads::recent(&state.store, &plan, 50).await?;
    Ok(Json(json!({ "uploads": list })).into_response())
}

/// One upload: its counts so far and its refused lines.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (_, plan) = publisher(&state, &headers).await?;
    match uploads::status(&state.store, &state.vault, &plan, &id).await {
        Ok((upload, refused)) => Ok(Json(upload_json(&upload, refused)).into_response()),
        Err(portico_core::Error::NotFound) => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "this plan has no upload with that id",
        )),
        Err(other) => Err(other.into()),
    }
}
