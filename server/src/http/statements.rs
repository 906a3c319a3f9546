//! `GET /statements/{id}/pdf` and `GET /statements/{id}/fhir.json`: a
//! member's statement as a PDF made on the server, and the original FHIR JSON
//! byte for byte. Each download is recorded before it is sent; neither is cached.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use portico_core::{messages::Reader, Error};
use tower_sessions::Session;

use super::{
    messages::{Caller, Refusal},
    AppState,
};

async fn member(c: &Caller, session: &Session) -> Result<String, Refusal> {
    match c.reader(session).await? {
        Reader::Patient(id) => Ok(id),
        Reader::Staff(_) => Err(Refusal::of(Error::Denied, false)),
    }
}

fn download(bytes: Vec<u8>, mime: &'static str, name: String) -> Response {
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The id as a file name: ids are ours (UUIDs), but a path could carry anything.
fn safe(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect()
}

/// The two ways a statement leaves the portal.
#[derive(Clone, Copy)]
enum Format {
    Pdf,
    FhirJson,
}

pub async fn pdf(
    state: State<AppState>,
    address: ConnectInfo<SocketAddr>,
    id: Path<String>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    export(state, address, id, session, headers, Format::Pdf).await
}

pub async fn fhir_json(
    state: State<AppState>,
    address: ConnectInfo<SocketAddr>,
    id: Path<String>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    export(state, address, id, session, headers, Format::FhirJson).await
}

async fn export(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    session: Session,
    headers: HeaderMap,
    format: Format,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let member = member(&c, &session).await?;
    let statements = portico_app::statements::statements_ssr::statements(&c.portal);
    let refused = |e| Refusal::of(e, false);
    Ok(match format {
        Format::Pdf => download(
            statements
                .pdf(&member, &id, &c.client)
                .await
                .map_err(refused)?,
            "application/pdf",
            format!("statement-{}.pdf", safe(&id)),
        ),
        Format::FhirJson => download(
            statements
                .original(&member, &id, &c.client)
                .await
                .map_err(refused)?
                .to_vec(),
            "application/fhir+json",
            format!("statement-{}.json", safe(&id)),
        ),
    })
}
