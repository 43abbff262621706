//! The OpenAPI 3.1 document served at `/api/openapi.json`, generated from the code: each handler's
//! `#[utoipa::path]` (parameters, body, every status it answers) and the `ToSchema` types it reads
//! and writes. Each HTTP module lists its handlers once with [`routes!`]; that one list registers
//! them with actix and puts them in the document, so a handler can't be served undocumented.

use std::collections::BTreeMap;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, PathItem, Ref, RefOr};
use utoipa::{IntoResponses, OpenApi, ToResponse};

use super::auth::SESSION_COOKIE;

/// Registers a module's handlers with actix (`configure`, in the order given: actix tries them in
/// that order) and describes the same handlers in the OpenAPI document (`operations`), each operation
/// tagged with `$tag`.
macro_rules! routes {
    ($tag:literal: $($handler:ident),+ $(,)?) => {
        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            $(cfg.service($handler);)+
        }

        $crate::http::openapi::documented!($tag: $($handler),+);
    };
}
pub(crate) use routes;

/// `operations()` for the handlers of a module that registers them itself: the pages' few
/// non-HTML-form routes that belong to the public contract (the referral redirect, the disclosure).
macro_rules! documented {
    ($tag:literal: $($handler:ident),+ $(,)?) => {
        /// This module's operations for the OpenAPI document.
        pub fn operations() -> utoipa::openapi::OpenApi {
            #[derive(utoipa::OpenApi)]
            #[openapi(paths($($handler),+))]
            struct Operations;
            $crate::http::openapi::tagged(<Operations as utoipa::OpenApi>::openapi(), $tag)
        }
    };
}
pub(crate) use documented;

/// Every operation of `document` tagged `tag`, and named in camelCase like the ones named by hand
/// (`operation_id = "createVendor"`; the others are named after their handler, `verify_email`).
pub fn tagged(mut document: Document, tag: &str) -> Document {
    for item in document.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            operation.tags = Some(vec![tag.to_string()]);
            operation.operation_id = operation.operation_id.as_deref().map(camel_case);
        }
    }
    document
}

/// `verify_email` → `verifyEmail`.
fn camel_case(name: &str) -> String {
    let mut words = name.split('_');
    let mut out = words.next().unwrap_or_default().to_string();
    for word in words {
        let mut chars = word.chars();
        out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        out.push_str(chars.as_str());
    }
    out
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// The document's frame: what it is, how callers authenticate, the shared problem answer.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Credo API",
        version = "1.0.0",
        description = "Certification exams, signed Open Badges 3.0 credentials and advocate programs. \
            Errors are application/problem+json. Operations marked `x-credo-privileged: true` write one \
            row to the audit trail (who, when, what, from which address); other authenticated writes \
            carry `x-credo-not-audited` saying why not."
    ),
    servers((url = "/")),
    security(("bearer" = []), ("session_cookie" = [])),
    components(schemas(super::problem::Problem), responses(ProblemAnswer)),
    modifiers(&SecuritySchemes)
)]
struct Frame;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, document: &mut Document) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from login (a JWT), or a vendor API key (credo_sk_…)",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "The session cookie set by login (pages use it); writes authenticated by it must \
                 also send the `credo_csrf` cookie's value in the `X-CSRF-Token` header",
            ))),
        );
    }
}

/// The whole document, built once.
pub fn document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = Frame::openapi();
        for part in super::documented_modules() {
            document.merge(part);
        }
        document
            .to_json()
            .expect("an OpenAPI document always serializes")
    })
}

/// The `application/problem+json` answer (RFC 9457) every error status refers to.
pub struct ProblemAnswer;

impl<'r> ToResponse<'r> for ProblemAnswer {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Problem",
            ResponseBuilder::new()
                .description("Problem details (RFC 9457); `errors` names the fields of a 422")
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build()
                .into(),
        )
    }
}

/// Problem answers shared by many operations, for `responses(...)` of `#[utoipa::path]`: each
/// type stands for the statuses it lists, each a `Problem`.
macro_rules! problem_answers {
    ($($(#[$doc:meta])* $name:ident => [$($status:literal),+];)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    [$($status),+]
                        .into_iter()
                        .map(|status: u16| {
                            (status.to_string(), Ref::from_response_name("Problem").into())
                        })
                        .collect()
                }
            }
        )+
    };
}

problem_answers! {
    /// 400: the body is not what the operation reads (not JSON, empty, not an event).
    BadRequest => [400];
    /// 401 (no credential, or an unknown, expired or revoked one) and 403 (the caller may not do
    /// this: role, API key scope, an API key where a person must act, or a cookie without CSRF token).
    SignedIn => [401, 403];
    /// 401: wrong credentials (login), or a signed request (webhook) whose signature is missing,
    /// wrong or stale.
    Unauthorized => [401];
    /// 402: the exam needs a purchase or voucher.
    PaymentRequired => [402];
    /// 403: the caller may not do this.
    Forbidden => [403];
    /// 404: something named in the path does not exist (or is not the caller's to see).
    NotFound => [404];
    /// 409: the current state does not allow it.
    Conflict => [409];
    /// A JSON body: 400 (not JSON or empty), 413 (too large), 415 (not `application/json`),
    /// 422 (a field is missing, of the wrong type, unknown or invalid; `errors` names it).
    JsonBody => [400, 413, 415, 422];
    /// 413: the body is too large.
    TooLarge => [413];
    /// 415: the body's content type is not one the operation reads.
    UnsupportedType => [415];
    /// 422: a field or parameter is invalid; `errors` names it.
    Invalid => [422];
    /// 429: too many requests; `retry_after` (and the `Retry-After` header) says when to try again.
    TooMany => [429];
    /// 503: busy (password hashing saturated); `Retry-After` says when to try again.
    Busy => [503];
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    #[test]
    fn handler_names_become_camel_case_operation_ids() {
        assert_eq!(super::camel_case("verify_email"), "verifyEmail");
        assert_eq!(super::camel_case("me"), "me");
        assert_eq!(super::camel_case("createVendor"), "createVendor");
        let doc: Value = serde_json::from_str(super::document()).unwrap();
        assert_eq!(
            doc["paths"]["/api/v1/auth/verify-email"]["post"]["operationId"],
            "verifyEmail"
        );
    }

    #[test]
    fn every_reference_resolves() {
        let doc: Value = serde_json::from_str(super::document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        for (prefix, section) in [
            ("\"#/components/schemas/", "schemas"),
            ("\"#/components/responses/", "responses"),
        ] {
            for reference in text.split(prefix).skip(1) {
                let name = reference.split('"').next().unwrap();
                assert!(
                    doc["components"][section].get(name).is_some(),
                    "unresolved {section} reference {name}"
                );
            }
        }
    }
}
