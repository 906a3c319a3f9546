//! An organization's branding on the web: its logo (`GET /brand/{org}/logo`)
//! and its accent colour as a stylesheet (`GET /brand/{org}/colours.css`, the
//! Content-Security-Policy allows no inline styles), both public and cached a
//! few minutes, neither health information; and the admin's form that sets
//! them (`POST /staff/admin/branding`, multipart: display_name, colour,
//! remove_logo, then the logo file).

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Multipart, Path, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    Json,
};
use portico_app::{
    auth::session::{Person, PERSON_KEY},
    i18n::is_staff_path,
    pages::brand::HeaderBrand,
};
use portico_core::{
    admin::branding::{self, BrandingChange, LOGO_MAX_BYTES},
    auth::{links, staff},
    messages::Reader,
    Error,
};
use tower_sessions::Session;

use super::{
    messages::{text_of, Caller, Refusal},
    AppState,
};

fn cached(mut response: Response, content_type: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, value);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

pub async fn logo(State(state): State<AppState>, Path(org): Path<String>) -> Response {
    match branding::logo(&state.store, &org).await {
        Ok(Some((bytes, kind))) => cached(bytes.into_response(), &kind),
        Ok(None) | Err(Error::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "branding: the logo could not be read");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn colours(State(state): State<AppState>, Path(org): Path<String>) -> Response {
    match branding::branding(&state.store, &org).await {
        // The colour was checked as #rrggbb when it was set.
        Ok(b) => cached(
            b.colour
                .map(|c| format!(":root {{ --accent: {c}; }}\n"))
                .unwrap_or_default()
                .into_response(),
            "text/css; charset=utf-8",
        ),
        Err(Error::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "branding: the colours could not be read");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Finds whose page a GET is (a notification link's landing page, or a staff
/// member's page) and puts that organization's name and logo in the request,
/// for the portal header the page renders with. Other requests pass untouched.
pub async fn header_brand(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Only those pages pay for the lookups; every other request passes as it came.
    let path = request.uri().path();
    if request.method() == Method::GET && (path.starts_with("/open/") || is_staff_path(path)) {
        let path = path.to_owned();
        let session = request.extensions().get::<Session>().cloned();
        if let Some(brand) = page_brand(&state, &path, session).await {
            request.extensions_mut().insert(brand);
        }
    }
    next.run(request).await
}

async fn page_brand(state: &AppState, path: &str, session: Option<Session>) -> Option<HeaderBrand> {
    let organization_id = if let Some(token) = path.strip_prefix("/open/") {
        links::organization_of(&state.store, token).await.ok()??
    } else if is_staff_path(path) {
        let session = session?;
        let person: Person = session.get(PERSON_KEY).await.ok()??;
        if person.kind != "staff" {
            return None;
        }
        staff::profile(&state.store, &person.id)
            .await
            .ok()?
            .organization_id
    } else {
        return None;
    };
    let b = branding::branding(&state.store, &organization_id)
        .await
        .ok()?;
    Some(HeaderBrand {
        organization_id,
        name: b.display_name,
        logo: b.has_logo,
    })
}

pub async fn save(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let json = c.json;
    let Reader::Staff(admin) = c.reader(&session).await? else {
        return Err(Refusal::of(Error::Denied, json));
    };
    let mut change = BrandingChange::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| Refusal::multipart(e, json))?
    {
        match (
            field.name().unwrap_or_default().to_owned(),
            field.file_name().map(str::to_owned),
        ) {
            (name, Some(file)) if name == "logo" => {
                if file.is_empty() {
                    continue;
                }
                let mut bytes = Vec::new();
                let mut field = field;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| Refusal::multipart(e, json))?
                {
                    if bytes.len() + chunk.len() > LOGO_MAX_BYTES {
                        let problem = format!("logo: must be at most {} KB", LOGO_MAX_BYTES / 1000);
                        return Err(Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, problem, json));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                change.logo = Some(bytes);
            }
            (name, None) => {
                let value = text_of(field, json).await?;
                match name.as_str() {
                    "display_name" => change.display_name = value,
                    "colour" => change.colour = value,
                    "remove_logo" => change.remove_logo = !value.is_empty(),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    branding::set_branding(&c.portal.store, &c.portal.audit, &admin, &change, &c.client)
        .await
        .map_err(|e| Refusal::of(e, json))?;
    Ok(if json {
        Json(serde_json::json!({ "saved": true })).into_response()
    } else {
        Redirect::to("/staff/admin/branding").into_response()
    })
}
