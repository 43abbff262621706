//! HTTP: JSON API under `/api/v1`, server-rendered pages, operations endpoints and static assets.
//! Handlers parse, authorize, call one domain function and map its result; nothing here holds
//! business rules.

pub mod api;
pub mod assets;
pub mod auth;
pub mod extract;
pub mod middleware;
pub mod multipart;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod problem;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Compress, DefaultHeaders};
use actix_web::{web, App, HttpResponse};

use crate::app::AppState;

/// Content-Security-Policy for every answer: no inline scripts or styles, nothing from elsewhere.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// HSTS for sites served over https (one year; subdomains too).
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// A file for the browser to save as `filename` (`Content-Disposition: attachment`), never cached;
/// every download of both doors answers with this.
pub fn download(
    content_type: &str,
    filename: &str,
    body: impl MessageBody + 'static,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The modules whose handlers make up the OpenAPI document, one part each.
fn documented_modules() -> [utoipa::openapi::OpenApi; 10] {
    [
        ops::operations(),
        api::accounts::operations(),
        api::audit::operations(),
        api::badges::operations(),
        api::billing::operations(),
        api::credentials::operations(),
        api::exams::operations(),
        api::referrals::operations(),
        api::webhooks::operations(),
        pages::referrals::operations(),
    ]
}

/// The application: used by `credo serve` and by the tests, so both run the same stack.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let mut headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("Content-Security-Policy", CSP))
        // Answers may show secrets (API keys, webhook secrets, tokens): nothing is stored by
        // browsers or proxies unless a route says otherwise (static assets, DID documents, status
        // lists set their own `Cache-Control`; default headers never replace a route's).
        .add((header::CACHE_CONTROL, "no-store"));
    if state.config.base_url.scheme() == "https" {
        headers = headers.add((header::STRICT_TRANSPORT_SECURITY, HSTS));
    }
    App::new()
        .app_data(web::Data::new(state))
        // Bodies are read by our own extractors with per-route limits; this caps everything else.
        .app_data(web::PayloadConfig::new(extract::JSON_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .wrap(from_fn(middleware::refuse_control_chars))
        .wrap(from_fn(middleware::csrf_cookie))
        .wrap(headers)
        .wrap(Compress::default())
        .wrap(from_fn(middleware::observe))
        .configure(ops::configure)
        .configure(assets::configure)
        .configure(api::configure)
        .configure(pages::configure)
        .default_service(web::to(ops::not_found))
}
