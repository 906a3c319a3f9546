//! `POST /staff/admin/audit.csv`: an admin downloads the organization's audit
//! events matching the search form (posted, so a patient's email never sits
//! in a URL), as CSV. The export is recorded before it is written.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Form,
};
use portico_app::admin::admin_ssr::AuditForm;
use portico_core::{admin::audit_log, messages::Reader, Error};
use tower_sessions::Session;

use super::{
    messages::{Caller, Refusal},
    AppState,
};

pub async fn audit_csv(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<AuditForm>,
) -> Result<Response, Refusal> {
    let c = Caller::of(&state, address, &headers);
    let Reader::Staff(admin) = c.reader(&session).await? else {
        return Err(Refusal::of(Error::Denied, false));
    };
    let refused = |e| Refusal::of(e, false);
    let filter = form.filter(&c.portal.vault).await.map_err(refused)?;
    let mut csv = Vec::new();
    audit_log::export_csv(
        &c.portal.store,
        &c.portal.audit,
        &admin,
        &filter,
        &c.client,
        &mut csv,
    )
    .await
    .map_err(refused)?;
    let mut response = csv.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit-events.csv\""),
    );
    Ok(response)
}
