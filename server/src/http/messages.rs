//! Messages with files: the compose and reply forms (`multipart/form-data`,
//! files streamed through sealing as they arrive) and attachment downloads.
//! Thin: who is signed in, then `portico_core::messages`.
//!
//! A form answers JSON (`{thread_id, message_id}`, or `{error, field}` with
//! 400/401/403/404/413) when asked with `Accept: application/json`, as the
//! hydrated page does; otherwise a redirect to the thread, or the error as text.

use axum::{
    body::Body,
    extract::{multipart::Field, ConnectInfo, Multipart, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    Json,
};
use futures_util::TryStreamExt;
use portico_app::{
    auth::session::{client_of, signed_in_on, Portal},
    messaging::messaging_ssr::{messaging, reader_of},
};
use portico_core::{
    auth::Client,
    language::Language,
    messages::{attachments, Draft, Messaging, Reader},
    vault::NormalizedEmail,
    Error,
};
use serde::Serialize;
use std::net::SocketAddr;
use tokio_util::io::{ReaderStream, StreamReader};
use tower_sessions::Session;

use super::AppState;

/// The most bytes a text field of a form may have.
const FIELD_MAX_BYTES: usize = 128 * 1024;

#[derive(Serialize)]
struct Sent {
    thread_id: String,
    message_id: String,
}

#[derive(Serialize)]
struct Problem {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'static str>,
}

/// A refusal, with its status and the field at fault.
pub struct Refusal {
    status: StatusCode,
    error: String,
    field: Option<&'static str>,
    json: bool,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, error: impl Into<String>, json: bool) -> Self {
        Self {
            status,
            error: error.into(),
            field: None,
            json,
        }
    }

    /// The same refusal (status, field) in Spanish, for a patient who reads
    /// the portal in Spanish.
    fn in_spanish(mut self) -> Self {
        let (t, s) = (
            &portico_app::i18n::messages::SPANISH,
            &portico_app::i18n::sign_in::SPANISH,
        );
        self.error = match (self.field, self.status) {
            (Some("body"), _) => t.reply_refused_body,
            (Some("attachments"), _) | (_, StatusCode::PAYLOAD_TOO_LARGE) => t.reply_refused_files,
            (_, StatusCode::UNAUTHORIZED) => s.sign_in_again,
            (_, StatusCode::FORBIDDEN) => s.no_access,
            (_, StatusCode::NOT_FOUND) => s.not_found,
            (_, StatusCode::SERVICE_UNAVAILABLE) => s.portal_busy,
            (_, StatusCode::INTERNAL_SERVER_ERROR) => s.went_wrong_on_our_side,
            _ => t.reply_refused,
        }
        .to_owned();
        self
    }

    /// What the person is told of a domain error: never a database or crypto detail.
    pub(super) fn of(error: Error, json: bool) -> Self {
        match error {
            Error::Invalid { field, problem } => Self {
                field: Some(field),
                ..Self::new(StatusCode::BAD_REQUEST, format!("{field}: {problem}"), json)
            },
            Error::Denied => Self::new(
                StatusCode::FORBIDDEN,
                "You do not have access to this. It has been recorded.",
                json,
            ),
            Error::NotFound | Error::Erased => Self::new(StatusCode::NOT_FOUND, "not found", json),
            Error::Busy(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the portal is busy; try again in a moment",
                json,
            ),
            other => {
                tracing::error!(error = %other, "a message could not be handled");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side; try again",
                    json,
                )
            }
        }
    }

    pub(super) fn multipart(error: axum::extract::multipart::MultipartError, json: bool) -> Self {
        let status = error.status();
        let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "attachments: the files together are too large"
        } else {
            "the form could not be read; try again"
        };
        Self {
            field: (status == StatusCode::PAYLOAD_TOO_LARGE).then_some("attachments"),
            ..Self::new(status, text, json)
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.json {
            let body = Problem {
                error: self.error,
                field: self.field,
            };
            (self.status, Json(body)).into_response()
        } else {
            (self.status, self.error).into_response()
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn portal_of(state: &AppState) -> Portal {
    Portal {
        store: state.store.clone(),
        vault: state.vault.clone(),
        audit: state.audit.clone(),
        settings: state.settings.clone(),
    }
}

/// The signed-in reader, or 401.
async fn reader(
    p: &Portal,
    session: &Session,
    client: &Client,
    json: bool,
) -> Result<Reader, Refusal> {
    let internal = |_| Refusal::of(Error::Crypto("session"), json);
    let person = signed_in_on(p, session, client).await.map_err(internal)?;
    let person = person
        .ok_or_else(|| Refusal::new(StatusCode::UNAUTHORIZED, "please sign in again", json))?;
    reader_of(p, person).await.map_err(|e| Refusal::of(e, json))
}

/// A text field, read whole up to [`FIELD_MAX_BYTES`].
pub(super) async fn text_of(mut field: Field<'_>, json: bool) -> Result<String, Refusal> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Refusal::multipart(e, json))?
    {
        if bytes.len() + chunk.len() > FIELD_MAX_BYTES {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{name}: too long"),
                json,
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| Refusal::new(StatusCode::BAD_REQUEST, format!("{name}: not text"), json))
}

/// A form's text fields, by name.
#[derive(Clone, Default)]
struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Reads the text fields (which come first, in the form's order), makes the
/// draft with `start`, and streams each file into it. On any error the draft
/// and its files are discarded.
async fn read_form<F, Fut>(
    m: &Messaging<'_>,
    mut multipart: Multipart,
    json: bool,
    start: F,
) -> Result<(Form, Draft), Refusal>
where
    F: FnOnce(Form) -> Fut,
    Fut: std::future::Future<Output = Result<Draft, Refusal>>,
{
    let mut form = Form::default();
    let mut start = Some(start);
    let mut draft: Option<Draft> = None;
    let read = async {
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Refusal::multipart(e, json))?
        {
            match field.file_name().map(str::to_owned) {
                None if draft.is_none() => {
                    let name = field.name().unwrap_or_default().to_owned();
                    let value = text_of(field, json).await?;
                    form.fields.push((name, value));
                }
                None => {
                    let problem = "the form's text must come before its files";
                    return Err(Refusal::new(StatusCode::BAD_REQUEST, problem, json));
                }
                // A file input left empty.
                Some(name) if name.is_empty() => {}
                Some(name) => {
                    if let Some(begin) = start.take() {
                        draft = Some(begin(form.clone()).await?);
                    }
                    let reader = StreamReader::new(field.map_err(std::io::Error::other));
                    if let Some(d) = draft.as_mut() {
                        m.attach(d, &name, reader)
                            .await
                            .map_err(|e| Refusal::of(e, json))?;
                    }
                }
            }
        }
        if let Some(begin) = start.take() {
            draft = Some(begin(form.clone()).await?);
        }
        Ok(())
    }
    .await;
    match (read, draft) {
        (Ok(()), Some(d)) => Ok((form, d)),
        (Err(refusal), Some(d)) => {
            if let Err(error) = m.discard(d).await {
                tracing::error!(%error, "a refused message's files could not be removed");
            }
            Err(refusal)
        }
        (Err(refusal), None) => Err(refusal),
        (Ok(()), None) => Err(Refusal::of(Error::NotFound, json)),
    }
}

fn answer(thread_id: String, message_id: String, json: bool) -> Response {
    if json {
        (
            StatusCode::CREATED,
            Json(Sent {
                thread_id,
                message_id,
            }),
        )
            .into_response()
    } else {
        Redirect::to(&format!("/thread/{thread_id}")).into_response()
    }
}

/// Who is asking, as every handler here needs it.
pub(super) struct Caller {
    pub(super) json: bool,
    pub(super) client: Client,
    pub(super) portal: Portal,
}

impl Caller {
    pub(super) fn of(state: &AppState, address: SocketAddr, headers: &HeaderMap) -> Self {
        Self {
            json: wants_json(headers),
            client: client_of(Some(address.ip()), headers),
            portal: portal_of(state),
        }
    }

    /// The signed-in reader, or 401.
    pub(super) async fn reader(&self, session: &Session) -> Result<Reader, Refusal> {
        reader(&self.portal, session, &self.client, self.json).await
    }
}

/// `POST /messages`: staff start a thread (mailbox_id, email, subject, body,
/// expires_in_days, then files).
pub async fn compose(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let json = c.json;
    let Reader::Staff(staff) = c.reader(&session).await? else {
        return Err(Refusal::of(Error::Denied, json));
    };
    let m = messaging(&c.portal);
    let (m, staff) = (&m, &staff);
    let start = |form: Form| async move {
        let to = NormalizedEmail::parse(form.get("email")).map_err(|e| Refusal::of(e, json))?;
        m.draft_thread(staff, form.get("mailbox_id"), &to)
            .await
            .map_err(|e| Refusal::of(e, json))
    };
    let (form, draft) = read_form(m, multipart, json, start).await?;
    let expires_at = match form.get("expires_in_days") {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(d @ 1..=365) => Some(portico_core::store::now_ms() + d * 86_400_000),
            _ => {
                let _ = m.discard(draft).await;
                let problem = "expires_in_days: must be 1 to 365 days";
                return Err(Refusal {
                    field: Some("expires_in_days"),
                    ..Refusal::new(StatusCode::BAD_REQUEST, problem, json)
                });
            }
        },
    };
    let subject = Some(form.get("subject"));
    let (thread_id, message_id) = m
        .send(draft, subject, form.get("body"), expires_at, &c.client)
        .await
        .map_err(|e| Refusal::of(e, json))?;
    Ok(answer(thread_id, message_id, json))
}

/// `POST /thread/{id}/reply`: the patient or staff reply (body, then files).
pub async fn reply(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Path(thread_id): Path<String>,
    session: Session,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let json = c.json;
    let who = c.reader(&session).await;
    // Staff read Portico in English; a patient in the language they chose.
    let spanish = c.client.language == Language::Spanish && !matches!(who, Ok(Reader::Staff(_)));
    let sent = async {
        let who = who?;
        let m = messaging(&c.portal);
        let start = |_: Form| async {
            m.draft_reply(&who, &thread_id, &c.client)
                .await
                .map_err(|e| Refusal::of(e, json))
        };
        let (form, draft) = read_form(&m, multipart, json, start).await?;
        let (thread_id, message_id) = m
            .send(draft, None, form.get("body"), None, &c.client)
            .await
            .map_err(|e| Refusal::of(e, json))?;
        Ok(answer(thread_id, message_id, json))
    };
    sent.await.map_err(|refusal: Refusal| {
        if spanish {
            refusal.in_spanish()
        } else {
            refusal
        }
    })
}

/// `GET /attachments/{id}`: the file, opened as it streams out, always as a
/// download (`Content-Disposition: attachment`, `nosniff`, not cached). The
/// download is recorded before the first byte.
pub async fn download(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    session: Session,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let who = c.reader(&session).await?;
    let found = messaging(&c.portal)
        .download(&who, &id, &c.client)
        .await
        .map_err(|e| Refusal::of(e, false))?;
    let (mut plain_in, plain_out) = tokio::io::duplex(256 * 1024);
    let (store, vault, owner) = (
        state.store.clone(),
        state.vault.clone(),
        found.owner.clone(),
    );
    tokio::spawn(async move {
        if let Err(error) = attachments::write_out(&store, &vault, &id, &owner, &mut plain_in).await
        {
            // The response is cut short; the browser reports a failed download.
            tracing::error!(attachment_id = %id, %error, "an attachment could not be sent whole");
        }
    });
    let info = found.info;
    let mime = match info.content_type.mime() {
        "text/plain" => "text/plain; charset=utf-8",
        other => other,
    };
    let mut response = Body::from_stream(ReaderStream::new(plain_out)).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&info.name)) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `attachment`, with an ASCII fallback name and the UTF-8 name (RFC 6266).
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_cannot_break_out_of_the_header() {
        assert_eq!(
            super::content_disposition("résumé \"x\".pdf"),
            "attachment; filename=\"r_sum_ _x_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%2Epdf"
        );
    }
}
