//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the API, made
//! by utoipa from the handlers and the request and response types themselves,
//! so it cannot drift from them.

use std::sync::LazyLock;

use axum::{http::header, response::IntoResponse};
use utoipa::{
    openapi::{
        schema::AdditionalProperties,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        RefOr, Schema,
    },
    Modify, OpenApi,
};

use super::{
    messages::{self, MessageSent, SendMessage},
    problem::Problem,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico API",
        description = "For an organization's own systems: send secure messages to patients. \
            Authenticate with an organization API key, scoped to one mailbox \
            (`portico api-key create`), as `Authorization: Bearer ptk_…`."
    ),
    paths(messages::send),
    components(schemas(SendMessage, MessageSent, Problem)),
    modifiers(&Finish),
    tags((name = "messages", description = "Secure messages to patients"))
)]
pub struct ApiDoc;

/// What the derive cannot say: the `api_key` security scheme the operations
/// name, and that a request naming other members is refused.
struct Finish;

impl Modify for Finish {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        if let Some(RefOr::T(Schema::Object(request))) = components.schemas.get_mut("SendMessage") {
            request.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ptk_…")
                    .description(Some(
                        "An organization API key, scoped to one mailbox; shown once when made",
                    ))
                    .build(),
            ),
        );
    }
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
});

pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}
