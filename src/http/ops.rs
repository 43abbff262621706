//! Operations endpoints: liveness, readiness (database reachable), Prometheus metrics, OpenAPI.

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;

use super::auth::{client_ip, presented_token, TokenSource};
use super::openapi::Forbidden;
use super::problem::ApiError;
use crate::app::AppState;
use crate::db::DbError;

/// Liveness: the process answers
#[utoipa::path(
    responses((status = 200, description = "Alive", content_type = "text/plain", body = String, example = "ok")),
    security()
)]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: the database answers
#[utoipa::path(
    responses(
        (status = 200, description = "Ready", content_type = "text/plain", body = String, example = "ready"),
        (status = 503, description = "The database does not answer", content_type = "text/plain", body = String)
    ),
    security()
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state
        .db(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
        .await
    {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}

/// Who may read `/metrics`: a client address in `metrics_allow` (loopback when that is unset), or
/// anyone presenting `metrics_token` as a bearer token.
fn may_read_metrics(state: &AppState, req: &HttpRequest) -> bool {
    use subtle::ConstantTimeEq;
    let config = &state.config;
    let token_ok = match (&config.metrics_token, presented_token(req)) {
        (Some(expected), Some((given, TokenSource::Bearer))) => {
            bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    };
    let address_ok = client_ip(req).is_some_and(|ip| {
        if config.metrics_allow.is_empty() {
            ip.to_canonical().is_loopback()
        } else {
            crate::net::is_listed(ip, &config.metrics_allow)
        }
    });
    token_ok || address_ok
}

/// Prometheus metrics
///
/// Readable from the addresses in `CREDO_METRICS_ALLOW` (loopback by default), or by anyone
/// presenting `CREDO_METRICS_TOKEN` as a bearer token.
#[utoipa::path(
    responses(
        (status = 200, description = "The Prometheus text format", content_type = "text/plain; version=0.0.4", body = String),
        Forbidden
    ),
    security((), ("bearer" = []))
)]
#[get("/metrics")]
async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !may_read_metrics(&state, &req) {
        return Err(ApiError::Forbidden(
            "metrics are readable from the addresses in CREDO_METRICS_ALLOW (loopback by default) \
             or with the CREDO_METRICS_TOKEN bearer token"
                .into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}

/// The OpenAPI 3.1 document of every operation (generated from the handlers; see `http::openapi`).
#[utoipa::path(
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
    security()
)]
#[get("/api/openapi.json")]
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(super::openapi::document())
}

super::openapi::routes!("operations": healthz, readyz, metrics, openapi_json);

/// Fallback for unknown paths: problem+json under /api, an HTML page elsewhere.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        Err(ApiError::NotFound(format!(
            "no such endpoint: {} {}",
            req.method(),
            req.path()
        )))
    } else {
        Ok(super::pages::not_found_page(&req))
    }
}
